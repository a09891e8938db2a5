/* Shared by platform/win32: UTF-8 <-> UTF-16, the environment block, and
 * starting a child in a Job Object of its own. */
#ifndef BERTH_WIN32_UTIL_H
#define BERTH_WIN32_UTIL_H

#include <windows.h>

#include <apr_pools.h>
#include <apr_tables.h>

wchar_t *berth_win_wide(const char *utf8, apr_pool_t *pool);
char *berth_win_utf8(const wchar_t *wide, apr_pool_t *pool);

/* ENV ("KEY=VALUE", the child's whole environment: the variables every
 * Windows program needs are the plan's to add, runtime/spawn/winenv.c) as a
 * CreateProcessW block: UTF-16, sorted case-insensitively as Windows
 * requires. */
wchar_t *berth_win_env_block(const apr_array_header_t *env, apr_pool_t *pool);

/* The step of a start that failed. */
typedef enum {
    BERTH_WIN_STARTED = 0,
    BERTH_WIN_FAILED_JOB,     /* CreateJobObject, or its KILL_ON_JOB_CLOSE */
    BERTH_WIN_FAILED_PIPE,
    BERTH_WIN_FAILED_CREATE,  /* CreateProcessW */
    BERTH_WIN_FAILED_ASSIGN   /* AssignProcessToJobObject */
} berth_win_step_t;

typedef struct {
    HANDLE process;
    HANDLE job;   /* KILL_ON_JOB_CLOSE: closing it ends the whole tree */
    HANDLE in;    /* berth's ends; NULL when not asked for */
    HANDLE out;
    HANDLE err;
    DWORD pid;
    berth_win_step_t step; /* what failed, BERTH_WIN_STARTED else */
} berth_win_child_t;

/* Starts PROGRAM with the exact COMMAND_LINE and ENV in a new Job Object.
 * Only the child's three pipe ends are inherited (a handle list). With
 * ALL_PIPES 0 only stdout is a pipe and stdin/stderr are NUL. A job that
 * cannot be made, limited or entered fails the start (CHILD->step says
 * which): outside one, the tree would outlive berth; the child is then
 * ended before it ran. Nothing is left open after a failure. */
apr_status_t berth_win_start(berth_win_child_t *child, const char *program,
                             const char *command_line,
                             const apr_array_header_t *env, const char *cwd,
                             int all_pipes, apr_pool_t *pool);

void berth_win_child_close(berth_win_child_t *child);

/* Tests only (berth never calls it): every later job handle keeps only
 * ACCESS (JOB_OBJECT_* rights), so that the job's setup fails the way
 * Windows refuses it for real (ERROR_ACCESS_DENIED); 0 restores full
 * access. */
void berth_win_test_job_access(DWORD access);

#endif
