/* berth's own termination signals (Unix SIGINT/SIGTERM, Windows Ctrl+C and
 * console close). Handlers only write to a self-pipe (or set an event);
 * whoever waits does the work. SIGPIPE is ignored: a server that dies must
 * not take berth with it when berth writes to its stdin. */
#ifndef BERTH_SIGNALS_H
#define BERTH_SIGNALS_H

#include <apr_time.h>

apr_status_t berth_signals_install(void);

/* Waits up to TIMEOUT for a signal: its number, or 0 when none came. */
int berth_signals_wait(apr_interval_time_t timeout);

/* Not signals, but passed the same way (berth_signals_raise): a front's
 * input ended (berth stdio's stdin), so the waiter stops as on SIGTERM; a
 * stop asked by berth itself (a service manager's stop request); a reload
 * of the config (SIGHUP on Unix, or asked by berth itself). */
#define BERTH_SIGNAL_INPUT_ENDED 250
#define BERTH_SIGNAL_STOP 251
#define BERTH_SIGNAL_RELOAD 252

/* 1 when SIGNUM (from berth_signals_wait) asks for a reload: SIGHUP on
 * Unix, BERTH_SIGNAL_RELOAD everywhere. */
int berth_signals_is_reload(int signum);

/* Makes a waiter return now with SIGNUM (tests, and a caller that is done). */
void berth_signals_raise(int signum);

#endif
