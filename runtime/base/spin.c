#include "spin.h"

#include <apr_allocator.h>
#include <apr_atomic.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "config.h"
#include "platform.h"

static volatile apr_uint32_t g_slot;   /* 1 while a thread watches */
static volatile apr_uint32_t g_set;    /* the budget was decided */
static volatile apr_uint32_t g_budget; /* microseconds */
static volatile apr_uint64_t g_busy;   /* when berth was last busy */

/* ---- the keeper -------------------------------------------------------------
 * A watch keeps its own vCPU running, but the thread it waits for (the
 * server, the client) is woken on another one, and an idle vCPU that
 * halted costs a host wake-up first: measured on the project machine, a
 * pipe round trip between two CPUs took 64 us with both halting between
 * messages, 35 us with something running on each. So while watches run,
 * and for one budget after the last one, a thread at the lowest priority
 * spins: the CPU it holds counts as idle to the scheduler, which wakes the
 * next thread there and hands it the CPU at once; it takes no time from
 * any other thread. One keeper per process, created at the first watch;
 * none where the OS has no lowest priority. */
enum { KEEPER_NONE, KEEPER_STARTING, KEEPER_ASLEEP, KEEPER_SPINNING,
       KEEPER_UNAVAILABLE };
static volatile apr_uint32_t g_keeper;     /* KEEPER_* */
static volatile apr_uint64_t g_keep_until; /* clock: spin until then */
/* never destroyed (start_keeper); held here so that leak checkers, which do
 * not look into APR's mmap'ed pool memory, see them reachable */
static apr_allocator_t *g_keep_alloc;
static apr_pool_t *g_keep_pool;
static apr_thread_mutex_t *g_keep_lock;
static apr_thread_cond_t *g_keep_cv;

static void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* A job handed to the keeper (berth_spin_hand_off) */
enum { JOB_FREE, JOB_CLAIMED, JOB_POSTED, JOB_TAKEN, JOB_DONE };
static volatile apr_uint32_t g_job;      /* JOB_* */
static void (*volatile g_job_fn)(void *);
static void *volatile g_job_baton;

static void run_job(void)
{
    if (apr_atomic_cas32(&g_job, JOB_TAKEN, JOB_POSTED) != JOB_POSTED)
        return;
    g_job_fn(g_job_baton);
    apr_atomic_set32(&g_job, JOB_DONE);
}

static int keeping(void)
{
    return (apr_uint64_t)berth_platform_clock() <
           apr_atomic_read64(&g_keep_until);
}

static void *APR_THREAD_FUNC keeper(apr_thread_t *t, void *arg)
{
    (void)t;
    (void)arg;
    if (berth_platform_thread_lowest() != APR_SUCCESS) {
        /* at a normal priority it would take the CPU from the server */
        apr_atomic_set32(&g_keeper, KEEPER_UNAVAILABLE);
        return NULL;
    }
    apr_thread_mutex_lock(g_keep_lock);
    for (;;) {
        /* asleep first, then look: a watch that starts meanwhile sees
         * KEEPER_ASLEEP and signals (spin_keep) */
        apr_atomic_set32(&g_keeper, KEEPER_ASLEEP);
        if (!keeping()) {
            apr_thread_cond_wait(g_keep_cv, g_keep_lock);
            continue;
        }
        apr_atomic_set32(&g_keeper, KEEPER_SPINNING);
        apr_thread_mutex_unlock(g_keep_lock);
        while (keeping()) {
            if (apr_atomic_read32(&g_job) == JOB_POSTED)
                run_job();
            relax();
        }
        apr_thread_mutex_lock(g_keep_lock);
    }
    return NULL; /* never: the keeper lives as long as the process */
}

