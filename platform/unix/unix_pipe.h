/* A pipe whose two ends are close-on-exec from the start. */
#ifndef BERTH_UNIX_PIPE_H
#define BERTH_UNIX_PIPE_H

int berth_cloexec_pipe(int fds[2]);

#endif
