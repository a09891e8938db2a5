/* Starting one child the way a spawn plan says, with three pipes, in a
 * container of its own so the whole tree can be ended: a process group on
 * Unix (platform/unix/process.c), a KILL_ON_JOB_CLOSE Job Object on Windows
 * (platform/win32/process.c). Never a shell command line built by APR, never
 * an inherited environment. */
#ifndef BERTH_PROCESS_H
#define BERTH_PROCESS_H

#include <apr_file_io.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

typedef struct {
    const char *program;             /* absolute path of what to run */
    const apr_array_header_t *argv;  /* const char *, argv[0] first */
    const char *command_line;        /* Windows: the exact line; NULL builds
                                        it from argv by MSVCRT rules */
    const apr_array_header_t *env;   /* the whole environment, "KEY=VALUE" */
    const char *cwd;                 /* NULL: berth's own */
} berth_process_spec_t;

typedef struct berth_process_t berth_process_t;

/* Starts SPEC. A child that cannot start is an error with *ERROR saying
 * which step failed and why ("cannot run /x/y: No such file or directory",
 * "cannot enter /w: Not a directory"), never a child exiting 127, and it
 * leaves no descriptor or handle behind. The process tree ends when POOL is
 * destroyed. */
apr_status_t berth_process_spawn(berth_process_t **out,
                                 const berth_process_spec_t *spec,
                                 const char **error, apr_pool_t *pool);

/* The child's stdin (write), stdout and stderr (read), blocking files. */
apr_file_t *berth_process_stdin(berth_process_t *p);
apr_file_t *berth_process_stdout(berth_process_t *p);
apr_file_t *berth_process_stderr(berth_process_t *p);
long berth_process_pid(const berth_process_t *p);

/* Waits up to TIMEOUT (negative: for ever) for the child to exit. Returns
 * APR_SUCCESS with *EXIT_CODE (a signal N as 128+N), or APR_TIMEUP. */
apr_status_t berth_process_wait(berth_process_t *p,
                                apr_interval_time_t timeout, int *exit_code);

/* Asks the tree to stop (SIGTERM to the group; Windows has no such request
 * and ends the job). */
apr_status_t berth_process_terminate(berth_process_t *p);
/* Ends the whole tree now: SIGKILL to the group / TerminateJobObject. */
apr_status_t berth_process_kill_tree(berth_process_t *p);

/* Waits up to TIMEOUT (negative: for ever) until F has something to read
 * (data or its end) or KICK does. APR_SUCCESS with *KICKED 1 when KICK woke
 * it (its bytes are drained), 0 when F is readable; APR_TIMEUP after
 * TIMEOUT; APR_ENOTIMPL where pipes cannot be waited on together (Windows,
 * where a thread blocks in its read instead). */
apr_status_t berth_process_wait_readable(apr_file_t *f, apr_file_t *kick,
                                         apr_interval_time_t timeout,
                                         int *kicked);

/* Writes LEN bytes (at most BERTH_PROCESS_ATOMIC_WRITE) to the pipe F now,
 * whole, or nothing: APR_EAGAIN when the pipe has no room for them (a
 * server that does not read), APR_ENOTIMPL where a pipe's room cannot be
 * asked (Windows), or the write's error. */
#define BERTH_PROCESS_ATOMIC_WRITE 4096
apr_status_t berth_process_write_now(apr_file_t *f, const char *buf,
                                     apr_size_t len);

/* ---- what a berth killed outright leaves behind ----------------------- */

/* 1 where a server's process tree can outlive a berth that is killed
 * outright: on Unix its process group stays (the parent-death signal, on
 * Linux, reaches only the direct child); 0 on Windows, where the Job
 * Object ends with berth's last handle on it. */
int berth_process_tree_outlives_berth(void);

/* The session process PID belongs to (getsid); -1 when the OS will not
 * say, or has no sessions (Windows). Every member of a process group is in
 * the session the group was made in. */
long berth_process_session(long pid);

/* One process of a process group. */
typedef struct {
    long pid;
    apr_int64_t started; /* as berth_platform_process_started says; -1 unknown */
    long session;
} berth_group_member_t;

/* Every running process (zombies are gone) whose process group is GROUP,
 * into *OUT (berth_group_member_t; empty when the group has ended).
 * APR_ENOTIMPL where there are no process groups (Windows). */
apr_status_t berth_process_group_members(long group, apr_array_header_t **out,
                                         apr_pool_t *pool);

/* SIGKILL to every process of process group GROUP. APR_SUCCESS also when
 * the group has ended; APR_ENOTIMPL on Windows. */
apr_status_t berth_process_group_kill(long group);

#endif
