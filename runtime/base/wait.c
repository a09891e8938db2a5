#include "wait.h"

#include "platform.h"

int berth_wait_until(apr_thread_cond_t *cv, apr_thread_mutex_t *lock,
                     apr_time_t until)
{
    apr_interval_time_t left = until - berth_platform_clock();
    if (left <= 0)
        return 0;
    apr_thread_cond_timedwait(cv, lock, left);
    return 1;
}
