/* Sockets for the HTTP front on Unix (platform.h). */
#include "platform.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

_Static_assert(sizeof(struct sockaddr_in6) <= BERTH_SOCKADDR_MAX &&
                   sizeof(struct sockaddr_in) <= BERTH_SOCKADDR_MAX,
               "BERTH_SOCKADDR_MAX holds either address");

int berth_platform_socket_readable(apr_os_sock_t fd)
{
    struct pollfd p = { fd, POLLIN, 0 };
    return poll(&p, 1, 0) != 0;
}

void berth_platform_socket_close(apr_os_sock_t fd)
{
    close(fd);
}

apr_status_t berth_platform_sockaddr(const char *host, unsigned port,
                                     void *buf, size_t *len, int *ipv6)
{
    memset(buf, 0, BERTH_SOCKADDR_MAX);
    if (port > 65535)
        return APR_EINVAL;
    if (strchr(host, ':')) {
        struct sockaddr_in6 *a6 = buf;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((unsigned short)port);
        *len = sizeof *a6;
        *ipv6 = 1;
        return inet_pton(AF_INET6, host, &a6->sin6_addr) == 1 ? APR_SUCCESS
                                                              : APR_EINVAL;
    }
    struct sockaddr_in *a4 = buf;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((unsigned short)port);
    *len = sizeof *a4;
    *ipv6 = 0;
    return inet_pton(AF_INET, host, &a4->sin_addr) == 1 ? APR_SUCCESS
                                                        : APR_EINVAL;
}
