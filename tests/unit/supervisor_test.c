/* supervisor.h's state x event tables, without processes: every cell of
 * both restart modes against a table written out here (so that a changed
 * cell fails, whichever it is), nop and invalid keeping the state, names
 * that users see, and the backoff: its sequence (doubling, cap, reset after
 * a healthy run) and a walk of failed starts through the table (BACKOFF ->
 * STARTING), as the daemon lives it. */
#include "test_util.h"

#include <stdio.h>
#include <string.h>

#include "supervisor.h"

#define MSEC(ms) ((apr_interval_time_t)(ms) * 1000)
#define SEC(s) ((apr_interval_time_t)(s) * APR_USEC_PER_SEC)

#define N_STATES 5

static const char *const state_names[N_STATES] = {
    "stopped", "starting", "ready", "backoff", "failed" };

/* The expected cells: "action > next state"; "nop" and "invalid" keep the
 * state. Columns in the order of berth_sv_event_t. */
typedef const char *const row_t[BERTH_SV_EV_COUNT];

/*            start               up            start_failed
 *            exited              backoff_over  stop */
static row_t restart_expected[N_STATES] = {
    /* stopped */
    { "spawn > starting", "invalid", "invalid",
      "invalid", "invalid", "nop" },
    /* starting */
    { "invalid", "up > ready", "start_failed > backoff",
      "invalid", "invalid", "abandon > stopped" },
    /* ready */
    { "invalid", "invalid", "invalid",
      "died > backoff", "invalid", "shutdown > stopped" },
    /* backoff */
    { "invalid", "invalid", "invalid",
      "invalid", "respawn > starting", "halt > stopped" },
    /* failed */
    { "invalid", "invalid", "invalid",
      "invalid", "invalid", "halt > stopped" },
};

static row_t once_expected[N_STATES] = {
    /* stopped */
    { "spawn > starting", "invalid", "invalid",
      "invalid", "invalid", "nop" },
    /* starting */
    { "invalid", "up > ready", "start_failed_final > failed",
      "invalid", "invalid", "abandon > stopped" },
    /* ready */
    { "invalid", "invalid", "invalid",
      "died_final > failed", "invalid", "shutdown > stopped" },
    /* backoff: cannot be reached without restarts */
    { "invalid", "invalid", "invalid",
      "invalid", "invalid", "halt > stopped" },
    /* failed */
    { "invalid", "invalid", "invalid",
      "invalid", "invalid", "halt > stopped" },
};

/* The cell as the expected tables write it; "?" when nop or invalid would
 * change the state. */
static const char *cell_text(berth_sv_mode_t mode, berth_sv_state_t state,
                             berth_sv_event_t ev, char *buf, size_t size)
{
    berth_sv_transition_t t = berth_supervisor_transition(mode, state, ev);
    const char *act = berth_sv_action_name(t.action);
    if (t.action == BERTH_SV_ACT_NOP || t.action == BERTH_SV_ACT_INVALID)
        snprintf(buf, size, "%s", t.next == state ? act : "?");
    else
        snprintf(buf, size, "%s > %s", act, berth_sv_state_name(t.next));
    return buf;
}

/* Every cell of MODE's table; all mismatches in one failure. */
static void check_table(berth_sv_mode_t mode, row_t *expected)
{
    char wrong[4096] = "";
    size_t used = 0;
    int cells = 0;
    for (int st = 0; st < N_STATES; st++) {
        for (int ev = 0; ev < BERTH_SV_EV_COUNT; ev++) {
            char buf[64];
            const char *got = cell_text(mode, (berth_sv_state_t)st,
                                        (berth_sv_event_t)ev, buf,
                                        sizeof buf);
            cells++;
            if (strcmp(got, expected[st][ev]) == 0)
                continue;
            int n = snprintf(wrong + used, sizeof wrong - used,
                             "\n  %s x %s: \"%s\", want \"%s\"",
                             state_names[st],
                             berth_sv_event_name((berth_sv_event_t)ev), got,
                             expected[st][ev]);
            if (n > 0 && (size_t)n < sizeof wrong - used)
                used += (size_t)n;
        }
    }
    assert_int_equal(cells, N_STATES * BERTH_SV_EV_COUNT);
    if (used)
        fail_msg("%s table:%s", mode == BERTH_SV_RESTART ? "restart" : "once",
                 wrong);
}

