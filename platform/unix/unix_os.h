/* The few calls platform/unix needs whose implementation differs between
 * Unix systems: one implementation each in platform/linux/unix_os.c and
 * platform/darwin/unix_os.c, chosen by CMake with the folder. */
#ifndef BERTH_UNIX_OS_H
#define BERTH_UNIX_OS_H

#include <sys/types.h>

/* A pipe whose two ends are close-on-exec from the start (or as close to
 * it as the OS allows); 0, or -1 with errno set. */
int berth_cloexec_pipe(int fds[2]);

/* One more than the highest signal number, for resetting every signal's
 * disposition in a child. */
int berth_unix_signal_limit(void);

/* In a child between fork and exec: asks for SIGTERM when the thread that
 * forked it ends, and raises it now when PARENT is already gone. Nothing
 * where the OS has no such request. Async-signal-safe. */
void berth_unix_die_with_parent(pid_t parent);

#endif
