/* spin.h: a watch lasts its budget at most and ends when SEEN says so; one
 * thread watches at a time; none at budget 0, while berth is busy, or in a
 * process bound to one CPU. And the monotonic clock its budget is counted
 * on. */
#if defined(__linux__)
#define _GNU_SOURCE 1 /* sched_setaffinity, SCHED_IDLE */
#include <sched.h>
#endif
/* on Windows apr.h brings windows.h (after winsock2.h, as it must be) */

#include "test_util.h"

#include <apr_atomic.h>
#include <apr_portable.h>
#include <apr_thread_proc.h>
#include <apr_time.h>

#include "config.h"
#include "platform.h"
#include "spin.h"

typedef struct {
    int calls;
    int say_at;  /* the call that says 1; 0: never */
    int nested;  /* looks of a watch tried inside this one (-1: none) */
} probe_t;

static int count_and_say(void *baton)
{
    ++*(int *)baton;
    return 1;
}

static int probe(void *baton)
{
    probe_t *p = baton;
    p->calls++;
    if (p->calls == 1 && p->nested == -1) {
        /* another watch while this one runs: no slot, SEEN never called */
        p->nested = 0;
        assert_int_equal(berth_spin_watch(count_and_say, &p->nested), 0);
    }
    return p->say_at && p->calls >= p->say_at;
}

static void test_watch(void **state)
{
    (void)state;
    if (berth_platform_cpus() < 2) {
        /* one CPU: watching would only delay the peer */
        probe_t p = { 0, 1, 0 };
        assert_int_equal(berth_spin_watch(probe, &p), 0);
        assert_int_equal(p.calls, 0);
        skip();
    }
    apr_sleep(BERTH_SPIN_QUIET); /* nothing marked berth busy lately */
    /* seen on the third look: 1, without using the budget */
    berth_spin_configure(1000 * 1000);
    probe_t p = { 0, 3, -1 };
    apr_time_t t0 = berth_platform_clock();
    assert_int_equal(berth_spin_watch(probe, &p), 1);
    assert_int_equal(p.calls, 3);
    assert_true(berth_platform_clock() - t0 < 500 * 1000);
    assert_int_equal(p.nested, 0);
    /* never seen: 0 after the budget */
    berth_spin_configure(20 * 1000);
    probe_t q = { 0, 0, 0 };
    t0 = berth_platform_clock();
    assert_int_equal(berth_spin_watch(probe, &q), 0);
    assert_true(berth_platform_clock() - t0 >= 20 * 1000);
    assert_true(q.calls > 1);
    /* 0 turns it off; a negative budget counts as 0 */
    probe_t r = { 0, 1, 0 };
    berth_spin_configure(0);
    assert_int_equal(berth_spin_watch(probe, &r), 0);
    berth_spin_configure(-3);
    assert_int_equal(berth_spin_watch(probe, &r), 0);
    assert_int_equal(r.calls, 0);
    /* two things at once lately: nobody watches until it is quiet again */
    berth_spin_configure(
        (apr_interval_time_t)berth_config_default_number("http.spin_us"));
    berth_spin_busy();
    assert_int_equal(berth_spin_watch(probe, &r), 0);
    assert_int_equal(r.calls, 0);
    apr_sleep(BERTH_SPIN_QUIET + 2000);
    assert_int_equal(berth_spin_watch(probe, &r), 1);
    assert_int_equal(r.calls, 1);
}

#if defined(__linux__)
/* bound to one CPU, the process never watches, whatever the config says */
static void test_one_cpu_never(void **state)
{
    (void)state;
    cpu_set_t all, one;
    assert_int_equal(sched_getaffinity(0, sizeof all, &all), 0);
    CPU_ZERO(&one);
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &all)) {
            CPU_SET(i, &one);
            break;
        }
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
    berth_spin_configure(100);
    probe_t p = { 0, 1, 0 };
    int got = berth_spin_watch(probe, &p);
    assert_int_equal(sched_setaffinity(0, sizeof all, &all), 0);
    assert_int_equal(got, 0);
    assert_int_equal(p.calls, 0);
}
#endif

/* ---- the keeper ----------------------------------------------------------- */

typedef struct {
    int ran;
    int elsewhere;   /* on another thread than the caller's */
    int lowest;      /* that thread at the lowest priority */
    apr_os_thread_t caller;
} job_t;

