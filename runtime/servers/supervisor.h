/* Keeping one server alive: spawn its plan, initialize the MCP session,
 * restart it with exponential backoff when it dies, and shut it down the
 * way the MCP stdio transport says (close stdin, wait, SIGTERM the group,
 * wait, SIGKILL). The life cycle is a state x event table (below, and
 * supervisor.c); each server has one thread running it, which never waits
 * inside a start: a stop while starting is acted on at once. */
#ifndef BERTH_SUPERVISOR_H
#define BERTH_SUPERVISOR_H

#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>

#include "config.h"
#include "spawnctx.h"
#include "upstream.h"

typedef enum {
    BERTH_SV_STOPPED,
    BERTH_SV_STARTING,
    BERTH_SV_READY,
    BERTH_SV_BACKOFF,
    BERTH_SV_FAILED
} berth_sv_state_t;

typedef struct berth_supervisor_t berth_supervisor_t;

typedef struct {
    int restart;                   /* restart after a death (the daemon) */
    int sweep_first;               /* remove the server's stale containers
                                      at its first start too (restarts always
                                      do); the daemon sweeps all at start */
    const char *log_dir;           /* <log_dir>/<server>.log; NULL: none */
    apr_off_t log_max_size;        /* 0: the config's default */
    int log_max_files;             /* 0: the config's default */
    apr_size_t max_message;        /* 0: the server's max_message */
    berth_upstream_callbacks_t cb; /* handed to every session */
    /* after every change of state, on the supervisor's thread, no lock */
    void (*on_state)(void *baton, struct berth_supervisor_t *s,
                     berth_sv_state_t state);
    void *state_baton;
    apr_interval_time_t backoff_initial; /* 0: 1 s */
    apr_interval_time_t backoff_max;     /* 0: 60 s */
    apr_interval_time_t healthy_after;   /* 0: 60 s, resets the backoff */
} berth_supervisor_opts_t;

typedef struct {
    const char *name;
    berth_sv_state_t state;
    long pid;                /* 0 when not running */
    unsigned restarts;       /* starts after the first */
    unsigned restarts_requested; /* of those, the ones asked for
                                    (berth_supervisor_restart) */
    unsigned deaths_recent;  /* exits and failed starts in the last 10 min */
    int last_exit;           /* -1 when none */
    const char *last_error;  /* NULL when none */
    const char *protocol;    /* the session's MCP revision */
    int tools;               /* tools in the cached list, -1 unknown */
    const char *container_name; /* its container (docker run), else NULL */
    const char *container_id;   /* short id, NULL until docker wrote it */
    apr_interval_time_t backoff; /* the next delay */
} berth_supervisor_status_t;

berth_supervisor_t *berth_supervisor_create(berth_spawnctx_t *ctx,
                                            const berth_config_t *cfg,
                                            const berth_server_config_t *srv,
                                            const berth_supervisor_opts_t *opts,
                                            apr_pool_t *pool);

/* Starts the server's thread: STOPPED -> STARTING. */
apr_status_t berth_supervisor_start(berth_supervisor_t *s);

/* Waits until the server is READY (APR_SUCCESS), or a start attempt failed
 * (an error status with *ERROR: the reason and its last stderr lines), or
 * TIMEOUT passed (APR_TIMEUP). */
apr_status_t berth_supervisor_wait_ready(berth_supervisor_t *s,
                                         apr_interval_time_t timeout,
                                         const char **error,
                                         apr_pool_t *pool);

/* Waits while the server is in the start berth_supervisor_start began (its
 * first start, or one asked for: not a restart after an exit), at most
 * until PATIENCE after that start began, and at most until UNTIL (a
 * berth_platform_clock() time). 0 at once when there is nothing to wait
 * for (no such start, or PATIENCE is over); 1 when it waited and the start
 * ended or PATIENCE did; 2 when the start still runs within PATIENCE (the
 * caller may wait again). */
int berth_supervisor_await_start(berth_supervisor_t *s,
                                 apr_interval_time_t patience,
                                 apr_time_t until);

/* The live session with a hold on it, or NULL when the server is not ready
 * (*WHY, if given, says why). Release every session acquired. */
berth_upstream_t *berth_supervisor_acquire(berth_supervisor_t *s,
                                           const char **why, apr_pool_t *pool);
void berth_supervisor_release(berth_supervisor_t *s, berth_upstream_t *u);

/* A request with the server's call timeout; fails at once with a JSON-RPC
 * error naming the server when it is down. PARAMS stolen. */
