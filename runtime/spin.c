#include "spin.h"

#include <apr_atomic.h>

#include "platform.h"

static volatile apr_uint32_t g_slot;   /* 1 while a thread watches */
static volatile apr_uint32_t g_set;    /* the budget was decided */
static volatile apr_uint32_t g_budget; /* microseconds */
static volatile apr_uint64_t g_busy;   /* when berth was last busy */

void berth_spin_configure(apr_interval_time_t budget)
{
    if (budget < 0)
        budget = 0;
    if (berth_platform_cpus() < 2)
        budget = 0;
    apr_atomic_set32(&g_budget, (apr_uint32_t)budget);
    apr_atomic_set32(&g_set, 1);
}

/* The budget of a watch that may start now, taking the one slot: 0 when
 * watching is off, berth was busy lately or another thread watches. */
static apr_interval_time_t enter(void)
{
    if (!apr_atomic_read32(&g_set))
        berth_spin_configure(BERTH_SPIN_DEFAULT_US);
    apr_uint32_t budget = apr_atomic_read32(&g_budget);
    if (!budget ||
        (apr_uint64_t)berth_platform_clock() - apr_atomic_read64(&g_busy) <
            BERTH_SPIN_QUIET ||
        apr_atomic_cas32(&g_slot, 1, 0) != 0)
        return 0;
    return (apr_interval_time_t)budget;
}

int berth_spin_watch(int (*seen)(void *baton), void *baton)
{
    apr_interval_time_t budget = enter();
    if (!budget)
        return 0;
    apr_time_t until = berth_platform_clock() + budget;
    int got;
    while (!(got = seen(baton)) && berth_platform_clock() < until)
        ;
    apr_atomic_set32(&g_slot, 0);
    return got;
}

void berth_spin_busy(void)
{
    apr_atomic_set64(&g_busy, (apr_uint64_t)berth_platform_clock());
}
