/* spin.h: one watcher at a time, the budget as configured, off at 0, none
 * while berth is busy, and never on a process bound to one CPU. */
#if defined(__linux__)
#define _GNU_SOURCE 1 /* sched_setaffinity */
#include <sched.h>
#endif

#include "test_util.h"

#include <apr_time.h>

#include "platform.h"
#include "spin.h"

static void test_one_slot_and_budget(void **state)
{
    (void)state;
    if (berth_platform_cpus() < 2) {
        /* one CPU: watching would only delay the peer */
        berth_spin_configure(100);
        assert_int_equal(berth_spin_enter(), 0);
        skip();
    }
    berth_spin_configure(250);
    apr_interval_time_t b = berth_spin_enter();
    assert_int_equal(b, 250);
    /* the slot is taken until it is left */
    assert_int_equal(berth_spin_enter(), 0);
    assert_int_equal(berth_spin_enter(), 0);
    berth_spin_leave();
    assert_int_equal(berth_spin_enter(), 250);
    berth_spin_leave();
    /* 0 turns it off; a negative budget counts as 0 */
    berth_spin_configure(0);
    assert_int_equal(berth_spin_enter(), 0);
    berth_spin_configure(-3);
    assert_int_equal(berth_spin_enter(), 0);
    berth_spin_configure(BERTH_SPIN_DEFAULT_US);
    assert_int_equal(berth_spin_enter(), BERTH_SPIN_DEFAULT_US);
    berth_spin_leave();
    /* two things at once lately: nobody watches until it is quiet again */
    berth_spin_busy();
    assert_int_equal(berth_spin_enter(), 0);
    apr_sleep(BERTH_SPIN_QUIET + 2000);
    assert_int_equal(berth_spin_enter(), BERTH_SPIN_DEFAULT_US);
    berth_spin_leave();
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
    apr_interval_time_t b = berth_spin_enter();
    assert_int_equal(sched_setaffinity(0, sizeof all, &all), 0);
    assert_int_equal(b, 0);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_slot_and_budget),
#if defined(__linux__)
        cmocka_unit_test(test_one_cpu_never),
#endif
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
