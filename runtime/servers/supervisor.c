#include "supervisor.h"

#include <string.h>

#include <apr_file_info.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "container.h"
#include "groups.h"
#include "jsonrpc.h"
#include "log.h"
#include "platform.h"
#include "process.h"
#include "redact.h"
#include "wait.h"

/* One start of the server: its process and session. There is at most one
 * at a time; its callbacks (whose baton it is) run on its session's
 * threads, which end before it is freed. */
typedef struct {
    berth_supervisor_t *s;
    apr_pool_t *pool;
    berth_process_t *proc;
    berth_upstream_t *up;
    berth_container_t *ctr;  /* the container of a docker run, or NULL */
    const char *not_found;   /* the plan's: folders searched in vain */
    const char *shell;       /* the login shell that runs it then */
    int holds;
    int initialized;         /* its handshake succeeded */
    int exited;              /* its output closed */
    int stopping;            /* asked to stop: its end is no error */
    apr_time_t ready_at;
} instance_t;

struct berth_supervisor_t {
    apr_pool_t *pool;
    berth_spawnctx_t *ctx;
    const berth_config_t *cfg;
    const berth_server_config_t *srv;
    berth_supervisor_opts_t opts;
    berth_logfile_t *log;

    apr_thread_mutex_t *lock;
    apr_thread_cond_t *cv;        /* state changes and events */
    apr_thread_cond_t *released;  /* an instance's last hold came back */
    apr_thread_t *thread;
    apr_thread_t *sweeper;   /* removes this server's stale containers */
    apr_pool_t *sweep_pool;
    berth_sv_state_t state;
    instance_t *inst;
    unsigned events;         /* pending: 1 << UP, START_FAILED, EXITED */
    int stop_requested;      /* the STOP event, which holds until served */
    int timer_armed;         /* BACKOFF_OVER comes at backoff_until */
    unsigned attempts;       /* start attempts finished */
    unsigned attempts_base;  /* attempts when the thread last started: a
                                wait for readiness counts only later ones */
    int awaited;             /* in the start berth_supervisor_start began
                                (not a restart after an exit): requests may
                                wait for it (berth_supervisor_await_start) */
    apr_time_t start_began;  /* when that start began */
    unsigned restarts;
    unsigned restarts_requested; /* of those, asked for (restart()) */
    int last_exit;
    char last_error[2048];
    char start_error[1024];  /* why the handshake failed */
    apr_time_t deaths[32];
    unsigned death_count;
    apr_interval_time_t backoff;
    apr_time_t backoff_until;
};

/* The error is what berth status and berth call show: cleaned as a log
 * line is, since it is one too. */
static void set_error(berth_supervisor_t *s, const char *text)
{
    apr_cpystrn(s->last_error, text ? text : "", sizeof s->last_error);
    berth_redact_log_line(s->last_error, sizeof s->last_error);
}

/* Makes EV pending and wakes the supervisor's thread (lock held). */
static void post(berth_supervisor_t *s, berth_sv_event_t ev)
{
    s->events |= 1u << ev;
    apr_thread_cond_broadcast(s->cv);
}

static apr_interval_time_t grace_of(const berth_supervisor_t *s)
{
    return (apr_interval_time_t)(s->srv->timeouts.shutdown *
                                 APR_USEC_PER_SEC);
}

/* ---- instances ------------------------------------------------------- */

static void on_closed(void *baton, berth_upstream_t *u, const char *why)
{
    instance_t *inst = baton;
    berth_supervisor_t *s = inst->s;
    apr_thread_mutex_lock(s->lock);
    inst->exited = 1;
    /* a server that ends because it was asked to did not fail */
    if (!inst->stopping)
        set_error(s, why);
    /* before its handshake ended, that end is the event (it fails now: its
     * calls fail with the session) */
    if (inst->initialized)
        post(s, BERTH_SV_EV_EXITED);
    apr_thread_mutex_unlock(s->lock);
    if (s->opts.cb.on_closed)
        s->opts.cb.on_closed(s->opts.cb.closed_baton ? s->opts.cb.closed_baton
                                                     : s->opts.cb.baton,
                             u, why);
}