static void test_restart_table(void **state)
{
    (void)state;
    check_table(BERTH_SV_RESTART, restart_expected);
}

static void test_once_table(void **state)
{
    (void)state;
    check_table(BERTH_SV_ONCE, once_expected);
}

/* The no-restart rule lives in the table: the modes differ only where a
 * death chooses between BACKOFF and FAILED, and in BACKOFF's timer. */
static void test_modes_differ_only_at_deaths(void **state)
{
    (void)state;
    int differ = 0;
    for (int st = 0; st < N_STATES; st++)
        for (int ev = 0; ev < BERTH_SV_EV_COUNT; ev++) {
            berth_sv_transition_t r = berth_supervisor_transition(
                BERTH_SV_RESTART, (berth_sv_state_t)st, (berth_sv_event_t)ev);
            berth_sv_transition_t o = berth_supervisor_transition(
                BERTH_SV_ONCE, (berth_sv_state_t)st, (berth_sv_event_t)ev);
            if (r.next == o.next && r.action == o.action)
                continue;
            differ++;
            int death = (st == BERTH_SV_STARTING &&
                         ev == BERTH_SV_EV_START_FAILED) ||
                        (st == BERTH_SV_READY && ev == BERTH_SV_EV_EXITED);
            if (death) {
                assert_int_equal(r.next, BERTH_SV_BACKOFF);
                assert_int_equal(o.next, BERTH_SV_FAILED);
            } else {
                assert_int_equal(st, BERTH_SV_BACKOFF);
                assert_int_equal(ev, BERTH_SV_EV_BACKOFF_OVER);
                assert_int_equal(o.action, BERTH_SV_ACT_INVALID);
            }
        }
    assert_int_equal(differ, 3);
    /* and no cell of the once table leads to BACKOFF */
    for (int st = 0; st < N_STATES; st++)
        for (int ev = 0; ev < BERTH_SV_EV_COUNT; ev++)
            if (st != BERTH_SV_BACKOFF)
                assert_int_not_equal(
                    berth_supervisor_transition(BERTH_SV_ONCE,
                                                (berth_sv_state_t)st,
                                                (berth_sv_event_t)ev)
                        .next,
                    BERTH_SV_BACKOFF);
}

/* A stop is served in every state, and always ends in STOPPED. */
static void test_stop_always_stops(void **state)
{
    (void)state;
    for (int m = BERTH_SV_ONCE; m <= BERTH_SV_RESTART; m++)
        for (int st = 0; st < N_STATES; st++) {
            berth_sv_transition_t t = berth_supervisor_transition(
                (berth_sv_mode_t)m, (berth_sv_state_t)st, BERTH_SV_EV_STOP);
            assert_int_equal(t.next, BERTH_SV_STOPPED);
            assert_int_not_equal(t.action, BERTH_SV_ACT_INVALID);
        }
}

static void test_out_of_range_is_invalid(void **state)
{
    (void)state;
    berth_sv_transition_t t = berth_supervisor_transition(
        BERTH_SV_RESTART, BERTH_SV_READY, BERTH_SV_EV_COUNT);
    assert_int_equal(t.action, BERTH_SV_ACT_INVALID);
    assert_int_equal(t.next, BERTH_SV_READY);
    t = berth_supervisor_transition(BERTH_SV_ONCE, (berth_sv_state_t)7,
                                    BERTH_SV_EV_STOP);
    assert_int_equal(t.action, BERTH_SV_ACT_INVALID);
    assert_int_equal((int)t.next, 7);
}

/* Names: the states' are in user-visible status; every action and event
 * has its own, and every action but nop and invalid is used. */