apr_status_t berth_supervisor_call(berth_supervisor_t *s, const char *method,
                                   json_t *params, json_t **result,
                                   json_t **error);

/* Asks the server to stop and returns at once: stopping N servers is N
 * requests, then N berth_supervisor_stop calls, in about the time of one. */
void berth_supervisor_request_stop(berth_supervisor_t *s);

/* Stops the server and joins its thread: a ready server gets the MCP stdio
 * shutdown; a start in progress is abandoned at once (docs/supervision.md,
 * "Stopping"). */
void berth_supervisor_stop(berth_supervisor_t *s);

/* Stops the server and starts it again (a fresh process, the backoff
 * reset): the control API's restart. It counts as a restart, and as one
 * requested; the stop is no error (last_error keeps what it was). */
void berth_supervisor_restart(berth_supervisor_t *s);

/* The server's config. */
const berth_server_config_t *berth_supervisor_config(berth_supervisor_t *s);

berth_supervisor_status_t berth_supervisor_status(berth_supervisor_t *s,
                                                  apr_pool_t *pool);
const char *berth_sv_state_name(berth_sv_state_t state);

/* ---- exposed for tests ------------------------------------------------- */

/* The next backoff delay after a death: doubled up to MAX, back to INITIAL
 * when the instance had run healthily for HEALTHY_AFTER. */
apr_interval_time_t berth_supervisor_next_backoff(
    apr_interval_time_t current, apr_interval_time_t ran,
    apr_interval_time_t initial, apr_interval_time_t max,
    apr_interval_time_t healthy_after);

/* The life cycle as a state x event table, one table per restart mode: the
 * daemon's servers restart after a death, a one-shot command's (berth call,
 * berth tools) do not. Every cell is a named action, an explicit nop, or
 * invalid (the event cannot happen in that state: logged as a bug, the
 * state kept). docs/supervision.md draws both tables. */
typedef enum {
    BERTH_SV_EV_START,        /* the supervisor's thread began */
    BERTH_SV_EV_UP,           /* the initialize handshake succeeded */
    BERTH_SV_EV_START_FAILED, /* the plan, the spawn or the handshake failed */
    BERTH_SV_EV_EXITED,       /* an initialized session ended */
    BERTH_SV_EV_BACKOFF_OVER, /* the delay before a restart passed */
    BERTH_SV_EV_STOP,         /* a stop was asked for */
    BERTH_SV_EV_COUNT
} berth_sv_event_t;

typedef enum {
    BERTH_SV_ACT_NOP,        /* ignored: nothing runs, the state is kept */
    BERTH_SV_ACT_INVALID,    /* cannot happen: logged as a bug, state kept */
    BERTH_SV_ACT_SPAWN,      /* plan, spawn, begin the handshake */
    BERTH_SV_ACT_RESPAWN,    /* count a restart, then spawn */
    BERTH_SV_ACT_UP,         /* the session is ready */
    BERTH_SV_ACT_START_FAILED,       /* end it, explain, restart later */
    BERTH_SV_ACT_START_FAILED_FINAL, /* end it, explain; no restart */
    BERTH_SV_ACT_DIED,       /* reap it, restart later */
    BERTH_SV_ACT_DIED_FINAL, /* reap it; no restart */
    BERTH_SV_ACT_ABANDON,    /* a stop while starting: end it at once */
    BERTH_SV_ACT_SHUTDOWN,   /* a stop when ready: the MCP stdio shutdown */
    BERTH_SV_ACT_HALT,       /* a stop with nothing running */
    BERTH_SV_ACT_COUNT
} berth_sv_action_t;

typedef enum {
    BERTH_SV_ONCE,    /* opts.restart 0: a death is final (FAILED) */
    BERTH_SV_RESTART  /* opts.restart 1: a death waits in BACKOFF */
} berth_sv_mode_t;

typedef struct {
    berth_sv_state_t next;      /* the state after the action */
    berth_sv_action_t action;
} berth_sv_transition_t;

/* The cell of EVENT in STATE: pure, no supervisor needed. Out of range:
 * invalid, the state kept. */
berth_sv_transition_t berth_supervisor_transition(berth_sv_mode_t mode,
                                                  berth_sv_state_t state,
                                                  berth_sv_event_t event);
const char *berth_sv_event_name(berth_sv_event_t event);
const char *berth_sv_action_name(berth_sv_action_t action);

#endif
