/* Sockets for the HTTP front on Windows (platform.h): Winsock, which
 * apr_initialize has started. */
#include "platform.h"

#include <winsock2.h>

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
