/* Process identity on Linux: /proc/<pid>/stat's start time (clock ticks
 * since boot) plus the boot time from /proc/stat, and the members of a
 * process group from the same files. The idle priority, and the CPUs this
 * process may run on. */
#define _GNU_SOURCE 1 /* SCHED_IDLE, sched_getaffinity */
#include <sched.h>

#include "platform.h"
#include "process.h"

#include <apr_strings.h>

#include <dirent.h>
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

/* The fields of /proc/<pid>/stat berth reads. */
typedef struct {
    char state;
    long group;
    long session;
    long long ticks; /* start, in clock ticks since boot */
} stat_t;

/* Reads /proc/<pid>/stat. APR_ENOENT when no such process runs (a zombie
 * counts as gone). */
static apr_status_t read_stat(long pid, stat_t *st)
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
    /* "pid (comm) S ppid pgrp session ..." where comm may hold spaces and
     * parentheses: fields are counted from the last ')' */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return APR_EGENERAL;
    p += 2;
    st->state = *p;
    if (*p == 'Z' || *p == 'X')
        return APR_ENOENT; /* dead, only not reaped yet */
    /* the state is field 3; the group 5, the session 6, the start 22 */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return APR_EGENERAL;
        p++;
        if (field + 1 == 5)
            st->group = atol(p);
        else if (field + 1 == 6)
            st->session = atol(p);
    }
    st->ticks = atoll(p);
    return APR_SUCCESS;
}

/* Clock ticks since boot as seconds since the epoch; -1 when unknown. */
static apr_int64_t ticks_to_epoch(long long ticks)
{
    long hz = sysconf(_SC_CLK_TCK);
    long long bt = boot_time();
    if (hz <= 0 || bt < 0)
        return -1;
    return (apr_int64_t)(bt + ticks / hz);
}

apr_status_t berth_platform_process_started(long pid, apr_int64_t *secs)
{
    stat_t st;
    apr_status_t rv = read_stat(pid, &st);
    if (rv != APR_SUCCESS)
        return rv;
    apr_int64_t t = ticks_to_epoch(st.ticks);
    if (t < 0)
        return APR_EGENERAL;
    *secs = t;
    return APR_SUCCESS;
}

apr_status_t berth_process_group_members(long group, apr_array_header_t **out,
                                         apr_pool_t *pool)
{
    struct dirent *e;
    DIR *d = opendir("/proc");
    *out = apr_array_make(pool, 4, sizeof(berth_group_member_t));
    if (!d)
        return errno;
    /* every process: Linux has no call that lists one group's */
    while ((e = readdir(d)) != NULL) {
        char *end;
        stat_t st;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || read_stat(pid, &st) != APR_SUCCESS ||
            st.group != group)
            continue;
        berth_group_member_t *m = apr_array_push(*out);
        m->pid = pid;
        m->started = ticks_to_epoch(st.ticks);
        m->session = st.session;
    }
    closedir(d);
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