/* The handshake's end, on its own thread. */
static void on_initialized(void *baton, berth_upstream_t *u, apr_status_t rv,
                           const char *error)
{
    instance_t *inst = baton;
    berth_supervisor_t *s = inst->s;
    (void)u;
    apr_thread_mutex_lock(s->lock);
    if (rv == APR_SUCCESS) {
        inst->initialized = 1;
        post(s, BERTH_SV_EV_UP);
        /* it died while its lists were read: READY, then EXITED */
        if (inst->exited)
            post(s, BERTH_SV_EV_EXITED);
    } else {
        apr_cpystrn(s->start_error, error ? error : "initialize failed",
                    sizeof s->start_error);
        post(s, BERTH_SV_EV_START_FAILED);
    }
    apr_thread_mutex_unlock(s->lock);
}

/* Waits for every hold on INST to be released, then frees it (the pool's
 * cleanup kills whatever is left of the process tree). Its events still
 * pending go with it: its session's threads, which post them, have ended.
 * Lock not held. */
static void destroy_instance(berth_supervisor_t *s, instance_t *inst,
                             const char *why)
{
    if (inst->up)
        berth_upstream_close(inst->up, why);
    apr_thread_mutex_lock(s->lock);
    while (inst->holds > 0)
        apr_thread_cond_wait(s->released, s->lock);
    if (s->inst == inst)
        s->inst = NULL;
    s->events = 0;
    apr_thread_mutex_unlock(s->lock);
    apr_pool_destroy(inst->pool);
}

/* Ends INST's process tree now: SIGTERM to the group, SIGKILL after the
 * server's shutdown grace. In a container the signals come from docker
 * (stop -t <grace>: SIGTERM, wait, SIGKILL inside): a signal to the docker
 * client would end the client and leave the container running. Returns the
 * exit status (-1 unknown). */
static int terminate(berth_supervisor_t *s, instance_t *inst)
{
    int code = -1;
    if (inst->ctr) {
        berth_container_stop(inst->ctr,
                             (int)(s->srv->timeouts.shutdown + 0.999));
        /* the client ends with its container; one that does not is killed
         * with its group by the caller like any other process */
        berth_process_wait(inst->proc, apr_time_from_sec(5), &code);
        return code;
    }
    berth_process_terminate(inst->proc);
    if (berth_process_wait(inst->proc, grace_of(s), &code) == APR_TIMEUP) {
        berth_log(BERTH_LOG_WARN, "server %s ignored SIGTERM for %g s; "
                  "killing it", s->srv->name, s->srv->timeouts.shutdown);
        berth_process_kill_tree(inst->proc);
        berth_process_wait(inst->proc, -1, &code);
    }
    return code;
}

/* What is left once the process ended: a container the docker client did
 * not take with it (--rm removes the container, any other is removed here)
 * and the children the server left in its group. */
static void reap_rest(instance_t *inst, int client_ended)
{
    if (inst->ctr && client_ended)
        berth_container_release(inst->ctr, 0);
    berth_process_kill_tree(inst->proc);
}

/* The MCP stdio shutdown of a ready server: close stdin, wait up to the
 * shutdown grace for it to exit, then terminate(). Returns the exit
 * status (-1 unknown). */
static int shutdown_process(berth_supervisor_t *s, instance_t *inst)
{
    int code = -1;
    if (inst->up)
        berth_upstream_close_input(inst->up);
    int ended = berth_process_wait(inst->proc, grace_of(s), &code) !=
                APR_TIMEUP;
    if (!ended) {
        berth_log(BERTH_LOG_INFO, "server %s did not exit within %g s of "
                  "its stdin closing; %s", s->srv->name,
                  s->srv->timeouts.shutdown,
                  inst->ctr ? "stopping its container" : "sending SIGTERM");
        code = terminate(s, inst);
    }
    reap_rest(inst, ended);
    return code;
}

/* A server that never finished initialize has no session to wind down:
 * its stdin closed and terminate() at once, without the grace a ready
 * server gets to exit by itself. Returns the exit status (-1 unknown). */
static int end_unready(berth_supervisor_t *s, instance_t *inst)
{
    int code = -1;
    if (inst->up)
        berth_upstream_close_input(inst->up);
    int ended = berth_process_wait(inst->proc, 0, &code) != APR_TIMEUP;
    if (!ended)
        code = terminate(s, inst);
    reap_rest(inst, ended);
    return code;
}

static void *APR_THREAD_FUNC sweep_run(apr_thread_t *thread, void *arg)
{
    berth_supervisor_t *s = arg;
    int removed = 0;
    const char *err;
    if (berth_container_sweep(s->ctx, s->cfg, s->srv->name, &removed, &err,
                              s->sweep_pool) != APR_SUCCESS)
        berth_log(BERTH_LOG_WARN, "server %s: could not look for stale "
                  "containers: %s", s->srv->name, err);
    else if (removed)
        berth_log(BERTH_LOG_INFO, "server %s: removed %d stale container%s",
                  s->srv->name, removed, removed == 1 ? "" : "s");
    (void)thread;
    return NULL;
}

