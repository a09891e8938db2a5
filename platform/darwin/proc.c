/* Process identity on macOS: sysctl's kinfo_proc start time, and the
 * members of a process group from the same records. And the CPUs there are
 * (macOS has no affinity to ask). */
#define _DARWIN_C_SOURCE 1 /* sysctl.h's BSD types, _SC_NPROCESSORS_ONLN */
#include "platform.h"
#include "process.h"

#include <apr_strings.h>

#include <errno.h>
#include <limits.h>
#include <mach-o/dyld.h> /* _NSGetExecutablePath */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysctl.h>
#include <sys/types.h>
#include <unistd.h>

long berth_platform_pid(void) { return (long)getpid(); }

apr_status_t berth_platform_process_started(long pid, apr_int64_t *secs)
{
    struct kinfo_proc kp;
    size_t len = sizeof kp;
    int mib[4] = { CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)pid };
    if (pid <= 0)
        return APR_ENOENT;
    memset(&kp, 0, sizeof kp);
    if (sysctl(mib, 4, &kp, &len, NULL, 0) != 0)
        return errno;
    if (len == 0 || kp.kp_proc.p_pid != (pid_t)pid ||
        kp.kp_proc.p_stat == SZOMB)
        return APR_ENOENT;
    *secs = (apr_int64_t)kp.kp_proc.p_starttime.tv_sec;
    return APR_SUCCESS;
}

apr_status_t berth_process_group_members(long group, apr_array_header_t **out,
                                         apr_pool_t *pool)
{
    int mib[4] = { CTL_KERN, KERN_PROC, KERN_PROC_PGRP, (int)group };
    size_t len = 0;
    *out = apr_array_make(pool, 4, sizeof(berth_group_member_t));
    if (sysctl(mib, 4, NULL, &len, NULL, 0) != 0)
        return errno;
    /* room for a few more that may start between the two calls */
    len += 8 * sizeof(struct kinfo_proc);
    struct kinfo_proc *kp = apr_palloc(pool, len);
    if (sysctl(mib, 4, kp, &len, NULL, 0) != 0)
        return errno;
    for (size_t i = 0; i < len / sizeof *kp; i++) {
        if (kp[i].kp_proc.p_stat == SZOMB)
            continue;
        berth_group_member_t *m = apr_array_push(*out);
        m->pid = (long)kp[i].kp_proc.p_pid;
        m->started = (apr_int64_t)kp[i].kp_proc.p_starttime.tv_sec;
        pid_t s = getsid(kp[i].kp_proc.p_pid);
        m->session = s < 0 ? -1 : (long)s;
    }
    return APR_SUCCESS;
}

void berth_platform_trim_memory(void) {}

/* macOS schedules by QoS classes; none of them lets a thread run only on a
 * CPU that would otherwise halt. */
apr_status_t berth_platform_thread_lowest(void) { return APR_ENOTIMPL; }

int berth_platform_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

const char *berth_platform_exe_path(apr_pool_t *pool)
{
    char raw[PATH_MAX], real[PATH_MAX];
    uint32_t size = sizeof raw;
    if (_NSGetExecutablePath(raw, &size) != 0 || !realpath(raw, real))
        return NULL;
    return apr_pstrdup(pool, real);
}