/* Starts the keeper: once, at the first watch of the process. */
static void start_keeper(void)
{
    apr_threadattr_t *attr;
    apr_thread_t *t;
    if (apr_atomic_cas32(&g_keeper, KEEPER_STARTING, KEEPER_NONE) !=
        KEEPER_NONE)
        return;
    /* never destroyed, not even by apr_terminate() (which would wait for
     * ever to destroy the condition variable the keeper sleeps on): the
     * keeper lives as long as the process */
    if (apr_allocator_create(&g_keep_alloc) != APR_SUCCESS ||
        apr_pool_create_unmanaged_ex(&g_keep_pool, NULL, g_keep_alloc) !=
            APR_SUCCESS) {
        apr_atomic_set32(&g_keeper, KEEPER_UNAVAILABLE);
        return;
    }
    apr_pool_t *pool = g_keep_pool;
    if (apr_thread_mutex_create(&g_keep_lock, APR_THREAD_MUTEX_DEFAULT,
                                pool) != APR_SUCCESS ||
        apr_thread_cond_create(&g_keep_cv, pool) != APR_SUCCESS ||
        apr_threadattr_create(&attr, pool) != APR_SUCCESS ||
        apr_threadattr_detach_set(attr, 1) != APR_SUCCESS ||
        apr_threadattr_stacksize_set(attr, 64 * 1024) != APR_SUCCESS ||
        apr_thread_create(&t, attr, keeper, NULL, pool) != APR_SUCCESS)
        apr_atomic_set32(&g_keeper, KEEPER_UNAVAILABLE);
}

/* Has the keeper spin until BUDGET from now. */
static void spin_keep(apr_interval_time_t budget)
{
    apr_atomic_set64(&g_keep_until,
                     (apr_uint64_t)(berth_platform_clock() + budget));
    switch (apr_atomic_read32(&g_keeper)) {
    case KEEPER_NONE:
        start_keeper();
        break;
    case KEEPER_ASLEEP:
        apr_thread_mutex_lock(g_keep_lock);
        apr_thread_cond_signal(g_keep_cv);
        apr_thread_mutex_unlock(g_keep_lock);
        break;
    default:
        break; /* spinning, starting, or not to be had */
    }
}

int berth_spin_hand_off(void (*fn)(void *), void *baton)
{
    if (apr_atomic_read32(&g_keeper) != KEEPER_SPINNING ||
        apr_atomic_cas32(&g_job, JOB_CLAIMED, JOB_FREE) != JOB_FREE)
        return 0;
    g_job_fn = fn;
    g_job_baton = baton;
    apr_atomic_set32(&g_job, JOB_POSTED);
    apr_time_t until = berth_platform_clock() + 20;
    while (apr_atomic_read32(&g_job) == JOB_POSTED &&
           berth_platform_clock() < until)
        relax();
    if (apr_atomic_cas32(&g_job, JOB_CLAIMED, JOB_POSTED) == JOB_POSTED) {
        /* not taken: the keeper's CPU is busy with others */
        apr_atomic_set32(&g_job, JOB_FREE);
        return 0;
    }
    /* taken: a write, which the thread it wakes may interrupt a while
     * (the keeper yields to everyone); past a millisecond, wait sleeping */
    until = berth_platform_clock() + 1000;
    while (apr_atomic_read32(&g_job) != JOB_DONE) {
        if (berth_platform_clock() < until)
            relax();
        else
            apr_sleep(100);
    }
    apr_atomic_set32(&g_job, JOB_FREE);
    return 1;
}

int berth_spin_keeper_spinning(void)
{
    return apr_atomic_read32(&g_keeper) == KEEPER_SPINNING;
}

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
        berth_spin_configure((apr_interval_time_t)berth_config_default_number(
            "http.spin_us"));
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
    /* the keeper spins from now until one budget after this watch */
    spin_keep(2 * budget);
    apr_time_t until = berth_platform_clock() + budget;
    int got;
    while (!(got = seen(baton)) && berth_platform_clock() < until)
        ;
    apr_atomic_set32(&g_slot, 0);
    spin_keep(budget);
    return got;
}

void berth_spin_busy(void)
{
    apr_atomic_set64(&g_busy, (apr_uint64_t)berth_platform_clock());
}