/* Joins the last sweep, if one ran. Supervisor thread or after it. */
static void join_sweep(berth_supervisor_t *s)
{
    apr_status_t ts;
    if (s->sweeper) {
        apr_thread_join(&ts, s->sweeper);
        s->sweeper = NULL;
        apr_pool_destroy(s->sweep_pool);
        s->sweep_pool = NULL;
    }
}

static void start_sweep(berth_supervisor_t *s)
{
    join_sweep(s);
    apr_pool_create(&s->sweep_pool, s->pool);
    if (apr_thread_create(&s->sweeper, NULL, sweep_run, s, s->sweep_pool) !=
        APR_SUCCESS) {
        s->sweeper = NULL;
        apr_pool_destroy(s->sweep_pool);
        s->sweep_pool = NULL;
    }
}

/* ---- starting -------------------------------------------------------- */

/* The start failed for WHY: the event, with the reason. Lock not held. */
static void start_failed(berth_supervisor_t *s, const char *why)
{
    apr_thread_mutex_lock(s->lock);
    set_error(s, why);
    post(s, BERTH_SV_EV_START_FAILED);
    apr_thread_mutex_unlock(s->lock);
}

/* A docker run's container: its cidfile's folder, and the sweep of this
 * server's stale containers from a dead berth while it starts (they never
 * carry this berth's instance label). */
static void prepare_container(berth_supervisor_t *s, instance_t *inst,
                              const berth_plan_t *plan)
{
    apr_dir_make_recursive(berth_path_dirname(plan->cidfile, inst->pool),
                           APR_FPROT_UREAD | APR_FPROT_UWRITE |
                               APR_FPROT_UEXECUTE,
                           inst->pool);
    inst->ctr = berth_container_for_plan(s->ctx, s->cfg, plan, inst->pool);
    if (s->attempts > 0 || s->opts.sweep_first)
        start_sweep(s);
}

/* A new instance running the server's plan, or NULL after start_failed. */
static instance_t *spawn_instance(berth_supervisor_t *s)
{
    apr_pool_t *pool;
    berth_plan_t *plan;
    const char *err;
    apr_pool_create(&pool, s->pool);
    instance_t *inst = apr_pcalloc(pool, sizeof *inst);
    inst->s = s;
    inst->pool = pool;
    if (berth_spawnctx_plan(s->ctx, s->cfg, s->srv,
                            berth_spawnctx_token(pool), &plan, &err,
                            pool) != APR_SUCCESS) {
        start_failed(s, err);
        apr_pool_destroy(pool);
        return NULL;
    }
    inst->not_found = plan->not_found;
    inst->shell = plan->shell;
    if (plan->cidfile)
        prepare_container(s, inst, plan);
    berth_process_spec_t spec = { plan->program, plan->argv,
                                  plan->command_line, plan->env, plan->cwd };
    /* made first, so that its record goes after the tree has ended */
    berth_group_t *group = berth_group_new(s->ctx, s->srv->name, pool);
    if (berth_process_spawn(&inst->proc, &spec, &err, pool) != APR_SUCCESS) {
        start_failed(s, apr_psprintf(pool, "server %s: %s", s->srv->name,
                                     err));
        apr_pool_destroy(pool);
        return NULL;
    }
    berth_group_record(group, berth_process_pid(inst->proc));
    return inst;
}

/* INST's session and the start of its handshake, whose end comes back as
 * an event (on_initialized). NULL, or why it could not begin. */
static const char *open_session(berth_supervisor_t *s, instance_t *inst)
{
    berth_upstream_t *up;
    /* on_closed reaches the supervisor first; it calls the user's */
    berth_upstream_callbacks_t cb = s->opts.cb;
    cb.on_closed = on_closed;
    cb.closed_baton = inst;
    apr_size_t max = s->opts.max_message ? s->opts.max_message
                                         : (apr_size_t)s->srv->max_message;
    if (berth_upstream_start(&up, s->srv->name, inst->proc, s->log, &cb, max,
                             inst->pool) !=
        APR_SUCCESS)
        return "could not start the session threads";
    inst->up = up;
    berth_upstream_set_call_timeout(
        up, (apr_interval_time_t)(s->srv->timeouts.call * APR_USEC_PER_SEC));
    berth_log(BERTH_LOG_INFO, "server %s started (pid %ld)", s->srv->name,
              berth_process_pid(inst->proc));
    if (berth_upstream_initialize_start(
            up,
            (apr_interval_time_t)(s->srv->timeouts.initialize *
                                  APR_USEC_PER_SEC),
            on_initialized, inst) != APR_SUCCESS)
        return "could not start the initialize handshake";
    return NULL;
}

