/* The Windows spawn primitive: CreateProcessW with the plan's exact command
 * line, a sorted environment block, only the three pipe ends inherited, and
 * a KILL_ON_JOB_CLOSE Job Object holding the whole tree. (APR's own
 * apr_proc_create quotes badly, leaks every inheritable handle and kills
 * only the child.) */
#include "process.h"
#include "shellquote.h"
#include "win32_util.h"

#include <ctype.h>
#include <string.h>

#include <apr_portable.h>
#include <apr_strings.h>

struct berth_process_t {
    berth_win_child_t child;
    apr_file_t *in, *out, *err;
    int reaped;
    int exit_code;
};

static apr_status_t cleanup(void *data)
{
    berth_process_t *p = data;
    if (p->child.job)
        TerminateJobObject(p->child.job, 1);
    /* the files own the pipe handles; the rest closes here */
    p->child.in = p->child.out = p->child.err = NULL;
    berth_win_child_close(&p->child);
    return APR_SUCCESS;
}

/* What the user reads when SPEC could not start: the step that failed. */
static const char *start_error(const berth_process_spec_t *spec,
                               berth_win_step_t step, apr_status_t rv,
                               apr_pool_t *pool)
{
    char buf[256];
    const char *why = apr_strerror(rv, buf, sizeof buf);
    /* Windows' messages end in blanks and a line break */
    for (size_t n = strlen(buf); n > 0 && isspace((unsigned char)buf[n - 1]);
         n--)
        buf[n - 1] = '\0';
    switch (step) {
    case BERTH_WIN_FAILED_JOB:
        return apr_psprintf(pool, "cannot set up a job object for %s (%s): "
                            "without one its processes would outlive berth, "
                            "so it was not started", spec->program, why);
    case BERTH_WIN_FAILED_ASSIGN:
        return apr_psprintf(pool, "cannot put %s in its job object (%s): "
                            "outside it its processes would outlive berth, "
                            "so it was ended before it ran; a berth that "
                            "runs inside a job allowing no job within it "
                            "(Windows 7) must be started outside that job",
                            spec->program, why);
    case BERTH_WIN_FAILED_PIPE:
        return apr_psprintf(pool, "cannot create pipes for %s: %s",
                            spec->program, why);
    default:
        return apr_psprintf(pool, "cannot run %s: %s", spec->program, why);
    }
}

apr_status_t berth_process_spawn(berth_process_t **out,
                                 const berth_process_spec_t *spec,
                                 const char **error, apr_pool_t *pool)
{
    const char *line = spec->command_line
                           ? spec->command_line
                           : berth_join_windows(spec->argv, pool);
    berth_process_t *p = apr_pcalloc(pool, sizeof *p);
    *out = NULL;
    *error = NULL;
    apr_status_t rv = berth_win_start(&p->child, spec->program, line,
                                      spec->env, spec->cwd, 1, pool);
    if (rv != APR_SUCCESS) {
        *error = start_error(spec, p->child.step, rv, pool);
        return rv;
    }
    apr_os_pipe_put_ex(&p->in, &p->child.in, 1, pool);
    apr_os_pipe_put_ex(&p->out, &p->child.out, 1, pool);
    apr_os_pipe_put_ex(&p->err, &p->child.err, 1, pool);
    apr_pool_cleanup_register(pool, p, cleanup, apr_pool_cleanup_null);
    *out = p;
    return APR_SUCCESS;
}

apr_file_t *berth_process_stdin(berth_process_t *p) { return p->in; }
apr_file_t *berth_process_stdout(berth_process_t *p) { return p->out; }
apr_file_t *berth_process_stderr(berth_process_t *p) { return p->err; }
long berth_process_pid(const berth_process_t *p) { return (long)p->child.pid; }

apr_status_t berth_process_wait(berth_process_t *p,
                                apr_interval_time_t timeout, int *exit_code)
{
    if (!p->reaped) {
        DWORD ms = timeout < 0 ? INFINITE : (DWORD)(timeout / 1000);
        DWORD w = WaitForSingleObject(p->child.process, ms);
        if (w == WAIT_TIMEOUT)
            return APR_TIMEUP;
        if (w != WAIT_OBJECT_0)
            return apr_get_os_error();
        DWORD code = 0;
        GetExitCodeProcess(p->child.process, &code);
        p->exit_code = (int)code;
        p->reaped = 1;
    }
    if (exit_code)
        *exit_code = p->exit_code;
    return APR_SUCCESS;
}

apr_status_t berth_process_terminate(berth_process_t *p)
{
    return berth_process_kill_tree(p);
}

apr_status_t berth_process_kill_tree(berth_process_t *p)
{
    if (!TerminateJobObject(p->child.job, 1))
        return apr_get_os_error();
    return APR_SUCCESS;
}

/* KILL_ON_JOB_CLOSE: when berth ends, however it ends, Windows closes its
 * handle on each job and ends the trees. */
int berth_process_tree_outlives_berth(void)
{
    return 0;
}

long berth_process_session(long pid)
{
    (void)pid;
    return -1;
}

apr_status_t berth_process_group_members(long group, apr_array_header_t **out,
                                         apr_pool_t *pool)
{
    (void)group;
    *out = apr_array_make(pool, 1, sizeof(berth_group_member_t));
    return APR_ENOTIMPL;
}

apr_status_t berth_process_group_kill(long group)
{
    (void)group;
    return APR_ENOTIMPL;
}

apr_status_t berth_process_write_now(apr_file_t *f, const char *buf,
                                     apr_size_t len)
{
    /* an anonymous pipe does not say how much room it has */
    (void)f;
    (void)buf;
    (void)len;
    return APR_ENOTIMPL;
}

apr_status_t berth_process_wait_readable(apr_file_t *f, apr_file_t *kick,
                                         apr_interval_time_t timeout,
                                         int *kicked)
{
    /* anonymous pipes cannot be waited on with others: the upstream keeps
     * one thread blocked in its read */
    (void)f;
    (void)kick;
    (void)timeout;
    *kicked = 0;
    return APR_ENOTIMPL;
}
