/* Sockets for the HTTP front on Windows (platform.h): Winsock, which
 * apr_initialize has started. */
#include "platform.h"

#include <string.h>

#include <winsock2.h>
#include <ws2tcpip.h>

_Static_assert(sizeof(struct sockaddr_in6) <= BERTH_SOCKADDR_MAX &&
                   sizeof(struct sockaddr_in) <= BERTH_SOCKADDR_MAX,
               "BERTH_SOCKADDR_MAX holds either address");

int berth_platform_socket_readable(apr_os_sock_t fd)
{
    fd_set rd;
    struct timeval zero = { 0, 0 };
    FD_ZERO(&rd);
    FD_SET(fd, &rd);
    return select(0, &rd, NULL, NULL, &zero) != 0;
}

void berth_platform_socket_close(apr_os_sock_t fd)
{
    closesocket(fd);
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