static void log_ready(berth_supervisor_t *s, instance_t *inst)
{
    const char *proto = berth_upstream_protocol(inst->up);
    if (!inst->ctr) {
        berth_log(BERTH_LOG_INFO, "server %s ready (MCP %s)", s->srv->name,
                  proto);
        return;
    }
    /* the container runs, so docker wrote its id by now */
    const char *cid = berth_container_id(inst->ctr);
    const char *name = berth_container_name(inst->ctr);
    berth_log(BERTH_LOG_INFO, "server %s ready (MCP %s) in container "
              "%s%s%.12s%s", s->srv->name, proto, name ? name : "",
              name ? " (" : "", cid ? cid : "id unknown", name ? ")" : "");
}

/* The reason a handshake failed, with the server's last stderr lines (or
 * the command the login shell did not find either), in last_error; INST,
 * whose process ended with CODE, is freed. */
static void explain_failed_handshake(berth_supervisor_t *s, instance_t *inst,
                                     int code)
{
    apr_pool_t *scratch;
    apr_pool_create(&scratch, s->pool);
    const char *not_found =
        inst->not_found ? apr_pstrdup(scratch, inst->not_found) : NULL;
    const char *shell = inst->shell ? apr_pstrdup(scratch, inst->shell)
                                    : NULL;
    /* the process gone and its stderr read to the end, then the tail */
    destroy_instance(s, inst, "initialize failed");
    const char *tail = berth_logfile_tail(s->log, 5, scratch);
    const char *msg = apr_psprintf(
        scratch, "server %s failed to initialize: %s%s%s", s->srv->name,
        s->start_error, *tail ? "; its last stderr lines:\n" : "", tail);
    if (not_found && code == 127)
        /* the login shell did not find it either */
        msg = apr_psprintf(scratch, "server %s: command not found: %s "
                           "(searched: %s; and %s -l did not find it)",
                           s->srv->name, s->srv->command, not_found, shell);
    apr_thread_mutex_lock(s->lock);
    set_error(s, msg);
    apr_thread_mutex_unlock(s->lock);
    apr_pool_destroy(scratch);
}

/* A start that failed: its process ended at once (it never finished
 * initialize), the reason in last_error, logged at LEVEL. */
static void end_failed_start(berth_supervisor_t *s, berth_log_level_t level)
{
    instance_t *inst = s->inst;
    if (inst) {
        int code = end_unready(s, inst);
        apr_thread_mutex_lock(s->lock);
        s->last_exit = code;
        apr_thread_mutex_unlock(s->lock);
        if (*s->start_error)
            explain_failed_handshake(s, inst, code);
        else
            destroy_instance(s, inst, "start failed");
    }
    berth_log(level, "%s", s->last_error);
}

/* A ready server died: reaped (one that closed its output but runs on gets
 * the MCP shutdown), with what it left behind. Returns how long it had been
 * ready. */
static apr_interval_time_t reap_dead(berth_supervisor_t *s)
{
    instance_t *inst = s->inst;
    int code = -1;
    if (!inst)
        return 0;
    apr_interval_time_t ran = berth_platform_clock() - inst->ready_at;
    if (berth_process_wait(inst->proc, apr_time_from_sec(1), &code) ==
        APR_TIMEUP)
        code = shutdown_process(s, inst);
    berth_process_kill_tree(inst->proc);
    /* the docker client may have died without its container */
    if (inst->ctr)
        berth_container_release(inst->ctr, 1);
    apr_thread_mutex_lock(s->lock);
    s->last_exit = code;
    apr_thread_mutex_unlock(s->lock);
    destroy_instance(s, inst, s->last_error);
    berth_log(BERTH_LOG_WARN, "%s", s->last_error);
    return ran;
}

/* Counts a death of an instance that had been ready for RAN, and picks
 * the next delay (lock held). */
static void count_death(berth_supervisor_t *s, apr_interval_time_t ran)
{
    s->deaths[s->death_count++ % 32] = berth_platform_clock();
    s->backoff = berth_supervisor_next_backoff(
        s->backoff, ran, s->opts.backoff_initial, s->opts.backoff_max,
        s->opts.healthy_after);
    s->backoff_until = berth_platform_clock() + s->backoff;
}