static void test_names(void **state)
{
    (void)state;
    for (int st = 0; st < N_STATES; st++)
        assert_string_equal(berth_sv_state_name((berth_sv_state_t)st),
                            state_names[st]);
    assert_string_equal(berth_sv_state_name((berth_sv_state_t)N_STATES),
                        "?");
    for (int a = 0; a < BERTH_SV_ACT_COUNT; a++) {
        const char *n = berth_sv_action_name((berth_sv_action_t)a);
        assert_string_not_equal(n, "?");
        for (int b = 0; b < a; b++)
            assert_string_not_equal(n,
                                    berth_sv_action_name((berth_sv_action_t)b));
        if (a == BERTH_SV_ACT_NOP || a == BERTH_SV_ACT_INVALID)
            continue;
        int used = 0;
        for (int m = BERTH_SV_ONCE; m <= BERTH_SV_RESTART; m++)
            for (int st = 0; st < N_STATES; st++)
                for (int ev = 0; ev < BERTH_SV_EV_COUNT; ev++)
                    used += berth_supervisor_transition(
                                (berth_sv_mode_t)m, (berth_sv_state_t)st,
                                (berth_sv_event_t)ev)
                                .action == (berth_sv_action_t)a;
        if (!used)
            fail_msg("action %s is in no cell", n);
    }
    assert_string_equal(berth_sv_action_name(BERTH_SV_ACT_COUNT), "?");
    for (int e = 0; e < BERTH_SV_EV_COUNT; e++) {
        assert_string_not_equal(berth_sv_event_name((berth_sv_event_t)e),
                                "?");
        for (int f = 0; f < e; f++)
            assert_string_not_equal(berth_sv_event_name((berth_sv_event_t)e),
                                    berth_sv_event_name((berth_sv_event_t)f));
    }
    assert_string_equal(berth_sv_event_name(BERTH_SV_EV_COUNT), "?");
}

/* ---- backoff ------------------------------------------------------------- */

/* Doubling up to the maximum, from the initial delay (moved here from
 * upstream_test's test_backoff_doubles, which ran it with real failing
 * starts: 100 ms doubling to 400 ms). */
static void test_backoff_doubles(void **state)
{
    (void)state;
    const apr_interval_time_t want[] = { MSEC(100), MSEC(200), MSEC(400),
                                         MSEC(400), MSEC(400) };
    apr_interval_time_t b = 0;
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        b = berth_supervisor_next_backoff(b, 0, MSEC(100), MSEC(400),
                                          SEC(60));
        if (b != want[k])
            fail_msg("backoff %zu is %ld us, want %ld", k, (long)b,
                     (long)want[k]);
    }
    /* the defaults: 1 s doubling to 60 s */
    const long secs[] = { 1, 2, 4, 8, 16, 32, 60, 60 };
    b = 0;
    for (size_t k = 0; k < sizeof secs / sizeof secs[0]; k++) {
        b = berth_supervisor_next_backoff(b, SEC(1), SEC(1), SEC(60),
                                          SEC(60));
        assert_int_equal(b, SEC(secs[k]));
    }
    /* a maximum that is no power of two times the initial: capped */
    assert_int_equal(berth_supervisor_next_backoff(MSEC(300), 0, MSEC(100),
                                                   MSEC(500), SEC(60)),
                     MSEC(500));
}

/* A healthy run (HEALTHY_AFTER or longer) brings the delay back to the
 * initial one; a shorter run keeps doubling. */
static void test_backoff_resets_after_healthy_run(void **state)
{
    (void)state;
    assert_int_equal(berth_supervisor_next_backoff(SEC(32), SEC(60), SEC(1),
                                                   SEC(60), SEC(60)),
                     SEC(1));
    assert_int_equal(berth_supervisor_next_backoff(SEC(32), SEC(3600),
                                                   SEC(1), SEC(60), SEC(60)),
                     SEC(1));
    assert_int_equal(berth_supervisor_next_backoff(SEC(32), SEC(60) - 1,
                                                   SEC(1), SEC(60), SEC(60)),
                     SEC(60));
    assert_int_equal(berth_supervisor_next_backoff(MSEC(200), MSEC(499),
                                                   MSEC(100), SEC(2),
                                                   MSEC(500)),
                     MSEC(400));
}

/* The daemon's life through the table with the delays it computes: four
 * failed starts (BACKOFF -> STARTING after each delay: 100, 200, 400,
 * 400 ms), a start that comes up, a healthy run, a death (back to 100 ms),
 * a stop while waiting. The supervisor's thread does the same: the action
 * of each cell, the delay from berth_supervisor_next_backoff. */
