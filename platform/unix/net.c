/* Sockets for the HTTP front on Unix (platform.h). */
#include "platform.h"

#include <poll.h>
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
