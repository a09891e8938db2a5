/* Sockets for the HTTP front on Unix (platform.h). */
#include "platform.h"

#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

int berth_platform_socket_readable(apr_os_sock_t fd)
{
    struct pollfd p = { fd, POLLIN, 0 };
    return poll(&p, 1, 0) != 0;
}

void berth_platform_socket_close(apr_os_sock_t fd)
{
    close(fd);
}

void berth_platform_socket_shutdown(apr_os_sock_t fd)
{
    shutdown(fd, SHUT_RDWR);
}

unsigned long berth_platform_fd_limit(unsigned long want)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0)
        return 0;
    if (r.rlim_cur != RLIM_INFINITY && r.rlim_cur < want) {
        struct rlimit up = r;
        up.rlim_cur = r.rlim_max == RLIM_INFINITY || r.rlim_max > want
                          ? want
                          : r.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            r = up;
    }
    return r.rlim_cur == RLIM_INFINITY ? 0 : (unsigned long)r.rlim_cur;
}

apr_status_t berth_platform_fd_file(int fd, apr_file_t **file,
                                    apr_pool_t *pool)
{
    apr_os_file_t os = fd;
    return apr_os_file_put(file, &os, APR_FOPEN_READ, pool);
}

int berth_platform_fd_readable(int fd)
{
    return berth_platform_socket_readable(fd);
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