static void job(void *baton)
{
    job_t *j = baton;
    j->ran++;
    j->elsewhere = !apr_os_thread_equal(apr_os_thread_current(), j->caller);
#if defined(_WIN32)
    j->lowest = GetThreadPriority(GetCurrentThread()) == THREAD_PRIORITY_IDLE;
#elif defined(__linux__)
    j->lowest = sched_getscheduler(0) == SCHED_IDLE;
#endif
}

static volatile apr_uint32_t g_stop_watch;

static int stop_asked(void *baton)
{
    (void)baton;
    return apr_atomic_read32(&g_stop_watch) != 0;
}

static void *APR_THREAD_FUNC long_watch(apr_thread_t *t, void *arg)
{
    *(int *)arg = berth_spin_watch(stop_asked, NULL);
    (void)t;
    return NULL;
}

/* 1 when berth_spin_keeper_spinning says SPINNING within 5 s */
static int keeper_becomes(int spinning)
{
    for (int i = 0; i < 5000; i++) {
        if (berth_spin_keeper_spinning() == spinning)
            return 1;
        apr_sleep(1000);
    }
    return 0;
}

/* While a watch runs, the keeper spins at the lowest priority and runs what
 * is handed to it; one budget after the last watch it stops, and the
 * caller runs its own job again. */
static void test_keeper(void **state)
{
    (void)state;
    if (berth_platform_cpus() < 2)
        skip(); /* nobody watches, nobody keeps */
    apr_sleep(BERTH_SPIN_QUIET);
    /* a budget the steps below fit in, even under Wine */
    berth_spin_configure(1000 * 1000);
    job_t j = { 0, 0, 0, apr_os_thread_current() };
    if (!berth_spin_keeper_spinning()) {
        /* no keeper spins: the caller must run it */
        assert_int_equal(berth_spin_hand_off(job, &j), 0);
        assert_int_equal(j.ran, 0);
    }
    apr_thread_t *t;
    int got = -1;
    apr_atomic_set32(&g_stop_watch, 0);
    apr_time_t watch_from = berth_platform_clock();
    assert_int_equal(apr_thread_create(&t, NULL, long_watch, &got, test_pool),
                     APR_SUCCESS);
    assert_true(keeper_becomes(1));
    /* a keeper whose CPU runs something else does not take a job within
     * 20 us (the caller then runs it itself): a busy test machine gets a
     * few tries */
    int taken = 0;
    for (int i = 0; i < 5000 && !taken; i++) {
        taken = berth_spin_hand_off(job, &j);
        assert_int_equal(j.ran, taken);
        if (!taken)
            apr_sleep(1000);
    }
    assert_true(taken);
    assert_true(j.elsewhere);
    assert_true(j.lowest);
    apr_atomic_set32(&g_stop_watch, 1);
    apr_status_t ts;
    apr_thread_join(&ts, t);
    /* the watch saw the stop, unless a loaded machine kept the steps above
     * past its whole budget (then it ended by itself) */
    assert_true(got == 1 ||
                berth_platform_clock() - watch_from >= 1000 * 1000);
    /* one budget (1 s) after the watch: asleep, burning nothing */
    apr_time_t t0 = berth_platform_clock();
    assert_true(keeper_becomes(0));
    assert_true(berth_platform_clock() - t0 >= 500 * 1000);
    j.ran = 0;
    assert_int_equal(berth_spin_hand_off(job, &j), 0);
    assert_int_equal(j.ran, 0);
}

/* The clock of every deadline (berth_platform_clock): it never goes back,
 * it counts a sleep, and it is fine enough for a watch of 100 us (Windows'
 * GetTickCount64 steps by 10-16 ms and would fail the last check). */
static void test_clock(void **state)
{
    (void)state;
    apr_time_t t0 = berth_platform_clock();
    apr_sleep(20 * 1000);
    apr_time_t t1 = berth_platform_clock();
    assert_true(t1 - t0 >= 20 * 1000);
    assert_true(t1 - t0 < 5 * APR_USEC_PER_SEC);
    apr_time_t prev = t1, smallest = -1;
    for (int i = 0; i < 200000; i++) {
        apr_time_t t = berth_platform_clock();
        assert_true(t >= prev);
        if (t > prev && (smallest < 0 || t - prev < smallest))
            smallest = t - prev;
        prev = t;
    }
    assert_true(smallest > 0 && smallest < 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_watch),
        cmocka_unit_test(test_keeper),
#if defined(__linux__)
        cmocka_unit_test(test_one_cpu_never),
#endif
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
