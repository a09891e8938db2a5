#include "supervisor.h"

#include <string.h>

#include <apr_file_info.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "container.h"
#include "jsonrpc.h"
#include "log.h"
#include "platform.h"
#include "process.h"
#include "wait.h"

typedef enum {
    EV_START,
    EV_UP,           /* initialize succeeded */
    EV_START_FAILED, /* spawn or initialize failed */
    EV_EXITED,       /* a ready server died */
    EV_BACKOFF_OVER,
    EV_STOP,
    EV_COUNT
} event_t;

typedef struct {
    apr_pool_t *pool;
    berth_process_t *proc;
    berth_upstream_t *up;
    berth_container_t *ctr;  /* the container of a docker run, or NULL */
    int holds;
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
    int stop_requested;
    int exited;              /* the ready instance's output closed */
    unsigned attempts;       /* start attempts finished */
    unsigned restarts;
    int last_exit;
    char last_error[2048];
    apr_time_t deaths[32];
    unsigned death_count;
    apr_interval_time_t backoff;
    apr_time_t backoff_until;
};

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

static void set_error(berth_supervisor_t *s, const char *text)
{
    apr_cpystrn(s->last_error, text ? text : "", sizeof s->last_error);
}

/* ---- instances ------------------------------------------------------- */

static void on_closed(void *baton, berth_upstream_t *u, const char *why)
{
    berth_supervisor_t *s = baton;
    apr_thread_mutex_lock(s->lock);
    if (s->inst && s->inst->up == u) {
        s->exited = 1;
        set_error(s, why);
        apr_thread_cond_broadcast(s->cv);
    }
    apr_thread_mutex_unlock(s->lock);
    if (s->opts.cb.on_closed)
        s->opts.cb.on_closed(s->opts.cb.closed_baton ? s->opts.cb.closed_baton
                                                     : s->opts.cb.baton,
                             u, why);
}

/* Waits for every hold on INST to be released, then frees it (the pool's
 * cleanup kills whatever is left of the process tree). Lock not held. */
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
    apr_thread_mutex_unlock(s->lock);
    apr_pool_destroy(inst->pool);
}

/* The MCP stdio shutdown: close stdin, wait, SIGTERM the group, wait,
 * SIGKILL. In a container the signals come from docker: stop -t <grace>
 * (SIGTERM, wait, SIGKILL inside), kill when that fails; a signal to the
 * docker client would end the client and leave the container running.
 * Returns the exit status (-1 unknown). */