/* Arms the timer whose end is BACKOFF_OVER (lock held). */
static void restart_later(berth_supervisor_t *s)
{
    s->timer_armed = 1;
    berth_log(BERTH_LOG_INFO, "server %s restarts in %g s", s->srv->name,
              (double)s->backoff / APR_USEC_PER_SEC);
}

/* ---- the actions -------------------------------------------------------
 * Each runs on the supervisor's thread without the lock and returns with
 * it held, so that its last changes (counters, timer, instance) and the new
 * state are seen together. None waits inside a start: the handshake runs on
 * a thread of its own and ends as an event, so a stop meanwhile is served
 * at once. The waits left end a process, bounded by its shutdown grace. */

static void act_spawn(berth_supervisor_t *s)
{
    /* this start's stderr explains this start's failure, no older one */
    berth_logfile_clear_tail(s->log);
    apr_thread_mutex_lock(s->lock);
    s->start_error[0] = '\0';
    apr_thread_mutex_unlock(s->lock);
    instance_t *inst = spawn_instance(s);
    const char *why = inst ? open_session(s, inst) : NULL;
    if (why)
        start_failed(s, why);
    /* published with the new state: status never shows a process while
     * the state is still stopped or backoff */
    apr_thread_mutex_lock(s->lock);
    s->inst = inst;
}

static void act_respawn(berth_supervisor_t *s)
{
    act_spawn(s);
    s->restarts++;
}

static void act_up(berth_supervisor_t *s)
{
    log_ready(s, s->inst);
    apr_thread_mutex_lock(s->lock);
    s->inst->ready_at = berth_platform_clock();
    s->attempts++;
}

static void act_start_failed(berth_supervisor_t *s)
{
    end_failed_start(s, BERTH_LOG_ERROR);
    apr_thread_mutex_lock(s->lock);
    s->attempts++;
    count_death(s, 0);
    restart_later(s);
}

/* A one-shot command reports the failure itself. */
static void act_start_failed_final(berth_supervisor_t *s)
{
    end_failed_start(s, BERTH_LOG_DEBUG);
    apr_thread_mutex_lock(s->lock);
    s->attempts++;
    count_death(s, 0);
}

static void act_died(berth_supervisor_t *s)
{
    apr_interval_time_t ran = reap_dead(s);
    apr_thread_mutex_lock(s->lock);
    count_death(s, ran);
    restart_later(s);
}

static void act_died_final(berth_supervisor_t *s)
{
    apr_interval_time_t ran = reap_dead(s);
    apr_thread_mutex_lock(s->lock);
    count_death(s, ran);
}

/* INST ends because it was asked to: what its session says of that end
 * (it exited with status 0, it was stopped) is not its last error. */
static void mark_stopping(berth_supervisor_t *s, instance_t *inst)
{
    apr_thread_mutex_lock(s->lock);
    inst->stopping = 1;
    apr_thread_mutex_unlock(s->lock);
}

/* The start is given up: the handshake's calls fail at once and the
 * process ends at once (end_unready). */
static void act_abandon(berth_supervisor_t *s)
{
    instance_t *inst = s->inst;
    if (!inst) {
        /* its spawn failed: nothing runs */
        apr_thread_mutex_lock(s->lock);
        return;
    }
    mark_stopping(s, inst);
    const char *why = apr_psprintf(inst->pool, "server %s was stopped while "
                                   "starting", s->srv->name);
    if (inst->up)
        berth_upstream_abandon(inst->up, why);
    int code = end_unready(s, inst);
    destroy_instance(s, inst, why);
    berth_log(BERTH_LOG_INFO, "server %s stopped while starting (status %d)",
              s->srv->name, code);
    apr_thread_mutex_lock(s->lock);
}

static void act_shutdown(berth_supervisor_t *s)
{
    instance_t *inst = s->inst;
    mark_stopping(s, inst);
    int code = shutdown_process(s, inst);
    destroy_instance(s, inst, apr_psprintf(inst->pool, "server %s was "
                                                         "stopped",
                                           s->srv->name));
    berth_log(BERTH_LOG_INFO, "server %s stopped (status %d)", s->srv->name,
              code);
    apr_thread_mutex_lock(s->lock);
}

/* Nothing runs (backoff, failed): only the timer goes. */
static void act_halt(berth_supervisor_t *s)
{
    apr_thread_mutex_lock(s->lock);
    s->timer_armed = 0;
}

typedef void (*action_fn)(berth_supervisor_t *s);

