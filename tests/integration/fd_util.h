/* Counting this process's descriptors, for the tests that a failed start
 * leaves none open (Unix: /proc/self/fd). */
#ifndef BERTH_TEST_FD_UTIL_H
#define BERTH_TEST_FD_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* The descriptors this process has open; OPEN[fd] set for each below
 * 1024. */
static int open_fds(char *open)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0, self;
    struct dirent *e;
    if (!d)
        fail_msg("/proc/self/fd: %s", strerror(errno));
    self = dirfd(d);
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd == self)
            continue;
        n++;
        if (open && fd < 1024)
            open[fd] = 1;
    }
    closedir(d);
    return n;
}

/* The descriptor limit under which exactly ROOM more can be opened, given
 * the descriptors OPEN marks. */
static rlim_t limit_with_room(const char *open, int room)
{
    int fd = 0;
    for (int free_below = 0; fd < 1024; fd++) {
        if (!open[fd] && free_below++ == room)
            break;
    }
    return (rlim_t)fd;
}

#endif