static void test_backoff_walk(void **state)
{
    (void)state;
    const apr_interval_time_t initial = MSEC(100), max = MSEC(400),
                              healthy = SEC(60);
    berth_sv_state_t st = BERTH_SV_STOPPED;
    apr_interval_time_t backoff = 0;
    unsigned restarts = 0, deaths = 0;
    const apr_interval_time_t want[] = { MSEC(100), MSEC(200), MSEC(400),
                                         MSEC(400) };
#define STEP(ev, act)                                                        \
    do {                                                                     \
        berth_sv_transition_t t_ =                                           \
            berth_supervisor_transition(BERTH_SV_RESTART, st, ev);           \
        assert_string_equal(berth_sv_action_name(t_.action),                 \
                            berth_sv_action_name(act));                      \
        st = t_.next;                                                        \
    } while (0)
    STEP(BERTH_SV_EV_START, BERTH_SV_ACT_SPAWN);
    for (unsigned k = 0; k < 4; k++) {
        assert_int_equal(st, BERTH_SV_STARTING);
        STEP(BERTH_SV_EV_START_FAILED, BERTH_SV_ACT_START_FAILED);
        deaths++;
        backoff = berth_supervisor_next_backoff(backoff, 0, initial, max,
                                                healthy);
        assert_int_equal(st, BERTH_SV_BACKOFF);
        assert_int_equal(backoff, want[k]);
        assert_int_equal(restarts, k);
        /* while waiting, nothing but the timer and a stop means anything */
        for (int ev = 0; ev < BERTH_SV_EV_COUNT; ev++) {
            berth_sv_transition_t t = berth_supervisor_transition(
                BERTH_SV_RESTART, st, (berth_sv_event_t)ev);
            if (ev != BERTH_SV_EV_BACKOFF_OVER && ev != BERTH_SV_EV_STOP)
                assert_int_equal(t.action, BERTH_SV_ACT_INVALID);
        }
        STEP(BERTH_SV_EV_BACKOFF_OVER, BERTH_SV_ACT_RESPAWN);
        restarts++;
        assert_int_equal(st, BERTH_SV_STARTING);
    }
    assert_int_equal(deaths, 4);
    STEP(BERTH_SV_EV_UP, BERTH_SV_ACT_UP);
    assert_int_equal(st, BERTH_SV_READY);
    STEP(BERTH_SV_EV_EXITED, BERTH_SV_ACT_DIED);
    backoff = berth_supervisor_next_backoff(backoff, healthy, initial, max,
                                            healthy);
    assert_int_equal(st, BERTH_SV_BACKOFF);
    assert_int_equal(backoff, initial);
    STEP(BERTH_SV_EV_STOP, BERTH_SV_ACT_HALT);
    assert_int_equal(st, BERTH_SV_STOPPED);
    assert_int_equal(restarts, 4);
#undef STEP
}

/* Without restarts the same failed start is final, and a stop ends it. */
static void test_once_walk(void **state)
{
    (void)state;
    berth_sv_transition_t t = berth_supervisor_transition(
        BERTH_SV_ONCE, BERTH_SV_STOPPED, BERTH_SV_EV_START);
    assert_int_equal(t.next, BERTH_SV_STARTING);
    t = berth_supervisor_transition(BERTH_SV_ONCE, t.next,
                                    BERTH_SV_EV_START_FAILED);
    assert_int_equal(t.action, BERTH_SV_ACT_START_FAILED_FINAL);
    assert_int_equal(t.next, BERTH_SV_FAILED);
    t = berth_supervisor_transition(BERTH_SV_ONCE, t.next,
                                    BERTH_SV_EV_BACKOFF_OVER);
    assert_int_equal(t.action, BERTH_SV_ACT_INVALID);
    assert_int_equal(t.next, BERTH_SV_FAILED);
    t = berth_supervisor_transition(BERTH_SV_ONCE, t.next, BERTH_SV_EV_STOP);
    assert_int_equal(t.action, BERTH_SV_ACT_HALT);
    assert_int_equal(t.next, BERTH_SV_STOPPED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_table),
        cmocka_unit_test(test_once_table),
        cmocka_unit_test(test_modes_differ_only_at_deaths),
        cmocka_unit_test(test_stop_always_stops),
        cmocka_unit_test(test_out_of_range_is_invalid),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_backoff_doubles),
        cmocka_unit_test(test_backoff_resets_after_healthy_run),
        cmocka_unit_test(test_backoff_walk),
        cmocka_unit_test(test_once_walk),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
