/* The supervisor's life cycle as data (s6's state x event table is the
 * model): one cell per state and event, the names of states, events and
 * actions, and the backoff rule. Pure: the unit tests check every cell
 * without a supervisor; supervisor.c runs the cells. */
#include "supervisor.h"

static const char *const state_names[] = { "stopped", "starting", "ready",
                                           "backoff", "failed" };

const char *berth_sv_state_name(berth_sv_state_t state)
{
    return (unsigned)state < 5 ? state_names[state] : "?";
}

apr_interval_time_t berth_supervisor_next_backoff(
    apr_interval_time_t current, apr_interval_time_t ran,
    apr_interval_time_t initial, apr_interval_time_t max,
    apr_interval_time_t healthy_after)
{
    if (current <= 0 || ran >= healthy_after)
        return initial;
    return current * 2 > max ? max : current * 2;
}

static const char *const action_names[BERTH_SV_ACT_COUNT] = {
    "nop", "invalid", "spawn", "respawn", "up", "start_failed",
    "start_failed_final", "died", "died_final", "abandon", "shutdown", "halt",
};

static const char *const event_names[BERTH_SV_EV_COUNT] = {
    "start", "up", "start_failed", "exited", "backoff_over", "stop",
};

const char *berth_sv_action_name(berth_sv_action_t action)
{
    return (unsigned)action < BERTH_SV_ACT_COUNT ? action_names[action] : "?";
}

const char *berth_sv_event_name(berth_sv_event_t event)
{
    return (unsigned)event < BERTH_SV_EV_COUNT ? event_names[event] : "?";
}

/* ---- the state x event tables ------------------------------------------
 * One cell per state and event, in the order of berth_sv_event_t: START,
 * UP, START_FAILED, EXITED, BACKOFF_OVER, STOP. NOP and INVALID keep the
 * state. */

#define GO(next, act) { BERTH_SV_##next, BERTH_SV_ACT_##act }
#define NOP(state) { BERTH_SV_##state, BERTH_SV_ACT_NOP }
#define BAD(state) { BERTH_SV_##state, BERTH_SV_ACT_INVALID }

/* The daemon's servers (opts.restart 1): a death waits out a backoff. */
static const berth_sv_transition_t restart_table[5][BERTH_SV_EV_COUNT] = {
    [BERTH_SV_STOPPED] = {
        GO(STARTING, SPAWN), BAD(STOPPED), BAD(STOPPED),
        BAD(STOPPED), BAD(STOPPED), NOP(STOPPED) },
    [BERTH_SV_STARTING] = {
        BAD(STARTING), GO(READY, UP), GO(BACKOFF, START_FAILED),
        BAD(STARTING), BAD(STARTING), GO(STOPPED, ABANDON) },
    [BERTH_SV_READY] = {
        BAD(READY), BAD(READY), BAD(READY),
        GO(BACKOFF, DIED), BAD(READY), GO(STOPPED, SHUTDOWN) },
    [BERTH_SV_BACKOFF] = {
        BAD(BACKOFF), BAD(BACKOFF), BAD(BACKOFF),
        BAD(BACKOFF), GO(STARTING, RESPAWN), GO(STOPPED, HALT) },
    [BERTH_SV_FAILED] = {
        BAD(FAILED), BAD(FAILED), BAD(FAILED),
        BAD(FAILED), BAD(FAILED), GO(STOPPED, HALT) },
};

/* A one-shot command's servers (opts.restart 0): a death is final. Three
 * cells differ from the daemon's: both deaths go to FAILED, and BACKOFF,
 * which cannot be reached, has no timer. */
static const berth_sv_transition_t once_table[5][BERTH_SV_EV_COUNT] = {
    [BERTH_SV_STOPPED] = {
        GO(STARTING, SPAWN), BAD(STOPPED), BAD(STOPPED),
        BAD(STOPPED), BAD(STOPPED), NOP(STOPPED) },
    [BERTH_SV_STARTING] = {
        BAD(STARTING), GO(READY, UP), GO(FAILED, START_FAILED_FINAL),
        BAD(STARTING), BAD(STARTING), GO(STOPPED, ABANDON) },
    [BERTH_SV_READY] = {
        BAD(READY), BAD(READY), BAD(READY),
        GO(FAILED, DIED_FINAL), BAD(READY), GO(STOPPED, SHUTDOWN) },
    [BERTH_SV_BACKOFF] = {
        BAD(BACKOFF), BAD(BACKOFF), BAD(BACKOFF),
        BAD(BACKOFF), BAD(BACKOFF), GO(STOPPED, HALT) },
    [BERTH_SV_FAILED] = {
        BAD(FAILED), BAD(FAILED), BAD(FAILED),
        BAD(FAILED), BAD(FAILED), GO(STOPPED, HALT) },
};

#undef GO
#undef NOP
#undef BAD

berth_sv_transition_t berth_supervisor_transition(berth_sv_mode_t mode,
                                                  berth_sv_state_t state,
                                                  berth_sv_event_t event)
{
    if ((unsigned)state >= 5 || (unsigned)event >= BERTH_SV_EV_COUNT) {
        berth_sv_transition_t bad = { state, BERTH_SV_ACT_INVALID };
        return bad;
    }
    return mode == BERTH_SV_RESTART ? restart_table[state][event]
                                    : once_table[state][event];
}

