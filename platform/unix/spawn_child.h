/* Starting a child on Unix, shared by the spawn (process.c) and the capture
 * (hostfacts.c): pipes, fork, the child's setup in named steps, exec, and
 * the exec error carried back through a close-on-exec pipe. */
#ifndef BERTH_SPAWN_CHILD_H
#define BERTH_SPAWN_CHILD_H

#include <sys/types.h>

#include <apr_errno.h>

/* Which of the child's stdin, stdout and stderr get a pipe to berth; the
 * others read from or write to /dev/null. */
#define BERTH_CHILD_PIPE_IN 1
#define BERTH_CHILD_PIPE_OUT 2
#define BERTH_CHILD_PIPE_ERR 4
/* with PIPE_OUT: the child's stderr goes to its stdout's pipe too */
#define BERTH_CHILD_ERR_TO_OUT 8

typedef struct {
    const char *program;   /* the path execve gets */
    char *const *argv;     /* NULL-terminated */
    char *const *envp;     /* NULL-terminated: the whole environment */
    const char *cwd;       /* NULL: berth's own */
    int pipes;             /* BERTH_CHILD_PIPE_* */
    int die_with_parent;   /* SIGTERM when the forking thread ends (Linux) */
} berth_child_spec_t;

/* The child step that failed, when it did not get as far as running. */
typedef enum {
    BERTH_CHILD_STARTED = 0,
    BERTH_CHILD_FAILED_PIPE,
    BERTH_CHILD_FAILED_FORK,
    BERTH_CHILD_FAILED_STDIO,
    BERTH_CHILD_FAILED_CHDIR,
    BERTH_CHILD_FAILED_EXEC
} berth_child_step_t;

typedef struct {
    pid_t pid;               /* -1 unless started */
    int fds[3];              /* berth's ends: write to [0], read [1] and [2];
                                -1 where SPEC asked for no pipe */
    berth_child_step_t step; /* what failed, BERTH_CHILD_STARTED else */
} berth_child_t;

/* Starts SPEC in a process group of its own, its signal mask empty and every
 * signal's disposition the default, and returns once it runs the program.
 * APR_SUCCESS with CHILD filled (every descriptor close-on-exec); else the
 * errno of the step that failed (CHILD->step), and nothing is left behind:
 * no descriptor open, no child unreaped. */
apr_status_t berth_child_start(const berth_child_spec_t *spec,
                               berth_child_t *child);

#endif