static const action_fn actions[BERTH_SV_ACT_COUNT] = {
    [BERTH_SV_ACT_NOP] = NULL,
    [BERTH_SV_ACT_INVALID] = NULL,
    [BERTH_SV_ACT_SPAWN] = act_spawn,
    [BERTH_SV_ACT_RESPAWN] = act_respawn,
    [BERTH_SV_ACT_UP] = act_up,
    [BERTH_SV_ACT_START_FAILED] = act_start_failed,
    [BERTH_SV_ACT_START_FAILED_FINAL] = act_start_failed_final,
    [BERTH_SV_ACT_DIED] = act_died,
    [BERTH_SV_ACT_DIED_FINAL] = act_died_final,
    [BERTH_SV_ACT_ABANDON] = act_abandon,
    [BERTH_SV_ACT_SHUTDOWN] = act_shutdown,
    [BERTH_SV_ACT_HALT] = act_halt,
};

/* ---- the loop ------------------------------------------------------------ */

/* Waits for the next event (lock held). A stop comes first; a handshake's
 * end before the exit that may follow it. */
static berth_sv_event_t next_event(berth_supervisor_t *s)
{
    static const berth_sv_event_t order[] = {
        BERTH_SV_EV_UP, BERTH_SV_EV_START_FAILED, BERTH_SV_EV_EXITED };
    for (;;) {
        if (s->stop_requested)
            return BERTH_SV_EV_STOP;
        for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
            if (s->events & (1u << order[i])) {
                s->events &= ~(1u << order[i]);
                return order[i];
            }
        }
        if (!s->timer_armed) {
            apr_thread_cond_wait(s->cv, s->lock);
        } else if (!berth_wait_until(s->cv, s->lock, s->backoff_until)) {
            s->timer_armed = 0;
            return BERTH_SV_EV_BACKOFF_OVER;
        }
    }
}

/* Runs EV's cell. Called and returns with the lock held; the action runs
 * without it and takes it back. */
static void dispatch(berth_supervisor_t *s, berth_sv_event_t ev)
{
    berth_sv_transition_t t = berth_supervisor_transition(
        s->opts.restart ? BERTH_SV_RESTART : BERTH_SV_ONCE, s->state, ev);
    if (t.action == BERTH_SV_ACT_NOP) {
        berth_log(BERTH_LOG_DEBUG, "server %s: %s ignored when %s",
                  s->srv->name, berth_sv_event_name(ev),
                  berth_sv_state_name(s->state));
        return;
    }
    if (t.action == BERTH_SV_ACT_INVALID) {
        berth_log(BERTH_LOG_ERROR, "server %s: bug: event %s cannot happen "
                  "when %s; ignored", s->srv->name, berth_sv_event_name(ev),
                  berth_sv_state_name(s->state));
        return;
    }
    apr_thread_mutex_unlock(s->lock);
    actions[t.action](s);
    berth_log(BERTH_LOG_DEBUG, "server %s: %s -> %s (%s, %s)", s->srv->name,
              berth_sv_state_name(s->state), berth_sv_state_name(t.next),
              berth_sv_event_name(ev), berth_sv_action_name(t.action));
    int changed = s->state != t.next;
    s->state = t.next;
    /* the start that was asked for ended (ready, failed, stopped) */
    if (t.next != BERTH_SV_STARTING)
        s->awaited = 0;
    apr_thread_cond_broadcast(s->cv);
    if (changed && s->opts.on_state) {
        apr_thread_mutex_unlock(s->lock);
        s->opts.on_state(s->opts.state_baton, s, t.next);
        apr_thread_mutex_lock(s->lock);
    }
}

static void *APR_THREAD_FUNC run(apr_thread_t *thread, void *arg)
{
    berth_supervisor_t *s = arg;
    apr_thread_mutex_lock(s->lock);
    /* nothing of an earlier run counts; a stop asked for already does */
    s->events = 0;
    s->timer_armed = 0;
    dispatch(s, BERTH_SV_EV_START);
    while (s->state != BERTH_SV_STOPPED)
        dispatch(s, next_event(s));
    apr_thread_mutex_unlock(s->lock);
    join_sweep(s);
    /* return, not apr_thread_exit(): its pthread_exit unwinds past
     * AddressSanitizer\'s thread teardown (a false stack report) */
    (void)thread;
    return NULL;
}

/* ---- the API ------------------------------------------------------------ */

