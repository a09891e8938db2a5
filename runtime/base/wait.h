/* Sleeping on a condition variable up to a deadline counted on
 * berth_platform_clock() (monotonic), so that a caller's loop reads:
 *
 *     apr_time_t until = berth_platform_clock() + timeout;
 *     while (!ready && berth_wait_until(cv, lock, until))
 *         ;
 */
#ifndef BERTH_WAIT_H
#define BERTH_WAIT_H

#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>

/* With LOCK held: 0 when UNTIL has passed (no wait); else waits on CV for
 * what is left, or less when signalled, and returns 1. */
int berth_wait_until(apr_thread_cond_t *cv, apr_thread_mutex_t *lock,
                     apr_time_t until);

#endif