static int shutdown_process(berth_supervisor_t *s, instance_t *inst)
{
    int code = -1;
    apr_interval_time_t grace = (apr_interval_time_t)(
        s->srv->timeouts.shutdown * APR_USEC_PER_SEC);
    if (inst->up)
        berth_upstream_close_input(inst->up);
    if (inst->ctr && berth_process_wait(inst->proc, grace, &code) ==
                         APR_TIMEUP) {
        berth_log(BERTH_LOG_INFO, "server %s did not exit within %g s of "
                  "its stdin closing; stopping its container",
                  s->srv->name, s->srv->timeouts.shutdown);
        int secs = (int)(s->srv->timeouts.shutdown + 0.999);
        berth_container_stop(inst->ctr, secs);
        /* the client ends with its container; one that does not is killed
         * below like any other process */
        berth_process_wait(inst->proc, apr_time_from_sec(5), &code);
    } else if (inst->ctr) {
        /* the client ended by itself: --rm removes the container, and any
         * other is removed here */
        berth_container_release(inst->ctr, 0);
    }
    if (!inst->ctr && berth_process_wait(inst->proc, grace, &code) ==
                          APR_TIMEUP) {
        berth_log(BERTH_LOG_INFO, "server %s did not exit within %g s of "
                  "its stdin closing; sending SIGTERM", s->srv->name,
                  s->srv->timeouts.shutdown);
        berth_process_terminate(inst->proc);
        if (berth_process_wait(inst->proc, grace, &code) == APR_TIMEUP) {
            berth_log(BERTH_LOG_WARN, "server %s ignored SIGTERM for %g s; "
                      "killing it", s->srv->name, s->srv->timeouts.shutdown);
            berth_process_kill_tree(inst->proc);
            berth_process_wait(inst->proc, -1, &code);
        }
    }
    /* its children, if it left any behind in its group */
    berth_process_kill_tree(inst->proc);
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

static int start_instance(berth_supervisor_t *s)
{
    apr_pool_t *pool;
    berth_plan_t *plan;
    const char *err;
    apr_pool_create(&pool, s->pool);
    instance_t *inst = apr_pcalloc(pool, sizeof *inst);
    inst->pool = pool;

    /* this start's stderr explains this start's failure, no older one */
    berth_logfile_clear_tail(s->log);
    if (berth_spawnctx_plan(s->ctx, s->cfg, s->srv,
                            berth_spawnctx_token(pool), &plan, &err,
                            pool) != APR_SUCCESS) {
        set_error(s, err);
        apr_pool_destroy(pool);
        return 0;
    }
    if (plan->cidfile) {
        apr_dir_make_recursive(berth_path_dirname(plan->cidfile, pool),
                               APR_FPROT_UREAD | APR_FPROT_UWRITE |
                                   APR_FPROT_UEXECUTE,
                               pool);
        inst->ctr = berth_container_for_plan(s->ctx, s->cfg, plan, pool);
        /* stale containers of this server from a dead berth go while this
         * one starts (they never carry this berth's instance label) */
        if (s->attempts > 0 || s->opts.sweep_first)
            start_sweep(s);
    }
    berth_process_spec_t spec = { plan->program, plan->argv,
                                  plan->command_line, plan->env, plan->cwd };
    if (berth_process_spawn(&inst->proc, &spec, &err, pool) != APR_SUCCESS) {
        set_error(s, apr_psprintf(pool, "server %s: %s", s->srv->name, err));
        apr_pool_destroy(pool);
        return 0;
    }
    /* on_closed reaches the supervisor first; it calls the user's */
    berth_upstream_callbacks_t cb = s->opts.cb;
    cb.on_closed = on_closed;
    cb.closed_baton = s;
    apr_thread_mutex_lock(s->lock);
    s->inst = inst;
    s->exited = 0;
    apr_thread_mutex_unlock(s->lock);
    if (berth_upstream_start(&inst->up, s->srv->name, inst->proc, s->log, &cb,
                             s->opts.max_message, pool) != APR_SUCCESS) {
        set_error(s, "could not start the session threads");
        shutdown_process(s, inst);
        destroy_instance(s, inst, "start failed");
        return 0;
    }
    berth_upstream_set_call_timeout(
        inst->up,
        (apr_interval_time_t)(s->srv->timeouts.call * APR_USEC_PER_SEC));
    berth_log(BERTH_LOG_INFO, "server %s started (pid %ld)", s->srv->name,
              berth_process_pid(inst->proc));
    if (berth_upstream_initialize(
            inst->up,
            (apr_interval_time_t)(s->srv->timeouts.initialize *
                                  APR_USEC_PER_SEC),
            &err, pool) != APR_SUCCESS) {
        /* the process gone and its stderr read to the end, then the tail */
        int code = shutdown_process(s, inst);
        apr_thread_mutex_lock(s->lock);
        s->last_exit = code;
        apr_thread_mutex_unlock(s->lock);
        const char *not_found = plan->not_found;
        const char *shell = plan->shell;
        apr_pool_t *scratch;
        apr_pool_create(&scratch, s->pool);
        err = apr_pstrdup(scratch, err);
        not_found = not_found ? apr_pstrdup(scratch, not_found) : NULL;
        shell = shell ? apr_pstrdup(scratch, shell) : NULL;
        destroy_instance(s, inst, "initialize failed");
        pool = scratch;
        const char *tail = berth_logfile_tail(s->log, 5, pool);
        const char *msg = apr_psprintf(
            pool, "server %s failed to initialize: %s%s%s", s->srv->name, err,
            *tail ? "; its last stderr lines:\n" : "", tail);
        if (not_found && code == 127)
            /* the login shell did not find it either */
            msg = apr_psprintf(pool, "server %s: command not found: %s "
                               "(searched: %s; and %s -l did not find it)",
                               s->srv->name, s->srv->command, not_found,
                               shell);
        set_error(s, msg);
        /* a one-shot command reports it itself */
        berth_log(s->opts.restart ? BERTH_LOG_ERROR : BERTH_LOG_DEBUG, "%s",
                  msg);
        apr_pool_destroy(scratch);
        return 0;
    }
    apr_thread_mutex_lock(s->lock);
    inst->ready_at = berth_platform_clock();
    apr_thread_mutex_unlock(s->lock);
    /* the container runs, so docker wrote its id by now */
    const char *cid = inst->ctr ? berth_container_id(inst->ctr) : NULL;
    if (inst->ctr)
        berth_log(BERTH_LOG_INFO, "server %s ready (MCP %s) in container "
                  "%s%s%.12s%s", s->srv->name,
                  berth_upstream_protocol(inst->up),
                  berth_container_name(inst->ctr)
                      ? berth_container_name(inst->ctr) : "",
                  berth_container_name(inst->ctr) ? " (" : "",
                  cid ? cid : "id unknown",
                  berth_container_name(inst->ctr) ? ")" : "");
    else
        berth_log(BERTH_LOG_INFO, "server %s ready (MCP %s)", s->srv->name,
                  berth_upstream_protocol(inst->up));
    return 1;
}

/* ---- the state x event table ------------------------------------------ */

typedef void (*action_t)(berth_supervisor_t *s);

/* A death (a failed start or an exit): reap, count, choose the delay. */
static void act_died(berth_supervisor_t *s)
{
    instance_t *inst = s->inst;
    apr_interval_time_t ran = 0;
    if (inst) {
        int code = -1;
        ran = inst->ready_at ? berth_platform_clock() - inst->ready_at : 0;
        if (berth_process_wait(inst->proc, apr_time_from_sec(1), &code) ==
            APR_TIMEUP)
            code = shutdown_process(s, inst);
        berth_process_kill_tree(inst->proc);
        /* the docker client may have died without its container */
        if (inst->ctr)
            berth_container_release(inst->ctr, 1);
        s->last_exit = code;
        destroy_instance(s, inst, s->last_error);
        berth_log(BERTH_LOG_WARN, "%s", s->last_error);
    }
    apr_thread_mutex_lock(s->lock);
    s->deaths[s->death_count++ % 32] = berth_platform_clock();
    s->backoff = berth_supervisor_next_backoff(
        s->backoff, ran, s->opts.backoff_initial, s->opts.backoff_max,
        s->opts.healthy_after);
    s->backoff_until = berth_platform_clock() + s->backoff;
    apr_thread_mutex_unlock(s->lock);
    if (s->opts.restart)
        berth_log(BERTH_LOG_INFO, "server %s restarts in %g s", s->srv->name,
                  (double)s->backoff / APR_USEC_PER_SEC);
}

static void act_stop(berth_supervisor_t *s)
{
    instance_t *inst = s->inst;
    if (!inst)
        return;
    int code = shutdown_process(s, inst);
    destroy_instance(s, inst, apr_psprintf(inst->pool, "server %s was "
                                                         "stopped",
                                           s->srv->name));
    berth_log(BERTH_LOG_INFO, "server %s stopped (status %d)", s->srv->name,
              code);
}

static void act_restart(berth_supervisor_t *s)
{
    apr_thread_mutex_lock(s->lock);
    s->restarts++;
    apr_thread_mutex_unlock(s->lock);
}

typedef struct {
    int valid;
    berth_sv_state_t next;
    action_t act;
} transition_t;

#define T(n, a) { 1, BERTH_SV_##n, a }
static const transition_t table[5][EV_COUNT] = {
    [BERTH_SV_STOPPED] = {
        [EV_START] = T(STARTING, NULL),
    },
    [BERTH_SV_STARTING] = {
        [EV_UP] = T(READY, NULL),
        [EV_START_FAILED] = T(BACKOFF, act_died),
        [EV_EXITED] = T(BACKOFF, act_died),
        [EV_STOP] = T(STOPPED, act_stop),
    },
    [BERTH_SV_READY] = {
        [EV_EXITED] = T(BACKOFF, act_died),
        [EV_STOP] = T(STOPPED, act_stop),
    },
    [BERTH_SV_BACKOFF] = {
        [EV_BACKOFF_OVER] = T(STARTING, act_restart),
        [EV_STOP] = T(STOPPED, NULL),
    },
    [BERTH_SV_FAILED] = {
        [EV_START] = T(STARTING, act_restart),
        [EV_STOP] = T(STOPPED, NULL),
    },
};
#undef T

/* Runs one transition. Called and returns with the lock held; the action
 * runs without it (it waits for processes). */
static void dispatch(berth_supervisor_t *s, event_t ev)
{
    const transition_t *t = &table[s->state][ev];
    if (!t->valid)
        return;
    berth_sv_state_t next = t->next;
    /* no restart (berth call): a death is final */
    if (next == BERTH_SV_BACKOFF && !s->opts.restart)
        next = BERTH_SV_FAILED;
    if (t->act) {
        apr_thread_mutex_unlock(s->lock);
        t->act(s);
        apr_thread_mutex_lock(s->lock);
    }
    if (ev == EV_START_FAILED || ev == EV_UP || ev == EV_EXITED)
        s->attempts++;
    berth_log(BERTH_LOG_DEBUG, "server %s: %s -> %s", s->srv->name,
              state_names[s->state], state_names[next]);
    int changed = s->state != next;
    s->state = next;
    apr_thread_cond_broadcast(s->cv);
    if (changed && s->opts.on_state) {
        apr_thread_mutex_unlock(s->lock);
        s->opts.on_state(s->opts.state_baton, s, next);
        apr_thread_mutex_lock(s->lock);
    }
}

static void *APR_THREAD_FUNC run(apr_thread_t *thread, void *arg)
{
    berth_supervisor_t *s = arg;
    apr_thread_mutex_lock(s->lock);
    dispatch(s, EV_START);
    while (s->state != BERTH_SV_STOPPED) {
        switch (s->state) {
        case BERTH_SV_STARTING: {
            apr_thread_mutex_unlock(s->lock);
            int ok = start_instance(s);
            apr_thread_mutex_lock(s->lock);
            dispatch(s, ok ? EV_UP : EV_START_FAILED);
            break;
        }
        case BERTH_SV_READY:
            while (!s->stop_requested && !s->exited)
                apr_thread_cond_wait(s->cv, s->lock);
            dispatch(s, s->stop_requested ? EV_STOP : EV_EXITED);
            break;
        case BERTH_SV_BACKOFF:
            while (!s->stop_requested &&
                   berth_wait_until(s->cv, s->lock, s->backoff_until))
                ;
            dispatch(s, s->stop_requested ? EV_STOP : EV_BACKOFF_OVER);
            break;
        case BERTH_SV_FAILED:
            while (!s->stop_requested)
                apr_thread_cond_wait(s->cv, s->lock);
            dispatch(s, EV_STOP);
            break;
        default:
            break;
        }
    }
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
    return apr_thread_create(&s->thread, NULL, run, s, s->pool);
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
        if (s->attempts > 0 && s->state != BERTH_SV_STARTING) {
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
    if (s->state == BERTH_SV_READY && s->inst && !s->exited) {
        s->inst->holds++;
        u = s->inst->up;
    } else if (why) {
        *why = apr_psprintf(pool, "server %s is not running (%s%s%s)",
                            s->srv->name, state_names[s->state],
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