berth_supervisor_t *berth_supervisor_create(berth_spawnctx_t *ctx,
                                            const berth_config_t *cfg,
                                            const berth_server_config_t *srv,
                                            const berth_supervisor_opts_t *opts,
                                            apr_pool_t *pool)
{
    berth_supervisor_t *s = apr_pcalloc(pool, sizeof *s);
    apr_pool_create(&s->pool, pool);
    s->ctx = ctx;
    s->cfg = cfg;
    s->srv = srv;
    s->opts = *opts;
    if (!s->opts.backoff_initial)
        s->opts.backoff_initial = apr_time_from_sec(1);
    if (!s->opts.backoff_max)
        s->opts.backoff_max = apr_time_from_sec(60);
    if (!s->opts.healthy_after)
        s->opts.healthy_after = apr_time_from_sec(60);
    s->last_exit = -1;
    apr_thread_mutex_create(&s->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_cond_create(&s->cv, pool);
    apr_thread_cond_create(&s->released, pool);
    const char *path = NULL;
    if (opts->log_dir) {
        apr_dir_make_recursive(opts->log_dir, APR_FPROT_OS_DEFAULT, pool);
        path = apr_pstrcat(pool, opts->log_dir, "/", srv->norm_name, ".log",
                           NULL);
    }
    if (berth_logfile_open(&s->log, path, opts->log_max_size,
                           opts->log_max_files, pool) != APR_SUCCESS) {
        berth_log(BERTH_LOG_WARN, "server %s: cannot open its log file %s; "
                  "keeping only its last stderr lines", srv->name, path);
        berth_logfile_open(&s->log, NULL, 0, 0, pool);
    }
    return s;
}

apr_status_t berth_supervisor_start(berth_supervisor_t *s)
{
    apr_thread_mutex_lock(s->lock);
    s->attempts_base = s->attempts;
    s->awaited = 1;
    s->start_began = berth_platform_clock();
    apr_thread_mutex_unlock(s->lock);
    apr_status_t rv = apr_thread_create(&s->thread, NULL, run, s, s->pool);
    if (rv != APR_SUCCESS) {
        apr_thread_mutex_lock(s->lock);
        s->awaited = 0;
        apr_thread_cond_broadcast(s->cv);
        apr_thread_mutex_unlock(s->lock);
    }
    return rv;
}

int berth_supervisor_await_start(berth_supervisor_t *s,
                                 apr_interval_time_t patience,
                                 apr_time_t until)
{
    apr_thread_mutex_lock(s->lock);
    apr_time_t end = s->start_began + patience;
    int waited = s->awaited && berth_platform_clock() < end;
    while (waited && s->awaited &&
           berth_wait_until(s->cv, s->lock, end < until ? end : until))
        ;
    if (waited && s->awaited && berth_platform_clock() < end)
        waited = 2;
    apr_thread_mutex_unlock(s->lock);
    return waited;
}

apr_status_t berth_supervisor_wait_ready(berth_supervisor_t *s,
                                         apr_interval_time_t timeout,
                                         const char **error,
                                         apr_pool_t *pool)
{
    apr_time_t deadline = berth_platform_clock() + timeout;
    apr_status_t rv = APR_SUCCESS;
    *error = NULL;
    apr_thread_mutex_lock(s->lock);
    for (;;) {
        if (s->state == BERTH_SV_READY)
            break;
        if (s->attempts > s->attempts_base &&
            s->state != BERTH_SV_STARTING) {
            *error = apr_pstrdup(pool, s->last_error);
            rv = APR_EGENERAL;
            break;
        }
        if (!berth_wait_until(s->cv, s->lock, deadline)) {
            rv = APR_TIMEUP;
            break;
        }
    }
    apr_thread_mutex_unlock(s->lock);
    return rv;
}

berth_upstream_t *berth_supervisor_acquire(berth_supervisor_t *s,
                                           const char **why, apr_pool_t *pool)
{
    berth_upstream_t *u = NULL;
    apr_thread_mutex_lock(s->lock);
    if (s->state == BERTH_SV_READY && s->inst && !s->inst->exited) {
        s->inst->holds++;
        u = s->inst->up;
    } else if (why) {
        *why = apr_psprintf(pool, "server %s is not running (%s%s%s)",
                            s->srv->name, berth_sv_state_name(s->state),
                            *s->last_error ? ": " : "", s->last_error);
    }
    apr_thread_mutex_unlock(s->lock);
    return u;
}

void berth_supervisor_release(berth_supervisor_t *s, berth_upstream_t *u)
{
    (void)u;
    apr_thread_mutex_lock(s->lock);
    /* the hold is on the instance that was current when acquired; instances
     * are only destroyed after every hold is back. Only that wait needs a
     * wake-up: waking the supervisor thread on every call costs microseconds
     * per call. */
    if (s->inst && s->inst->holds > 0 && --s->inst->holds == 0)
        apr_thread_cond_broadcast(s->released);
    apr_thread_mutex_unlock(s->lock);
}

apr_status_t berth_supervisor_call(berth_supervisor_t *s, const char *method,
                                   json_t *params, json_t **result,
                                   json_t **error)
{
    apr_pool_t *scratch;
    const char *why = NULL;
    apr_pool_create(&scratch, NULL);
    berth_upstream_t *u = berth_supervisor_acquire(s, &why, scratch);
    if (!u) {
        json_decref(params);
        *result = NULL;
        *error = json_pack("{s:i, s:s}", "code", BERTH_RPC_SERVER_GONE,
                           "message", why);
        apr_pool_destroy(scratch);
        return APR_EGENERAL;
    }
    apr_status_t rv = berth_upstream_request(
        u, method, params,
        (apr_interval_time_t)(s->srv->timeouts.call * APR_USEC_PER_SEC),
        result, error);
    berth_supervisor_release(s, u);
    apr_pool_destroy(scratch);
    return rv;
}

void berth_supervisor_request_stop(berth_supervisor_t *s)
{
    apr_thread_mutex_lock(s->lock);
    s->stop_requested = 1;
    apr_thread_cond_broadcast(s->cv);
    apr_thread_mutex_unlock(s->lock);
}

void berth_supervisor_stop(berth_supervisor_t *s)
{
    apr_status_t ts;
    apr_thread_mutex_lock(s->lock);
    s->stop_requested = 1;
    apr_thread_cond_broadcast(s->cv);
    /* whoever stops first joins; a second stop (a signal during a stop)
     * waits for the state instead */
    apr_thread_t *t = s->thread;
    s->thread = NULL;
    while (!t && s->state != BERTH_SV_STOPPED)
        apr_thread_cond_timedwait(s->cv, s->lock, APR_USEC_PER_SEC / 10);
    apr_thread_mutex_unlock(s->lock);
    if (t)
        apr_thread_join(&ts, t);
}

void berth_supervisor_restart(berth_supervisor_t *s)
{
    berth_supervisor_stop(s);
    apr_thread_mutex_lock(s->lock);
    s->stop_requested = 0;
    s->backoff = 0;
    /* a restart like the ones after an exit, told apart in status */
    s->restarts++;
    s->restarts_requested++;
    apr_thread_mutex_unlock(s->lock);
    berth_log(BERTH_LOG_INFO, "server %s: restarting on request",
              s->srv->name);
    berth_supervisor_start(s);
}

const berth_server_config_t *berth_supervisor_config(berth_supervisor_t *s)
{
    return s->srv;
}

berth_supervisor_status_t berth_supervisor_status(berth_supervisor_t *s,
                                                  apr_pool_t *pool)
{
    berth_supervisor_status_t st;
    memset(&st, 0, sizeof st);
    apr_thread_mutex_lock(s->lock);
    st.name = s->srv->name;
    st.state = s->state;
    st.pid = s->inst && s->inst->proc ? berth_process_pid(s->inst->proc) : 0;
    berth_container_t *ctr = s->inst ? s->inst->ctr : NULL;
    st.restarts = s->restarts;
    st.restarts_requested = s->restarts_requested;
    apr_time_t now = berth_platform_clock();
    for (unsigned i = 0; i < 32 && i < s->death_count; i++)
        if (now - s->deaths[i] < apr_time_from_sec(600))
            st.deaths_recent++;
    st.last_exit = s->last_exit;
    st.last_error = *s->last_error ? apr_pstrdup(pool, s->last_error) : NULL;
    st.tools = -1;
    if (s->state == BERTH_SV_READY && s->inst && s->inst->up) {
        const char *p = berth_upstream_protocol(s->inst->up);
        st.protocol = p ? apr_pstrdup(pool, p) : NULL;
        json_t *tools = berth_upstream_list(s->inst->up, "tools");
        st.tools = (int)json_array_size(tools);
        json_decref(tools);
    }
    if (ctr) {
        /* the instance's pool lives while s->inst points at it */
        const char *n = berth_container_name(ctr);
        const char *id = berth_container_known_id(ctr);
        st.container_name = n ? apr_pstrdup(pool, n) : NULL;
        st.container_id = id ? apr_pstrndup(pool, id, 12) : NULL;
    }
    st.backoff = s->backoff;
    apr_thread_mutex_unlock(s->lock);
    return st;
}
