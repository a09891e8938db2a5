/* Sockets for the HTTP front on Windows (platform.h): Winsock, which
 * apr_initialize has started. */
#include "platform.h"

#include <string.h>

#include <winsock2.h>
#include <ws2tcpip.h>

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

void berth_platform_socket_shutdown(apr_os_sock_t fd)
{
    shutdown(fd, SD_BOTH);
}

unsigned long berth_platform_fd_limit(unsigned long want)
{
    (void)want; /* sockets are handles: no descriptor table to outgrow */
    return 0;
}

apr_status_t berth_platform_fd_file(int fd, apr_file_t **file,
                                    apr_pool_t *pool)
{
    (void)fd;
    (void)pool;
    *file = NULL;
    return APR_ENOTIMPL;
}

int berth_platform_fd_readable(int fd)
{
    (void)fd;
    return 0;
}

size_t berth_platform_sockaddr_host(const void *sa, unsigned char *addr)
{
    const struct sockaddr *s = sa;
    if (s->sa_family == AF_INET) {
        memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 4;
    }
    if (s->sa_family == AF_INET6) {
        memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return 16;
    }
    return 0;
}
