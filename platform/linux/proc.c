/* Process identity on Linux: /proc/<pid>/stat's start time (clock ticks
 * since boot) plus the boot time from /proc/stat. The idle priority, and the
 * CPUs this process may run on. */
#define _GNU_SOURCE 1 /* SCHED_IDLE, sched_getaffinity */
#include <sched.h>

#include "platform.h"

#include <apr_strings.h>

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

long berth_platform_pid(void) { return (long)getpid(); }

static long long boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    char line[256];
    long long bt = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "btime ", 6) == 0) {
            bt = atoll(line + 6);
            break;
        }
    fclose(f);
    return bt;
}

apr_status_t berth_platform_process_started(long pid, apr_int64_t *secs)
{
    char path[64], buf[1024];
    if (pid <= 0)
        return APR_ENOENT;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT || errno == ESRCH ? APR_ENOENT : errno;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "pid (comm) S ppid ..." where comm may hold spaces and parentheses:
     * fields are counted from the last ')' */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return APR_EGENERAL;
    p += 2;
    if (*p == 'Z' || *p == 'X')
        return APR_ENOENT; /* dead, only not reaped yet */
    /* the state is field 3; the start time is field 22 */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return APR_EGENERAL;
        p++;
    }
    long long ticks = atoll(p);
    long hz = sysconf(_SC_CLK_TCK);
    long long bt = boot_time();
    if (hz <= 0 || bt < 0)
        return APR_EGENERAL;
    *secs = (apr_int64_t)(bt + ticks / hz);
    return APR_SUCCESS;
}

void berth_platform_trim_memory(void)
{
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

apr_status_t berth_platform_thread_lowest(void)
{
    /* 0 is the calling thread: on Linux a thread is a task of its own */
    struct sched_param p = { 0 };
    return sched_setscheduler(0, SCHED_IDLE, &p) == 0 ? APR_SUCCESS
                                                      : APR_FROM_OS_ERROR(errno);
}

int berth_platform_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

const char *berth_platform_exe_path(apr_pool_t *pool)
{
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0 || (size_t)n >= sizeof buf - 1)
        return NULL;
    buf[n] = '\0';
    return apr_pstrdup(pool, buf);
}
