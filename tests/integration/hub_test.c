/* The hub called directly (issue 13): three real mcp_fixture servers
 * (alpha, beta, gamma, in that order) under supervisors wired to a hub, a
 * router over them, and the hub's API driven as a transport would, with
 * sinks that collect what they are sent. One stack serves every test (the
 * group setup); each test opens its own sessions, and an after-each step
 * closes whatever a test left, also a failed one.
 *
 * Covered: initialize and what comes before it; the merged lists; tools,
 * prompts, resources, completion and logging on the request path;
 * berth_hub_handle_text byte for byte; progress; a server's sampling
 * request and who may answer it; cancellation, closing, reaping and the
 * session limit; list_changed; a server that is down; who owns a name
 * while its server is down, and a server's roots/list outside a call (on
 * small stacks of their own).
 *
 * Timing: nothing sleeps to synchronise; waits are on conditions, with
 * deadlines (only the reap test sleeps, to let its idle time pass, and a
 * restarted server's state is polled). Where a call must be in flight, a
 * sampling request or a probe log reaching its sink proves it (the hub
 * gives a server's log to the newest call in flight to that server, and to
 * no sink when there is none). gamma gets the long sleep
 * calls (cancelled hub-side; the fixture sleeps on) and is restarted by
 * the list_changed test, which follows them. The whole file runs in about
 * two seconds, one of them gamma's shutdown timeout.
 * Usage: hub_test MCP_FIXTURE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <jansson.h>

#include "test_util.h"

#include "berth_version.h"
#include "config.h"
#include "hostfacts.h"
#include "hub.h"
#include "jsonrpc.h"
#include "log.h"
#include "mcpver.h"
#include "platform.h"
#include "router.h"
#include "spawnctx.h"
#include "supervisor.h"
#include "upstream.h"

#ifndef _WIN32
#include <signal.h>
#endif

#define SEC(s) ((apr_interval_time_t)((s) * APR_USEC_PER_SEC))
#define MSEC(ms) ((apr_interval_time_t)(ms) * 1000)

/* a sleep that no test waits for: cancelled calls must end long before */
#define LONG_SLEEP_MS 20000
#define PROMPTLY SEC(5)

enum { ALPHA, BETA, GAMMA, N_SERVERS };
static const char *const k_names[N_SERVERS] = { "alpha", "beta", "gamma" };

static const char *g_fixture;

/* ---- the stack ---------------------------------------------------------- */

static struct {
    apr_pool_t *pool;
    berth_config_t *cfg;
    berth_hostfacts_t *facts;
    berth_spawnctx_t *ctx;
    berth_router_t *router;
    berth_hub_t *hub;
    berth_supervisor_t *sv[N_SERVERS];
} g;

/* Waits for server I to be READY again after a restart. Polled:
 * berth_supervisor_wait_ready may still see the STOPPED state of the
 * stop, before the new thread has started, and take it for a failure. */
static void wait_ready(int i)
{
    apr_time_t deadline = berth_platform_clock() + SEC(30);
    for (;;) {
        apr_pool_t *p;
        apr_pool_create(&p, g.pool);
        berth_supervisor_status_t st = berth_supervisor_status(g.sv[i], p);
        int ready = st.state == BERTH_SV_READY;
        apr_pool_destroy(p);
        if (ready)
            return;
        if (berth_platform_clock() > deadline)
            fail_msg("server %s is not ready again after 30 s", k_names[i]);
        apr_sleep(MSEC(5));
    }
}

static int stack_up(void **state)
{
    if (test_setup(state) != 0)
        return -1;
    apr_pool_create(&g.pool, test_pool);
    /* each server knows its name (HUB_TEST_WHO, see env_dump): which one
     * answered a call is then visible */
    json_t *servers = json_object();
    for (int i = 0; i < N_SERVERS; i++)
        json_object_set_new(
            servers, k_names[i],
            json_pack("{s:s, s:{s:s}, s:{s:f, s:f, s:f}}", "command",
                      g_fixture, "env", "HUB_TEST_WHO", k_names[i],
                      "timeouts", "initialize", 10.0, "call", 30.0,
                      "shutdown", 1.0));
    json_t *root = json_pack("{s:o}", "mcpServers", servers);
    char *text = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    apr_array_header_t *diags = apr_array_make(g.pool, 4,
                                               sizeof(berth_diag_t));
    apr_status_t rv = berth_config_parse("hub_test.json", text, strlen(text),
                                         &g.cfg, diags, g.pool);
    free(text);
    if (rv != APR_SUCCESS || berth_hostfacts_real(&g.facts, g.pool) !=
                                 APR_SUCCESS) {
        fprintf(stderr, "hub_test: no config or host facts\n");
        return -1;
    }
    g.ctx = berth_spawnctx_create(g.facts, g.pool);
    g.router = berth_router_create(g.pool);
    g.hub = berth_hub_create(g.router, NULL, g.pool);

    berth_supervisor_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.restart = 1;
    opts.cb = berth_hub_upstream_callbacks(g.hub);
    opts.on_state = berth_hub_server_state;
    opts.state_baton = g.hub;
    opts.backoff_initial = MSEC(100);
    opts.backoff_max = SEC(1);
    for (int i = 0; i < N_SERVERS; i++) {
        g.sv[i] = berth_supervisor_create(
            g.ctx, g.cfg, berth_config_find_server(g.cfg, k_names[i]), &opts,
            g.pool);
        berth_router_add(g.router, berth_server_of(g.sv[i]));
    }
    for (int i = 0; i < N_SERVERS; i++)
        berth_supervisor_start(g.sv[i]);
    for (int i = 0; i < N_SERVERS; i++) {
        const char *why = NULL;
        if (berth_supervisor_wait_ready(g.sv[i], SEC(30), &why, g.pool) !=
            APR_SUCCESS) {
            fprintf(stderr, "hub_test: %s did not start: %s\n", k_names[i],
                    why ? why : "(timeout)");
            return -1;
        }
    }
    return 0;
}

static int stack_down(void **state)
{
    if (g.hub)
        berth_hub_close_all(g.hub);
    for (int i = 0; i < N_SERVERS; i++)
        if (g.sv[i])
            berth_supervisor_request_stop(g.sv[i]);
    for (int i = 0; i < N_SERVERS; i++)
        if (g.sv[i])
            berth_supervisor_stop(g.sv[i]);
    apr_pool_destroy(g.pool);
    return test_teardown(state);
}

/* ---- what a test opened, closed after it ------------------------------ */

#define MAX_TRACKED 32

static struct {
    apr_pool_t *tp;              /* the test's pool */
    struct {
        berth_hub_t *hub;
        berth_client_t *c;       /* our reference, until released */
    } sessions[MAX_TRACKED];
    struct job_t *jobs[MAX_TRACKED];
    berth_hub_t *hubs[4];        /* hubs of the test's own */
    berth_supervisor_t *svs[4];  /* supervisors of the test's own */
    json_int_t seq;              /* request ids */
} t;

static int before_each(void **state)
{
    (void)state;
    memset(&t, 0, sizeof t);
    return apr_pool_create(&t.tp, test_pool) == APR_SUCCESS ? 0 : -1;
}

static void track(berth_hub_t *h, berth_client_t *c)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (!t.sessions[i].c) {
            t.sessions[i].hub = h;
            t.sessions[i].c = c;
            return;
        }
    fail_msg("more than %d sessions in one test", MAX_TRACKED);
}

/* Closes C and drops our reference to it. */
static void end_session_on(berth_hub_t *h, berth_client_t *c)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (t.sessions[i].c == c)
            t.sessions[i].c = NULL;
    berth_hub_session_close(h, c);
    berth_hub_session_release(h, c);
}

static void end_session(berth_client_t *c)
{
    end_session_on(g.hub, c);
}

/* ---- dumps and checks ------------------------------------------------ */

static const char *dump(json_t *j)
{
    if (!j)
        return "(null)";
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    const char *out = apr_pstrdup(test_pool, s ? s : "(unprintable)");
    free(s);
    return out;
}

#define RESULT(r) result_at((r), __FILE__, __LINE__)
static json_t *result_at(json_t *resp, const char *file, int line)
{
    json_t *res = json_object_get(resp, "result");
    if (!res || json_object_get(resp, "error"))
        fail_msg("%s:%d: expected a result, got %s", file, line, dump(resp));
    return res;
}

/* RESP is an error with CODE whose message contains TEXT (when given). */
#define ASSERT_ERROR(r, code, text) error_at((r), (code), (text), __FILE__, \
                                             __LINE__)
static void error_at(json_t *resp, int code, const char *text,
                     const char *file, int line)
{
    json_t *e = json_object_get(resp, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (!e || json_object_get(resp, "result") ||
        json_integer_value(json_object_get(e, "code")) != code ||
        !msg || (text && !strstr(msg, text)))
        fail_msg("%s:%d: expected error %d [%s], got %s", file, line, code,
                 text ? text : "", dump(resp));
}

#define ASSERT_CONTAINS(h, n) contains_at((h), (n), __FILE__, __LINE__)
static void contains_at(const char *hay, const char *needle, const char *file,
                        int line)
{
    if (!hay || !strstr(hay, needle))
        fail_msg("%s:%d: [%s] does not contain [%s]", file, line,
                 hay ? hay : "(null)", needle);
}

/* The first text of a tool result. */
static const char *text_of(json_t *resp)
{
    json_t *c0 = json_array_get(json_object_get(RESULT(resp), "content"), 0);
    const char *s = json_string_value(json_object_get(c0, "text"));
    if (!s)
        fail_msg("no text in %s", dump(resp));
    return apr_pstrdup(t.tp, s);
}

static int is_error_result(json_t *resp)
{
    return json_is_true(json_object_get(RESULT(resp), "isError"));
}

/* ---- sinks: a box collects what it is sent ---------------------------- */

typedef struct {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *cv;
    json_t *msgs;
} box_t;

static apr_status_t box_cleanup(void *data)
{
    json_decref(((box_t *)data)->msgs);
    return APR_SUCCESS;
}

static box_t *box_new(void)
{
    box_t *b = apr_pcalloc(t.tp, sizeof *b);
    apr_thread_mutex_create(&b->lock, APR_THREAD_MUTEX_DEFAULT, t.tp);
    apr_thread_cond_create(&b->cv, t.tp);
    b->msgs = json_array();
    apr_pool_cleanup_register(t.tp, b, box_cleanup, apr_pool_cleanup_null);
    return b;
}

static void box_send(void *baton, json_t *msg)
{
    box_t *b = baton;
    apr_thread_mutex_lock(b->lock);
    json_array_append_new(b->msgs, msg);
    apr_thread_cond_broadcast(b->cv);
    apr_thread_mutex_unlock(b->lock);
}

static berth_sink_t sink_of(box_t *b, int streams)
{
    berth_sink_t s = { box_send, b, streams };
    return s;
}

static int method_is(json_t *msg, const char *method)
{
    const char *m = json_string_value(json_object_get(msg, "method"));
    return m && strcmp(m, method) == 0;
}

/* How many messages with METHOD B holds now. */
static int box_count(box_t *b, const char *method)
{
    int n = 0;
    size_t i;
    json_t *m;
    apr_thread_mutex_lock(b->lock);
    json_array_foreach(b->msgs, i, m)
        n += method_is(m, method);
    apr_thread_mutex_unlock(b->lock);
    return n;
}

/* The Nth (from 0) message with METHOD in B (a new reference), waiting up
 * to TIMEOUT for it; NULL when it did not come. */
static json_t *box_wait(box_t *b, const char *method, int nth,
                        apr_interval_time_t timeout)
{
    apr_time_t deadline = berth_platform_clock() + timeout;
    json_t *found = NULL;
    apr_thread_mutex_lock(b->lock);
    for (;;) {
        int n = 0;
        size_t i;
        json_t *m;
        json_array_foreach(b->msgs, i, m)
            if (method_is(m, method) && n++ == nth) {
                found = json_incref(m);
                break;
            }
        apr_interval_time_t left = deadline - berth_platform_clock();
        if (found || left <= 0)
            break;
        apr_thread_cond_timedwait(b->cv, b->lock, left);
    }
    apr_thread_mutex_unlock(b->lock);
    return found;
}

/* Messages a test does not look at. */
static void drop_send(void *baton, json_t *msg)
{
    (void)baton;
    json_decref(msg);
}
static const berth_sink_t k_drop = { drop_send, NULL, 0 };

/* ---- messages -------------------------------------------------------- */

/* A request with a fresh integer id; PARAMS stolen (may be NULL). */
static json_t *req_msg(const char *method, json_t *params)
{
    json_t *m = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id",
                          (json_int_t)++t.seq, "method", method);
    if (params)
        json_object_set_new(m, "params", params);
    return m;
}

static json_t *note_msg(const char *method, json_t *params)
{
    json_t *m = json_pack("{s:s, s:s}", "jsonrpc", "2.0", "method", method);
    if (params)
        json_object_set_new(m, "params", params);
    return m;
}

/* METHOD with PARAMS (stolen) through H for C: the response, which must
 * carry the request's id. */
#define REQ_ON(h, c, m, p, s) req_at((h), (c), (m), (p), (s), __FILE__, \
                                     __LINE__)
#define REQ(c, m, p) REQ_ON(g.hub, (c), (m), (p), NULL)
#define REQ_SINK(c, m, p, s) REQ_ON(g.hub, (c), (m), (p), (s))
static json_t *req_at(berth_hub_t *h, berth_client_t *c, const char *method,
                      json_t *params, const berth_sink_t *sink,
                      const char *file, int line)
{
    json_t *m = req_msg(method, params);
    json_t *r = berth_hub_handle(h, c, m, sink ? sink : &k_drop);
    if (!r || !json_equal(json_object_get(r, "id"), json_object_get(m, "id")))
        fail_msg("%s:%d: %s answered %s", file, line, dump(m), dump(r));
    json_decref(m);
    return r;
}

/* tools/call NAME with ARGS (stolen; NULL: none). */
#define TOOL(c, n, a) REQ((c), "tools/call", tool_params((n), (a)))
#define TOOL_SINK(c, n, a, s) REQ_SINK((c), "tools/call", \
                                       tool_params((n), (a)), (s))
static json_t *tool_params(const char *name, json_t *args)
{
    return json_pack("{s:s, s:o}", "name", name, "arguments",
                     args ? args : json_object());
}

/* A notification from C's client: the hub answers nothing. */
static void notify_hub(berth_client_t *c, const char *method, json_t *params)
{
    json_t *m = note_msg(method, params);
    json_t *r = berth_hub_handle(g.hub, c, m, &k_drop);
    if (r)
        fail_msg("a notification %s was answered: %s", dump(m), dump(r));
    json_decref(m);
}

/* ---- sessions --------------------------------------------------------- */

static berth_client_t *new_session_on(berth_hub_t *h)
{
    berth_client_t *c = berth_hub_session_new(h);
    assert_non_null(c);
    track(h, c);
    return c;
}

static json_t *init_params(const char *version, const char *caps)
{
    json_t *cj = caps ? json_loads(caps, 0, NULL) : json_object();
    assert_non_null(cj);
    json_t *p = json_pack("{s:o, s:{s:s, s:s}}", "capabilities", cj,
                          "clientInfo", "name", "hub_test", "version", "1");
    if (version)
        json_object_set_new(p, "protocolVersion", json_string(version));
    return p;
}

/* A session after initialize (CAPS: the client's capabilities as JSON
 * text, NULL for none), and notifications/initialized when INITIALIZED. */
static berth_client_t *open_session_on(berth_hub_t *h, const char *caps,
                                       int initialized)
{
    berth_client_t *c = new_session_on(h);
    json_t *r = REQ_ON(h, c, "initialize", init_params("2025-06-18", caps),
                       NULL);
    RESULT(r);
    json_decref(r);
    if (initialized) {
        json_t *m = note_msg("notifications/initialized", NULL);
        assert_null(berth_hub_handle(h, c, m, &k_drop));
        json_decref(m);
    }
    return c;
}

static berth_client_t *open_session(const char *caps)
{
    return open_session_on(g.hub, caps, 1);
}

/* Everything queued for C now (drained), as an array. */
static json_t *queued_now(berth_client_t *c)
{
    json_t *all = json_array();
    int closed;
    json_t *m;
    while ((m = berth_client_next(c, 0, &closed)) != NULL)
        json_array_append_new(all, m);
    return all;
}

static void drain(berth_client_t *c)
{
    json_decref(queued_now(c));
}

static int count_method(json_t *msgs, const char *method)
{
    int n = 0;
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
        n += method_is(m, method);
    return n;
}

/* Takes C's queued messages until one with METHOD (returned, a new
 * reference), waiting up to TIMEOUT; messages before it go to SKIPPED when
 * given, else are dropped. */
static json_t *next_skip(berth_client_t *c, const char *method,
                         apr_interval_time_t timeout, json_t *skipped)
{
    apr_time_t deadline = berth_platform_clock() + timeout;
    for (;;) {
        apr_interval_time_t left = deadline - berth_platform_clock();
        int closed;
        json_t *m = berth_client_next(c, left > 0 ? left : 0, &closed);
        if (m && method_is(m, method))
            return m;
        if (m && skipped)
            json_array_append_new(skipped, m);
        else
            json_decref(m);
        if ((!m && left <= 0) || closed)
            return NULL;
    }
}

static json_t *next_of(berth_client_t *c, const char *method,
                       apr_interval_time_t timeout)
{
    return next_skip(c, method, timeout, NULL);
}

/* ---- calls on a thread of their own, as a transport runs them ---------- */

typedef struct job_t {
    berth_hub_t *hub;
    berth_client_t *c;
    json_t *msg;
    berth_sink_t sink;
    int release;                 /* drop a reference to C when done (the
                                    one a front holds for the request) */
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *cv;
    int done;
    json_t *resp;
    apr_thread_t *thread;
} job_t;

static void *APR_THREAD_FUNC job_run(apr_thread_t *thread, void *arg)
{
    job_t *j = arg;
    json_t *r = berth_hub_handle(j->hub, j->c, j->msg, &j->sink);
    if (j->release)
        berth_hub_session_release(j->hub, j->c);
    apr_thread_mutex_lock(j->lock);
    j->resp = r;
    j->done = 1;
    apr_thread_cond_broadcast(j->cv);
    apr_thread_mutex_unlock(j->lock);
    (void)thread; /* return, not apr_thread_exit (see supervisor.c) */
    return NULL;
}

/* Runs MSG (stolen) for C on a new thread. */
static job_t *job_start(berth_hub_t *h, berth_client_t *c, json_t *msg,
                        berth_sink_t sink, int release)
{
    job_t *j = apr_pcalloc(t.tp, sizeof *j);
    j->hub = h;
    j->c = c;
    j->msg = msg;
    j->sink = sink;
    j->release = release;
    apr_thread_mutex_create(&j->lock, APR_THREAD_MUTEX_DEFAULT, t.tp);
    apr_thread_cond_create(&j->cv, t.tp);
    int i = 0;
    while (i < MAX_TRACKED && t.jobs[i])
        i++;
    assert_true(i < MAX_TRACKED);
    t.jobs[i] = j;
    assert_int_equal(apr_thread_create(&j->thread, NULL, job_run, j, t.tp),
                     APR_SUCCESS);
    return j;
}

/* 1 when J finished within TIMEOUT. */
static int job_wait(job_t *j, apr_interval_time_t timeout)
{
    apr_time_t deadline = berth_platform_clock() + timeout;
    apr_thread_mutex_lock(j->lock);
    while (!j->done) {
        apr_interval_time_t left = deadline - berth_platform_clock();
        if (left <= 0)
            break;
        apr_thread_cond_timedwait(j->cv, j->lock, left);
    }
    int done = j->done;
    apr_thread_mutex_unlock(j->lock);
    return done;
}

static void job_join(job_t *j)
{
    apr_status_t ts;
    for (int i = 0; i < MAX_TRACKED; i++)
        if (t.jobs[i] == j)
            t.jobs[i] = NULL;
    apr_thread_join(&ts, j->thread);
    json_decref(j->msg);
    j->msg = NULL;
}

/* Waits (PROMPTLY at most) for J, joins it and returns its response (a new
 * reference). */
static json_t *job_finish(job_t *j)
{
    if (!job_wait(j, PROMPTLY))
        fail_msg("%s did not end within 5 s", dump(j->msg));
    job_join(j);
    json_t *r = j->resp;
    j->resp = NULL;
    return r;
}

/* A hub of the test's own over the same router (the servers' callbacks
 * stay with g.hub), in the test's pool. */
static berth_hub_t *test_hub(const berth_hub_opts_t *o)
{
    berth_hub_t *h = berth_hub_create(g.router, o, t.tp);
    for (int i = 0; i < 4; i++)
        if (!t.hubs[i]) {
            t.hubs[i] = h;
            return h;
        }
    fail_msg("more than 4 hubs in one test");
    return NULL;
}

/* After every test, also a failed one: its sessions closed (which ends its
 * calls), its threads joined, its references dropped. */
static int after_each(void **state)
{
    (void)state;
    berth_hub_close_all(g.hub);
    for (int i = 0; i < 4; i++)
        if (t.hubs[i])
            berth_hub_close_all(t.hubs[i]);
    for (int i = 0; i < MAX_TRACKED; i++)
        if (t.jobs[i]) {
            job_t *j = t.jobs[i];
            job_join(j);
            json_decref(j->resp);
        }
    for (int i = 0; i < MAX_TRACKED; i++)
        if (t.sessions[i].c)
            berth_hub_session_release(t.sessions[i].hub, t.sessions[i].c);
    for (int i = 0; i < 4; i++)
        if (t.svs[i])
            berth_supervisor_request_stop(t.svs[i]);
    for (int i = 0; i < 4; i++)
        if (t.svs[i])
            berth_supervisor_stop(t.svs[i]);
    apr_pool_destroy(t.tp);
    return 0;
}

/* ---- the server side, from the test ---------------------------------- */

/* The server I sends the notification METHOD with PARAMS (stolen) as if
 * from its reader thread: the hub's own callback, on the test's thread, so
 * that where the hub routes it is settled by what the test has in flight
 * then (nothing, for the logging test; one call, for a probe) and does not
 * race with a call's end. */
static void server_notifies(int i, const char *method, json_t *params)
{
    berth_upstream_callbacks_t cb = berth_hub_upstream_callbacks(g.hub);
    berth_upstream_t *u = berth_supervisor_acquire(g.sv[i], NULL, t.tp);
    assert_non_null(u);
    cb.on_notification(cb.baton, u, method, params);
    berth_supervisor_release(g.sv[i], u);
    json_decref(params);
}

/* The fixture ALPHA writes LINE (a JSON-RPC message) on its stdout, through
 * its raw_result tool: the result text closes the tool's answer and starts
 * a line of its own, so the hub hears it from the real reader. */
static void server_writes(berth_client_t *via, const char *line)
{
    size_t n = strlen(line);
    assert_true(n > 1 && line[n - 1] == '}');
    const char *text = apr_psprintf(t.tp, "{}}\n%.*s", (int)(n - 1), line);
    json_t *r = TOOL(via, "alpha__raw_result",
                     json_pack("{s:s}", "result", text));
    RESULT(r);
    json_decref(r);
}

/* The names in ARR (of objects), in order. */
static json_t *names_of(json_t *arr, const char *key)
{
    json_t *out = json_array();
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
        json_array_append(out, json_object_get(item, key));
    return out;
}

/* ==== initialize and before it ========================================== */

static void test_initialize(void **state)
{
    (void)state;
    int before = berth_hub_session_count(g.hub);
    berth_client_t *c = new_session_on(g.hub);
    assert_int_equal(berth_hub_session_count(g.hub), before + 1);
    const char *id = apr_pstrdup(t.tp, berth_client_id(c));
    assert_int_equal(strlen(id), 32);
    assert_int_equal(strspn(id, "0123456789abcdef"), 32);
    assert_null(berth_client_protocol(c));
    assert_false(berth_client_initialized(c));
    berth_client_t *f = berth_hub_session_find(g.hub, id);
    assert_ptr_equal(f, c);
    berth_hub_session_release(g.hub, f);
    assert_null(berth_hub_session_find(g.hub,
                                       "00000000000000000000000000000000"));
    assert_null(berth_hub_session_find(g.hub, NULL));

    /* an unknown revision: the newest, with berth's capabilities */
    json_t *r = REQ(c, "initialize", init_params("1999-01-01", NULL));
    json_t *res = RESULT(r);
    assert_string_equal(json_string_value(json_object_get(res,
                                                          "protocolVersion")),
                        BERTH_MCP_LATEST);
    assert_string_equal(berth_client_protocol(c), BERTH_MCP_LATEST);
    assert_true(berth_client_initialized(c));
    json_t *want = json_loads(
        "{\"tools\":{\"listChanged\":true},\"prompts\":{\"listChanged\":true},"
        "\"resources\":{\"subscribe\":true,\"listChanged\":true},"
        "\"logging\":{},\"completions\":{}}", 0, NULL);
    if (!json_equal(json_object_get(res, "capabilities"), want))
        fail_msg("capabilities %s, not %s",
                 dump(json_object_get(res, "capabilities")), dump(want));
    json_decref(want);
    json_t *info = json_object_get(res, "serverInfo");
    assert_string_equal(json_string_value(json_object_get(info, "name")),
                        "berth");
    assert_string_equal(json_string_value(json_object_get(info, "version")),
                        BERTH_VERSION);
    ASSERT_CONTAINS(json_string_value(json_object_get(res, "instructions")),
                    "two underscores");
    json_decref(r);
    assert_false(berth_client_can_be_asked(c));

    /* every revision berth speaks is echoed; none given: the newest */
    for (const char *const *v = berth_mcp_versions; *v; v++) {
        berth_client_t *s = new_session_on(g.hub);
        r = REQ(s, "initialize", init_params(*v, NULL));
        assert_string_equal(json_string_value(json_object_get(
                                RESULT(r), "protocolVersion")), *v);
        assert_string_equal(berth_client_protocol(s), *v);
        json_decref(r);
        end_session(s);
    }
    berth_client_t *s = new_session_on(g.hub);
    r = REQ(s, "initialize", init_params(NULL, NULL));
    assert_string_equal(json_string_value(json_object_get(RESULT(r),
                                                          "protocolVersion")),
                        BERTH_MCP_LATEST);
    json_decref(r);
    end_session(s);

    /* a string id comes back as it was */
    s = new_session_on(g.hub);
    json_t *m = json_pack("{s:s, s:s, s:s, s:o}", "jsonrpc", "2.0", "id",
                          "init-\xc3\xa9", "method", "initialize", "params",
                          init_params("2025-03-26", NULL));
    r = berth_hub_handle(g.hub, s, m, &k_drop);
    assert_string_equal(json_string_value(json_object_get(r, "id")),
                        "init-\xc3\xa9");
    RESULT(r);
    json_decref(r);
    json_decref(m);
    end_session(s);

    /* the capabilities that let a server ask the client something */
    static const struct {
        const char *caps;
        int asked;
    } k_caps[] = {
        { "{}", 0 },
        { "{\"experimental\":{}}", 0 },
        { "{\"sampling\":{}}", 1 },
        { "{\"elicitation\":{}}", 1 },
        { "{\"roots\":{\"listChanged\":true}}", 1 },
    };
    for (size_t i = 0; i < sizeof k_caps / sizeof k_caps[0]; i++) {
        s = open_session(k_caps[i].caps);
        if (berth_client_can_be_asked(s) != k_caps[i].asked)
            fail_msg("capabilities %s: can_be_asked %d", k_caps[i].caps,
                     berth_client_can_be_asked(s));
        end_session(s);
    }

    end_session(c);
    assert_int_equal(berth_hub_session_count(g.hub), before);
    assert_null(berth_hub_session_find(g.hub, id));
}

static void test_before_initialize(void **state)
{
    (void)state;
    berth_client_t *c = new_session_on(g.hub);
    json_t *r = REQ(c, "ping", NULL);
    assert_int_equal(json_object_size(RESULT(r)), 0);
    json_decref(r);
    static const char *const k_refused[] = {
        "tools/list", "tools/call", "prompts/list", "prompts/get",
        "resources/list", "resources/templates/list", "resources/read",
        "resources/subscribe", "completion/complete", "logging/setLevel",
        "no/such/method",
    };
    for (size_t i = 0; i < sizeof k_refused / sizeof k_refused[0]; i++) {
        r = REQ(c, k_refused[i], json_pack("{s:s}", "name", "alpha__echo"));
        ASSERT_ERROR(r, BERTH_RPC_INVALID_REQUEST, "initialize");
        json_decref(r);
    }
    /* notifications/initialized alone does not initialize */
    notify_hub(c, "notifications/initialized", NULL);
    assert_false(berth_client_initialized(c));
    r = REQ(c, "tools/list", NULL);
    ASSERT_ERROR(r, BERTH_RPC_INVALID_REQUEST, "initialize");
    json_decref(r);

    r = REQ(c, "initialize", init_params("2025-06-18", NULL));
    RESULT(r);
    json_decref(r);
    r = REQ(c, "tools/list", NULL);
    assert_true(json_array_size(json_object_get(RESULT(r), "tools")) > 0);
    json_decref(r);
    r = REQ(c, "ping", json_object());
    assert_int_equal(json_object_size(RESULT(r)), 0);
    json_decref(r);
    end_session(c);
}

/* ==== lists ============================================================== */

/* What the merged list WHICH must be: every server's own list in router
 * order; tools and prompts under <server>__<name>, resources and templates
 * under their URI, the first server keeping a URI two offer. */
static json_t *expected_list(const char *which)
{
    int named = strcmp(which, "tools") == 0 || strcmp(which, "prompts") == 0;
    const char *key = strcmp(which, "resources") == 0 ? "uri"
                      : named                         ? "name"
                                                      : "uriTemplate";
    json_t *out = json_array();
    json_t *seen = json_object();
    for (int i = 0; i < N_SERVERS; i++) {
        berth_upstream_t *u = berth_supervisor_acquire(g.sv[i], NULL, t.tp);
        assert_non_null(u);
        json_t *list = berth_upstream_list(u, which);
        berth_supervisor_release(g.sv[i], u);
        size_t k;
        json_t *item;
        json_array_foreach(list, k, item) {
            const char *own = json_string_value(json_object_get(item, key));
            json_t *copy = json_copy(item);
            if (named)
                json_object_set_new(copy, "name", json_string(apr_pstrcat(
                                                      t.tp, k_names[i], "__",
                                                      own, NULL)));
            else if (json_object_get(seen, own)) {
                json_decref(copy);
                continue;
            }
            json_object_set_new(seen, own, json_true());
            json_array_append_new(out, copy);
        }
        json_decref(list);
    }
    json_decref(seen);
    return out;
}

static void test_lists(void **state)
{
    (void)state;
    static const struct {
        const char *method, *key, *id, *first, *last;
        size_t min;
    } k_lists[] = {
        { "tools/list", "tools", "name", "alpha__echo", NULL, 3 * 14 },
        { "prompts/list", "prompts", "name", "alpha__greet",
          "gamma__summarize", 6 },
        { "resources/list", "resources", "uri", "fixture://hello",
          "fixture://blob", 3 },
        { "resources/templates/list", "resourceTemplates", "uriTemplate",
          "fixture://items/{id}", "fixture://items/{id}", 1 },
    };
    berth_client_t *c = open_session(NULL);
    for (size_t i = 0; i < sizeof k_lists / sizeof k_lists[0]; i++) {
        json_t *want = expected_list(k_lists[i].key);
        json_t *r = REQ(c, k_lists[i].method, NULL);
        json_t *got = json_object_get(RESULT(r), k_lists[i].key);
        if (!json_equal(got, want))
            fail_msg("%s: got %s\nwanted %s", k_lists[i].method, dump(got),
                     dump(want));
        /* resources: the three servers offer the same three URIs */
        if (k_lists[i].min == 3 || k_lists[i].min == 1)
            assert_int_equal(json_array_size(got), k_lists[i].min);
        else
            assert_true(json_array_size(got) >= k_lists[i].min);
        json_t *names = names_of(got, k_lists[i].id);
        assert_string_equal(json_string_value(json_array_get(names, 0)),
                            k_lists[i].first);
        if (k_lists[i].last)
            assert_string_equal(json_string_value(json_array_get(
                                    names, json_array_size(names) - 1)),
                                k_lists[i].last);
        json_decref(names);
        /* the same list again, in the same order */
        json_t *r2 = REQ(c, k_lists[i].method, json_object());
        assert_true(json_equal(RESULT(r2), RESULT(r)));
        json_decref(r2);
        json_decref(r);
        json_decref(want);

        /* one page: a cursor is refused */
        r = REQ(c, k_lists[i].method, json_pack("{s:s}", "cursor", "Mg=="));
        ASSERT_ERROR(r, BERTH_RPC_INVALID_PARAMS, "cursor");
        json_decref(r);
    }
    end_session(c);
}

/* ==== tools and prompts ================================================== */

static void test_tools_call(void **state)
{
    (void)state;
    berth_client_t *c = open_session(NULL);
    /* each prefix reaches its own server, which gets its own tool name */
    for (int i = 0; i < N_SERVERS; i++) {
        json_t *r = TOOL(c, apr_pstrcat(t.tp, k_names[i], "__env_dump", NULL),
                         NULL);
        json_t *env = json_loads(text_of(r), 0, NULL);
        const char *who = json_string_value(json_object_get(env,
                                                            "HUB_TEST_WHO"));
        if (!who || strcmp(who, k_names[i]) != 0)
            fail_msg("%s__env_dump was answered by %s", k_names[i],
                     who ? who : "(nobody)");
        json_decref(env);
        json_decref(r);
    }
    json_t *r = TOOL(c, "beta__echo", json_pack("{s:s}", "text", "hi there"));
    assert_string_equal(text_of(r), "hi there");
    json_decref(r);
    r = TOOL(c, "gamma__add", json_pack("{s:i, s:i}", "a", 2, "b", 40));
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(RESULT(r), "structuredContent"),
                         "sum")),
                     42);
    json_decref(r);
    /* a tool's own failure is a result; a server's error comes as it was */
    r = TOOL(c, "alpha__echo", NULL);
    assert_true(is_error_result(r));
    json_decref(r);
    r = REQ(c, "tools/call", json_pack("{s:s, s:s}", "name", "alpha__echo",
                                       "arguments", "not an object"));
    ASSERT_ERROR(r, BERTH_RPC_INVALID_PARAMS, "arguments must be an object");
    json_decref(r);

    /* names nobody offers */
    static const char *const k_unknown[] = { "nope__echo", "alpha__nope",
                                             "echo", "alpha_echo" };
    for (size_t i = 0; i < sizeof k_unknown / sizeof k_unknown[0]; i++) {
        r = TOOL(c, k_unknown[i], NULL);
        ASSERT_ERROR(r, BERTH_RPC_INVALID_PARAMS,
                     apr_pstrcat(t.tp, "unknown tool: ", k_unknown[i], NULL));
        json_decref(r);
    }
    r = REQ(c, "tools/call", json_pack("{s:{}}", "arguments"));
    ASSERT_ERROR(r, BERTH_RPC_INVALID_PARAMS, "needs a name");
    json_decref(r);
    r = REQ(c, "tools/call", json_pack("{s:i}", "name", 7));
    ASSERT_ERROR(r, BERTH_RPC_INVALID_PARAMS, "needs a name");
    json_decref(r);
    r = REQ(c, "tools/call", NULL);
    ASSERT_ERROR(r, BERTH_RPC_INVALID_PARAMS, "needs a name");
    json_decref(r);

    /* prompts */
    r = REQ(c, "prompts/get", json_pack("{s:s, s:{s:s}}", "name",
                                        "beta__greet", "arguments", "name",
                                        "Ann"));
    json_t *res = RESULT(r);
    assert_string_equal(json_string_value(json_object_get(res,
                                                          "description")),
                        "Greeting for Ann");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(res, "messages"),
                                           0),
                            "content"),
            "text")),
        "Please greet Ann.");
    json_decref(r);
    r = REQ(c, "prompts/get", json_pack("{s:s}", "name", "gamma__summarize"));
    assert_string_equal(json_string_value(json_object_get(RESULT(r),
                                                          "description")),
                        "Summary request");
    json_decref(r);
    r = REQ(c, "prompts/get", json_pack("{s:s}", "name", "beta__greet"));
    ASSERT_ERROR(r, BERTH_RPC_INVALID_PARAMS, "missing required argument");
    json_decref(r);
    r = REQ(c, "prompts/get", json_pack("{s:s}", "name", "alpha__nope"));
    ASSERT_ERROR(r, BERTH_RPC_INVALID_PARAMS, "unknown prompt: alpha__nope");
    json_decref(r);
    r = REQ(c, "prompts/get", json_object());
    ASSERT_ERROR(r, BERTH_RPC_INVALID_PARAMS, "prompts/get needs a name");
    json_decref(r);
    end_session(c);
}

/* ==== berth_hub_handle_text ============================================== */

static void check_text(berth_client_t *c, json_t *id, const char *raw)
{
    json_t *m = json_pack("{s:s, s:O, s:s, s:{s:s, s:{s:s}}}", "jsonrpc",
                          "2.0", "id", id, "method", "tools/call", "params",
                          "name", "beta__raw_result", "arguments", "result",
                          raw);
    size_t len = 0;
    char *text = berth_hub_handle_text(g.hub, c, m, &k_drop, &len);
    char *idtext = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT);
    const char *want = apr_psprintf(t.tp, "{\"jsonrpc\":\"2.0\",\"id\":%s,"
                                    "\"result\":%s}", idtext, raw);
    free(idtext);
    if (!text || len != strlen(want) || memcmp(text, want, len) != 0)
        fail_msg("handle_text gave %s, not %s",
                 text ? apr_pstrndup(t.tp, text, len) : "(null)", want);
    /* the same response as berth_hub_handle's tree */
    json_t *parsed = json_loadb(text, len, 0, NULL);
    json_t *tree = berth_hub_handle(g.hub, c, m, &k_drop);
    if (!parsed || !json_equal(parsed, tree))
        fail_msg("handle_text %s, handle %s", want, dump(tree));
    json_decref(parsed);
    json_decref(tree);
    free(text);
    json_decref(m);
}

static void test_handle_text(void **state)
{
    (void)state;
    berth_client_t *c = open_session(NULL);
    /* spaces, key order, 2.50 and an escape: text jansson would rewrite */
    static const char raw[] = "{ \"z\" : [1, 2.50, \"\\u00e9\", 1e2] ,"
                              "\"a\":{ },\"content\":[]  }";
    json_t *id = json_string("text-\xe2\x82\xac");
    check_text(c, id, raw);
    json_decref(id);
    id = json_integer(4711);
    check_text(c, id, "[ ]");
    json_decref(id);

    /* berth's own answers, and a server's error, serialised */
    json_t *msgs[] = {
        req_msg("ping", NULL),
        req_msg("tools/call", tool_params("nope__x", NULL)),
        req_msg("tools/call", json_pack("{s:s, s:s}", "name", "alpha__echo",
                                        "arguments", "x")),
        json_pack("[i]", 1),
    };
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        size_t len = 0;
        char *text = berth_hub_handle_text(g.hub, c, msgs[i], &k_drop, &len);
        json_t *tree = berth_hub_handle(g.hub, c, msgs[i], &k_drop);
        json_t *parsed = text ? json_loadb(text, len, 0, NULL) : NULL;
        if (!parsed || !json_equal(parsed, tree) || strlen(text) != len)
            fail_msg("%s: handle_text %s, handle %s", dump(msgs[i]),
                     text ? text : "(null)", dump(tree));
        json_decref(parsed);
        json_decref(tree);
        free(text);
        json_decref(msgs[i]);
    }
    /* nothing for a notification */
    json_t *n = note_msg("notifications/initialized", NULL);
    size_t len = 99;
    assert_null(berth_hub_handle_text(g.hub, c, n, &k_drop, &len));
    json_decref(n);
    end_session(c);
}

/* ==== resources and completion ========================================= */

static void test_resources(void **state)
{
    (void)state;
    berth_client_t *c = open_session(NULL);
    json_t *r = REQ(c, "resources/read", json_pack("{s:s}", "uri",
                                                   "fixture://hello"));
    json_t *c0 = json_array_get(json_object_get(RESULT(r), "contents"), 0);
    assert_string_equal(json_string_value(json_object_get(c0, "uri")),
                        "fixture://hello");
    assert_string_equal(json_string_value(json_object_get(c0, "text")),
                        "hello world");
    json_decref(r);
    r = REQ(c, "resources/read", json_pack("{s:s}", "uri",
                                           "fixture://data.json"));
    c0 = json_array_get(json_object_get(RESULT(r), "contents"), 0);
    assert_string_equal(json_string_value(json_object_get(c0, "mimeType")),
                        "application/json");
    json_decref(r);
    /* no list names it: the template does */
    r = REQ(c, "resources/read", json_pack("{s:s}", "uri",
                                           "fixture://items/77"));
    c0 = json_array_get(json_object_get(RESULT(r), "contents"), 0);
    assert_string_equal(json_string_value(json_object_get(c0, "text")),
                        "item 77");
    json_decref(r);

    static const char *const k_nowhere[] = { "nope://x", "fixture://nope",
                                             "fixture://items/a/b" };
    for (size_t i = 0; i < sizeof k_nowhere / sizeof k_nowhere[0]; i++) {
        r = REQ(c, "resources/read", json_pack("{s:s}", "uri", k_nowhere[i]));
        ASSERT_ERROR(r, -32002, apr_pstrcat(t.tp, "resource not found: ",
                                            k_nowhere[i], NULL));
        json_decref(r);
    }
    r = REQ(c, "resources/read", json_object());
    ASSERT_ERROR(r, BERTH_RPC_INVALID_PARAMS, "needs a uri");
    json_decref(r);
    end_session(c);
}

static void test_completion(void **state)
{
    (void)state;
    static const struct {
        const char *ref;
        const char *arg, *value;
        const char *values; /* JSON */
    } k_cases[] = {
        { "{\"type\":\"ref/prompt\",\"name\":\"beta__greet\"}", "name", "b",
          "[\"bob\"]" },
        { "{\"type\":\"ref/prompt\",\"name\":\"gamma__greet\"}", "name", "",
          "[\"alice\",\"bob\",\"carol\"]" },
        { "{\"type\":\"ref/resource\",\"uri\":\"fixture://items/{id}\"}",
          "id", "4", "[\"42\"]" },
    };
    berth_client_t *c = open_session(NULL);
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) {
        json_t *ref = json_loads(k_cases[i].ref, 0, NULL);
        json_t *m = req_msg("completion/complete",
                            json_pack("{s:o, s:{s:s, s:s}}", "ref", ref,
                                      "argument", "name", k_cases[i].arg,
                                      "value", k_cases[i].value));
        json_t *before = json_deep_copy(m);
        json_t *r = berth_hub_handle(g.hub, c, m, &k_drop);
        json_t *want = json_loads(k_cases[i].values, 0, NULL);
        json_t *got = json_object_get(json_object_get(RESULT(r),
                                                      "completion"),
                                      "values");
        if (!json_equal(got, want))
            fail_msg("%s: %s", k_cases[i].ref, dump(r));
        /* the client's message is left as it was */
        assert_true(json_equal(m, before));
        json_decref(want);
        json_decref(before);
        json_decref(r);
        json_decref(m);
    }
    static const char *const k_nowhere[] = {
        "{\"type\":\"ref/prompt\",\"name\":\"nope__greet\"}",
        "{\"type\":\"ref/prompt\",\"name\":\"greet\"}",
        "{\"type\":\"ref/resource\",\"uri\":\"nope://{x}\"}",
        "{\"type\":\"ref/other\",\"name\":\"alpha__greet\"}",
    };
    for (size_t i = 0; i < sizeof k_nowhere / sizeof k_nowhere[0]; i++) {
        json_t *r = REQ(c, "completion/complete",
                        json_pack("{s:o, s:{s:s, s:s}}", "ref",
                                  json_loads(k_nowhere[i], 0, NULL),
                                  "argument", "name", "x", "value", ""));
        ASSERT_ERROR(r, BERTH_RPC_INVALID_PARAMS, "no server offers");
        json_decref(r);
    }
    end_session(c);
}

/* ==== subscriptions ===================================================== */

static json_t *sub(berth_client_t *c, const char *method, const char *uri)
{
    return REQ(c, method, json_pack("{s:s}", "uri", uri));
}

/* The URIs the fixture said it holds in answer R (a JSON array, borrowed),
 * or NULL when R did not come from the server. */
static json_t *held_in(json_t *r)
{
    return json_object_get(json_object_get(json_object_get(r, "result"),
                                           "_meta"),
                           "fixture/subscribed");
}

/* SUBSCRIBE or unsubscribe C to URI; ASKED: the server must have been
 * asked. The fixture's answer lists the URIs it holds in its _meta: that is
 * how a test sees the server was asked, and berth's own {} that it was
 * not. */
#define SUB(c, subscribe, uri, asked) sub_at((c), (subscribe), (uri), \
                                             (asked), __FILE__, __LINE__)
static void sub_at(berth_client_t *c, int subscribe, const char *uri,
                   int asked, const char *file, int line)
{
    json_t *r = sub(c, subscribe ? "resources/subscribe"
                                 : "resources/unsubscribe", uri);
    int was_asked = held_in(r) != NULL;
    int empty = json_is_object(json_object_get(r, "result")) &&
                json_object_size(json_object_get(r, "result")) == 0;
    if (asked ? !was_asked : !empty)
        fail_msg("%s:%d: %ssubscribe %s: the server should %shave been "
                 "asked; the answer was %s", file, line,
                 subscribe ? "" : "un", uri, asked ? "" : "not ", dump(r));
    json_decref(r);
}

static const char *updated_line(const char *uri)
{
    return apr_psprintf(t.tp, "{\"jsonrpc\":\"2.0\",\"method\":"
                        "\"notifications/resources/updated\",\"params\":"
                        "{\"uri\":\"%s\"}}", uri);
}

static void assert_no_update(berth_client_t *c, const char *who)
{
    json_t *q = queued_now(c);
    if (count_method(q, "notifications/resources/updated"))
        fail_msg("%s got %s", who, dump(q));
    json_decref(q);
}

static void test_subscribe(void **state)
{
    (void)state;
    const char *hello = "fixture://hello";
    berth_client_t *a = open_session(NULL), *b = open_session(NULL),
                   *d = open_session(NULL), *c = open_session(NULL);
    SUB(a, 1, hello, 1);  /* the first subscriber: the server hears it */
    SUB(b, 1, hello, 0);  /* the others: not */
    SUB(d, 1, hello, 0);
    SUB(b, 1, hello, 0);  /* twice from one session: counted once */

    /* an update reaches the subscribers' queues, not the others' */
    drain(b);
    drain(c);
    drain(d);
    server_writes(c, updated_line(hello));
    json_t *n = next_of(b, "notifications/resources/updated", SEC(10));
    assert_non_null(n);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(n, "params"), "uri")),
                        hello);
    json_decref(n);
    n = next_of(d, "notifications/resources/updated", SEC(10));
    assert_non_null(n);
    json_decref(n);
    assert_no_update(c, "a session that did not subscribe");

    /* B leaves: the server is not told (D and A remain) */
    SUB(b, 0, hello, 0);
    drain(a);
    server_writes(c, updated_line(hello));
    n = next_of(d, "notifications/resources/updated", SEC(10));
    assert_non_null(n);
    json_decref(n);
    assert_no_update(b, "a session that unsubscribed");
    assert_no_update(c, "a session that did not subscribe");
    SUB(b, 0, hello, 0);  /* not subscribed (any more): nothing to do */
    SUB(d, 0, hello, 0);
    SUB(a, 0, hello, 1);  /* the last one: the server hears it */

    /* per session, not per request: one unsubscribe ends two subscribes */
    SUB(c, 1, "fixture://data.json", 1);
    SUB(c, 1, "fixture://data.json", 0);
    SUB(c, 0, "fixture://data.json", 1);
    /* a closed session's subscriptions end with it */
    SUB(d, 1, "fixture://blob", 1);
    end_session(d);
    /* ... and the server is told, as by the last unsubscribe */
    json_t *r = sub(c, "resources/subscribe", hello);
    json_t *held = held_in(r);
    assert_non_null(held);
    for (size_t i = 0; i < json_array_size(held); i++)
        if (strcmp(json_string_value(json_array_get(held, i)),
                   "fixture://blob") == 0)
            fail_msg("the server still holds fixture://blob after its one "
                     "subscriber's session ended: %s", dump(r));
    json_decref(r);
    SUB(c, 0, hello, 1);
    SUB(c, 1, "fixture://blob", 1);
    SUB(c, 0, "fixture://blob", 1);
    /* templates route too; unknown URIs do not */
    SUB(c, 1, "fixture://items/9", 1);
    r = sub(c, "resources/subscribe", "nope://x");
    ASSERT_ERROR(r, -32002, "nope://x");
    json_decref(r);
    r = REQ(c, "resources/unsubscribe", json_object());
    ASSERT_ERROR(r, BERTH_RPC_INVALID_PARAMS, "needs a uri");
    json_decref(r);
    end_session(a);
    end_session(b);
    end_session(c);
}

/* A subscription the server refuses does not count: the client gets the
 * server's error and none of the URI's updates, and the next session that
 * subscribes asks the server again (and is refused too) instead of being
 * told {} for a subscription nobody holds. */
static void test_refused_subscribe(void **state)
{
    (void)state;
    const char *uri = "fixture://items/refuse";
    berth_client_t *a = open_session(NULL), *b = open_session(NULL),
                   *c = open_session(NULL);
    json_t *r = sub(a, "resources/subscribe", uri);
    ASSERT_ERROR(r, BERTH_RPC_INVALID_PARAMS, "refused");
    json_decref(r);
    r = sub(b, "resources/subscribe", uri);
    ASSERT_ERROR(r, BERTH_RPC_INVALID_PARAMS, "refused");
    json_decref(r);
    drain(a);
    /* the update, then a line every initialized session hears (once the
     * server's list is refreshed): when A has the second, it would have
     * the first */
    server_writes(c, updated_line(uri));
    server_writes(c, "{\"jsonrpc\":\"2.0\",\"method\":"
                     "\"notifications/tools/list_changed\"}");
    json_t *before = json_array();
    json_t *n = next_skip(a, "notifications/tools/list_changed", SEC(10),
                          before);
    assert_non_null(n);
    json_decref(n);
    assert_int_equal(count_method(before, "notifications/resources/updated"),
                     0);
    json_decref(before);
    end_session(a);
    end_session(b);
    end_session(c);
}

/* ==== logging ============================================================ */

static json_t *log_args(const char *level, const char *message)
{
    return json_pack("{s:s, s:s}", "level", level, "message", message);
}

/* The data of every notifications/message in B. */
static const char *logged(box_t *b)
{
    const char *all = "";
    apr_thread_mutex_lock(b->lock);
    size_t i;
    json_t *m;
    json_array_foreach(b->msgs, i, m)
        if (method_is(m, "notifications/message"))
            all = apr_pstrcat(t.tp, all, "[",
                              json_string_value(json_object_get(
                                  json_object_get(m, "params"), "data")),
                              "]", NULL);
    apr_thread_mutex_unlock(b->lock);
    return all;
}

static const char *queued_logs(berth_client_t *c)
{
    json_t *q = queued_now(c);
    const char *all = "";
    size_t i;
    json_t *m;
    json_array_foreach(q, i, m)
        if (method_is(m, "notifications/message"))
            all = apr_pstrcat(t.tp, all, "[",
                              json_string_value(json_object_get(
                                  json_object_get(m, "params"), "data")),
                              "]", NULL);
    json_decref(q);
    return all;
}

static void test_logging(void **state)
{
    (void)state;
    berth_client_t *a = open_session(NULL), *b = open_session(NULL),
                   *c = open_session(NULL);
    json_t *r = REQ(a, "logging/setLevel", json_pack("{s:s}", "level",
                                                     "loud"));
    ASSERT_ERROR(r, BERTH_RPC_INVALID_PARAMS, "unknown log level");
    json_decref(r);
    r = REQ(a, "logging/setLevel", json_object());
    ASSERT_ERROR(r, BERTH_RPC_INVALID_PARAMS, "unknown log level");
    json_decref(r);
    /* A: error and above; B: everything (the servers now log from debug) */
    r = REQ(a, "logging/setLevel", json_pack("{s:s}", "level", "error"));
    assert_int_equal(json_object_size(RESULT(r)), 0);
    json_decref(r);
    r = REQ(b, "logging/setLevel", json_pack("{s:s}", "level", "debug"));
    RESULT(r);
    json_decref(r);

    /* during a call, the calling session's sink, by that session's level
     * (the server writes the log before its answer) */
    box_t *ba = box_new(), *bb = box_new(), *bc = box_new();
    berth_sink_t sa = sink_of(ba, 1), sb = sink_of(bb, 1),
                 sc = sink_of(bc, 1);
    r = TOOL_SINK(a, "alpha__log", log_args("warning", "a-warning"), &sa);
    assert_string_equal(text_of(r), "logged");
    json_decref(r);
    r = TOOL_SINK(a, "alpha__log", log_args("critical", "a-critical"), &sa);
    json_decref(r);
    assert_string_equal(logged(ba), "[a-critical]");
    r = TOOL_SINK(b, "beta__log", log_args("debug", "b-debug"), &sb);
    json_decref(r);
    assert_string_equal(logged(bb), "[b-debug]");
    /* no level set: every log of its own calls */
    r = TOOL_SINK(c, "gamma__log", log_args("info", "c-info"), &sc);
    json_decref(r);
    assert_string_equal(logged(bc), "[c-info]");
    assert_string_equal(queued_logs(a), "");
    assert_string_equal(queued_logs(b), "");
    assert_string_equal(queued_logs(c), "");

    /* outside any call: the queues of sessions that set a level low
     * enough */
    server_notifies(BETA, "notifications/message",
                    json_pack("{s:s, s:s, s:s}", "level", "warning", "logger",
                              "t", "data", "q-warning"));
    server_notifies(GAMMA, "notifications/message",
                    json_pack("{s:s, s:s, s:s}", "level", "alert", "logger",
                              "t", "data", "q-alert"));
    assert_string_equal(queued_logs(a), "[q-alert]");
    assert_string_equal(queued_logs(b), "[q-warning][q-alert]");
    assert_string_equal(queued_logs(c), "");
    end_session(a);
    end_session(b);
    end_session(c);
}

/* ==== progress ========================================================== */

static void test_progress(void **state)
{
    (void)state;
    berth_client_t *c = open_session(NULL);
    json_t *tokens[] = { json_string("tok-\xc3\xa9"), json_integer(99) };
    for (size_t k = 0; k < 2; k++) {
        box_t *b = box_new();
        berth_sink_t s = sink_of(b, 1);
        json_t *m = req_msg("tools/call",
                            json_pack("{s:s, s:{s:i}, s:{s:O, s:s}}", "name",
                                      "beta__notify_progress", "arguments",
                                      "steps", 3, "_meta", "progressToken",
                                      tokens[k], "other", "kept"));
        json_t *before = json_deep_copy(m);
        json_t *r = berth_hub_handle(g.hub, c, m, &s);
        /* the server had a token (berth's) */
        assert_string_equal(text_of(r), "completed 3 steps");
        /* the progress comes before the answer, under the client's token */
        assert_int_equal(box_count(b, "notifications/progress"), 3);
        for (int i = 0; i < 3; i++) {
            json_t *n = box_wait(b, "notifications/progress", i, 0);
            json_t *p = json_object_get(n, "params");
            if (!json_equal(json_object_get(p, "progressToken"), tokens[k]) ||
                json_integer_value(json_object_get(p, "progress")) != i + 1 ||
                json_integer_value(json_object_get(p, "total")) != 3)
                fail_msg("progress %d: %s", i + 1, dump(n));
            json_decref(n);
        }
        /* the client's message is not changed */
        assert_true(json_equal(m, before));
        json_decref(before);
        json_decref(r);
        json_decref(m);
        json_decref(tokens[k]);
    }
    /* no token: no progress */
    box_t *b = box_new();
    berth_sink_t s = sink_of(b, 1);
    json_t *r = TOOL_SINK(c, "beta__notify_progress",
                          json_pack("{s:i}", "steps", 2), &s);
    ASSERT_CONTAINS(text_of(r), "(no progressToken)");
    json_decref(r);
    assert_int_equal(box_count(b, "notifications/progress"), 0);
    end_session(c);
}

/* ==== a server's questions ============================================== */

static json_t *sampling_answer(json_t *id, const char *text)
{
    return json_pack("{s:s, s:O, s:{s:s, s:{s:s, s:s}, s:s, s:s}}",
                     "jsonrpc", "2.0", "id", id, "result", "role",
                     "assistant", "content", "type", "text", "text", text,
                     "model", "hub-test", "stopReason", "endTurn");
}

/* A response message from C's client: the hub answers nothing. */
static void respond(berth_client_t *c, json_t *msg)
{
    json_t *r = berth_hub_handle(g.hub, c, msg, &k_drop);
    if (r)
        fail_msg("a response %s was answered: %s", dump(msg), dump(r));
    json_decref(msg);
}

/* Starts SERVER__ask_sampling for C on a thread with a streaming sink into
 * B, and waits for the server's request there (a new reference). */
static json_t *ask_sampling(berth_client_t *c, const char *tool, box_t *b,
                            json_int_t id, job_t **job)
{
    json_t *m = json_pack("{s:s, s:I, s:s, s:{s:s, s:{s:s}}}", "jsonrpc",
                          "2.0", "id", id, "method", "tools/call", "params",
                          "name", tool, "arguments", "prompt", "a question");
    *job = job_start(g.hub, c, m, sink_of(b, 1), 0);
    json_t *q = box_wait(b, "sampling/createMessage", 0, SEC(10));
    if (!q)
        fail_msg("no sampling/createMessage reached the sink; it holds %s",
                 dump(b->msgs));
    return q;
}

static void test_sampling(void **state)
{
    (void)state;
    berth_client_t *a = open_session("{\"sampling\":{}}");
    berth_client_t *other = open_session("{\"sampling\":{}}");
    box_t *b = box_new();
    job_t *job;
    json_t *q = ask_sampling(a, "alpha__ask_sampling", b, 1, &job);
    /* under berth's id, with the server's params */
    json_t *qid = json_object_get(q, "id");
    assert_true(json_is_string(qid));
    assert_true(strncmp(json_string_value(qid), "berth-", 6) == 0);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(
                                               json_object_get(q, "params"),
                                               "messages"),
                                           0),
                            "content"),
            "text")),
        "a question");
    /* another session cannot answer it */
    respond(other, sampling_answer(qid, "from another session"));
    /* the asked client does */
    respond(a, sampling_answer(qid, "from the caller"));
    json_t *r = job_finish(job);
    assert_false(is_error_result(r));
    assert_string_equal(text_of(r), "sampled: from the caller");
    json_decref(r);
    /* a late or repeated answer goes nowhere */
    respond(a, sampling_answer(qid, "again"));
    json_decref(q);
    /* and the server is still fine */
    r = TOOL(a, "alpha__echo", json_pack("{s:s}", "text", "still here"));
    assert_string_equal(text_of(r), "still here");
    json_decref(r);
    assert_int_equal(box_count(b, "sampling/createMessage"), 1);
    end_session(a);
    end_session(other);
}

static void test_sampling_refused(void **state)
{
    (void)state;
    /* no sampling capability, or a sink that cannot stream: the server is
     * told no client can answer, and the call ends (the fixture makes that
     * an isError result) */
    static const struct {
        const char *caps;
        int streams;
    } k_cases[] = {
        { NULL, 1 },
        { "{\"roots\":{}}", 1 },
        { "{\"sampling\":{}}", 0 },
    };
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) {
        berth_client_t *c = open_session(k_cases[i].caps);
        box_t *b = box_new();
        berth_sink_t s = sink_of(b, k_cases[i].streams);
        json_t *r = TOOL_SINK(c, "beta__ask_sampling",
                              json_pack("{s:s}", "prompt", "q"), &s);
        if (!is_error_result(r) || !strstr(text_of(r), "-32601"))
            fail_msg("case %d: %s", (int)i, dump(r));
        ASSERT_CONTAINS(text_of(r), "no client of berth");
        json_decref(r);
        assert_int_equal(json_array_size(b->msgs), 0);
        end_session(c);
    }
}

/* ==== the rest of the request path ==================================== */

static void test_unknown_and_invalid(void **state)
{
    (void)state;
    berth_client_t *c = open_session(NULL);
    json_t *r = REQ(c, "tools/frobnicate", NULL);
    ASSERT_ERROR(r, BERTH_RPC_METHOD_NOT_FOUND, "tools/frobnicate");
    json_decref(r);
    /* an unknown notification, or a response nobody waits for: nothing */
    notify_hub(c, "notifications/whatever", json_object());
    notify_hub(c, "notifications/cancelled",
               json_pack("{s:i}", "requestId", 12345));
    respond(c, json_pack("{s:s, s:s, s:{}}", "jsonrpc", "2.0", "id",
                         "berth-999-00000000", "result"));
    respond(c, json_pack("{s:s, s:i, s:{s:i, s:s}}", "jsonrpc", "2.0", "id",
                         3, "error", "code", -1, "message", "x"));
    /* not JSON-RPC 2.0: -32600 with a null id */
    static const char *const k_invalid[] = {
        "[1,2]",
        "\"ping\"",
        "{}",
        "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"error\":{}}",
    };
    for (size_t i = 0; i < sizeof k_invalid / sizeof k_invalid[0]; i++) {
        json_t *m = json_loads(k_invalid[i], JSON_DECODE_ANY, NULL);
        assert_non_null(m);
        r = berth_hub_handle(g.hub, c, m, &k_drop);
        ASSERT_ERROR(r, BERTH_RPC_INVALID_REQUEST, NULL);
        if (!json_is_null(json_object_get(r, "id")))
            fail_msg("%s: %s", k_invalid[i], dump(r));
        json_decref(r);
        json_decref(m);
    }
    /* the session still works */
    r = REQ(c, "tools/call", tool_params("alpha__echo",
                                         json_pack("{s:s}", "text", "ok")));
    assert_string_equal(text_of(r), "ok");
    json_decref(r);
    end_session(c);
}

static void test_may_stream(void **state)
{
    (void)state;
    static const struct {
        const char *msg;
        int streams;
    } k_cases[] = {
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\"}", 1 },
        { "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"prompts/get\"}", 1 },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\"}", 1 },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\"}",
          1 },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\"}", 0 },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 0 },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", 0 },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/list\"}", 0 },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/list\"}", 0 },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
          "\"resources/templates/list\"}", 0 },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/subscribe\"}",
          0 },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
          "\"resources/unsubscribe\"}", 0 },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\"}",
          0 },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"no/such\"}", 0 },
        /* not requests */
        { "{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\"}", 0 },
        { "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\"}", 0 },
        { "{\"jsonrpc\":\"2.0\",\"id\":\"berth-1\",\"result\":{}}", 0 },
        { "[1]", 0 },
    };
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) {
        json_t *m = json_loads(k_cases[i].msg, JSON_DECODE_ANY, NULL);
        assert_non_null(m);
        if (berth_hub_may_stream(m) != k_cases[i].streams)
            fail_msg("may_stream(%s) is %d", k_cases[i].msg,
                     berth_hub_may_stream(m));
        json_decref(m);
    }
    assert_int_equal(berth_hub_may_stream(NULL), 0);
}

/* ==== cancelling and closing ============================================ */

static json_t *sleep_msg(json_int_t id, const char *tool)
{
    return json_pack("{s:s, s:I, s:s, s:{s:s, s:{s:i}}}", "jsonrpc", "2.0",
                     "id", id, "method", "tools/call", "params", "name",
                     tool, "arguments", "ms", LONG_SLEEP_MS);
}

/* Starts a long SERVER__sleep as request ID of C on a thread, its sink
 * into B, and returns once the hub has the call in flight: a log from the
 * server reaches that call's sink only then (C sets no level, so it gets
 * every log of its calls). */
static job_t *sleep_in_flight(berth_client_t *c, int server, json_int_t id,
                              box_t *b)
{
    const char *tool = apr_pstrcat(t.tp, k_names[server], "__sleep", NULL);
    job_t *j = job_start(g.hub, c, sleep_msg(id, tool), sink_of(b, 1), 0);
    apr_time_t deadline = berth_platform_clock() + SEC(10);
    while (box_count(b, "notifications/message") == 0) {
        if (berth_platform_clock() > deadline)
            fail_msg("%s never was in flight", tool);
        server_notifies(server, "notifications/message",
                        json_pack("{s:s, s:s, s:s}", "level", "info",
                                  "logger", "probe", "data", "probe"));
        json_decref(box_wait(b, "notifications/message", 0, MSEC(20)));
    }
    return j;
}

/* J, a call of a closed session that had a question of its server
 * pending, ended: cancelled, or (when the close came between the call's
 * start and its registration, so that only the dropped question reached
 * the server) answered by the server's giving up. */
static void assert_ended(job_t *j, const char *server)
{
    json_t *r = job_finish(j);
    if (json_object_get(r, "error"))
        ASSERT_ERROR(r, BERTH_RPC_INTERNAL_ERROR,
                     apr_pstrcat(t.tp, "request to ", server, " cancelled",
                                 NULL));
    else if (!is_error_result(r) ||
             !strstr(text_of(r), "request ended before it answered"))
        fail_msg("a call of a closed session ended with %s", dump(r));
    json_decref(r);
}

static void test_cancelled(void **state)
{
    (void)state;
    berth_client_t *x = open_session("{\"sampling\":{}}");
    berth_client_t *y = open_session(NULL);
    /* X: a call with id 7, surely in flight (its server asked something) */
    box_t *bx = box_new(), *by = box_new();
    job_t *jx;
    json_t *q = ask_sampling(x, "beta__ask_sampling", bx, 7, &jx);
    /* Y: a long sleep with id 7 too, on gamma */
    job_t *jy = sleep_in_flight(y, GAMMA, 7, by);
    notify_hub(y, "notifications/cancelled",
               json_pack("{s:i, s:s}", "requestId", 7, "reason",
                         "test-cancel"));
    json_t *r = job_finish(jy);
    /* the client's reason, or "cancelled before it started" when the
     * cancellation came between the call's start and its registration */
    ASSERT_ERROR(r, BERTH_RPC_INTERNAL_ERROR, "request to gamma cancelled");
    json_decref(r);
    /* X's call of the same id, in another session, runs on */
    assert_false(job_wait(jx, 0));
    respond(x, sampling_answer(json_object_get(q, "id"), "not cancelled"));
    r = job_finish(jx);
    assert_string_equal(text_of(r), "sampled: not cancelled");
    json_decref(r);
    json_decref(q);
    end_session(x);
    end_session(y);
}

static void test_session_close(void **state)
{
    (void)state;
    berth_client_t *c = open_session("{\"sampling\":{}}");
    const char *id = apr_pstrdup(t.tp, berth_client_id(c));
    /* two calls in flight: one waits for the client's answer, one for its
     * server */
    box_t *bq = box_new(), *bs = box_new();
    job_t *jq, *js;
    json_t *q = ask_sampling(c, "alpha__ask_sampling", bq, 1, &jq);
    js = sleep_in_flight(c, GAMMA, 2, bs);
    berth_hub_session_close(g.hub, c);
    assert_ended(jq, "alpha");
    json_t *r = job_finish(js);
    ASSERT_ERROR(r, BERTH_RPC_INTERNAL_ERROR, "request to gamma cancelled");
    json_decref(r);
    assert_null(berth_hub_session_find(g.hub, id));
    int closed = 0;
    assert_null(berth_client_next(c, SEC(1), &closed));
    assert_true(closed);
    /* an answer after the end goes nowhere; a new request is refused */
    respond(c, sampling_answer(json_object_get(q, "id"), "too late"));
    json_decref(q);
    r = TOOL(c, "alpha__echo", json_pack("{s:s}", "text", "x"));
    ASSERT_ERROR(r, BERTH_RPC_INVALID_REQUEST, "the session ended");
    json_decref(r);
    /* the server gave up its question and serves others */
    berth_client_t *o = open_session(NULL);
    r = TOOL(o, "alpha__echo", json_pack("{s:s}", "text", "next"));
    assert_string_equal(text_of(r), "next");
    json_decref(r);
    end_session(c);
    end_session(o);
}

static void test_close_all(void **state)
{
    (void)state;
    berth_client_t *a = open_session("{\"sampling\":{}}");
    berth_client_t *s = open_session(NULL);
    berth_client_t *idle = open_session(NULL);
    box_t *ba = box_new(), *bs = box_new();
    job_t *ja;
    json_t *q = ask_sampling(a, "alpha__ask_sampling", ba, 1, &ja);
    json_decref(q);
    job_t *js = sleep_in_flight(s, GAMMA, 2, bs);
    assert_int_equal(berth_hub_session_count(g.hub), 3);
    berth_hub_close_all(g.hub);
    assert_int_equal(berth_hub_session_count(g.hub), 0);
    assert_ended(ja, "alpha");
    json_t *r = job_finish(js);
    ASSERT_ERROR(r, BERTH_RPC_INTERNAL_ERROR, "request to gamma cancelled");
    json_decref(r);
    berth_client_t *all[] = { a, s, idle };
    for (int i = 0; i < 3; i++) {
        int closed = 0;
        assert_null(berth_hub_session_find(g.hub, berth_client_id(all[i])));
        json_t *m = berth_client_next(all[i], SEC(1), &closed);
        assert_null(m);
        assert_true(closed);
        end_session(all[i]);
    }
}

/* ==== the session layer: reaping and the limit ======================== */

/* Forgets our reference to C without dropping it (the test drops it). */
static void untrack(berth_client_t *c)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (t.sessions[i].c == c)
            t.sessions[i].c = NULL;
}

static void test_reap(void **state)
{
    (void)state;
    berth_hub_opts_t o = { .session_idle = MSEC(400) };
    berth_hub_t *h = test_hub(&o);
    berth_client_t *idle = open_session_on(h, NULL, 1);
    berth_client_t *held = open_session_on(h, NULL, 1);
    berth_client_t *busy = open_session_on(h, NULL, 1);
    berth_client_t *fresh = new_session_on(h);
    const char *idle_id = apr_pstrdup(t.tp, berth_client_id(idle));
    const char *fresh_id = apr_pstrdup(t.tp, berth_client_id(fresh));
    const char *busy_id = apr_pstrdup(t.tp, berth_client_id(busy));
    /* busy: a request in flight, with the reference a front holds for it
     * (ours, handed over) */
    untrack(busy);
    job_t *jb = job_start(h, busy, sleep_msg(1, "gamma__sleep"), k_drop, 1);
    /* idle and fresh: only the registry holds them; held: we do (a
     * stream open) */
    apr_time_t t0 = berth_platform_clock();
    untrack(idle);
    berth_hub_session_release(h, idle);
    untrack(fresh);
    berth_hub_session_release(h, fresh);

    /* nothing is reaped before its idle time (checked when the check ran
     * well within it) */
    int early = berth_hub_reap(h);
    if (berth_platform_clock() - t0 < MSEC(300))
        assert_int_equal(early, 0);

    /* past it, the idle ones go, and only they (find would touch them:
     * the count is watched) */
    int reaped = early;
    apr_time_t deadline = berth_platform_clock() + SEC(10);
    while (berth_hub_session_count(h) > 2) {
        if (berth_platform_clock() > deadline)
            fail_msg("idle sessions not reaped within 10 s");
        apr_sleep(MSEC(20)); /* the idle time is what must pass */
        reaped += berth_hub_reap(h);
    }
    assert_int_equal(reaped, 2);
    assert_null(berth_hub_session_find(h, idle_id));
    assert_null(berth_hub_session_find(h, fresh_id));
    assert_false(job_wait(jb, 0));
    berth_client_t *f = berth_hub_session_find(h, busy_id);
    assert_ptr_equal(f, busy);
    berth_hub_session_release(h, f);
    f = berth_hub_session_find(h, berth_client_id(held));
    assert_ptr_equal(f, held);
    berth_hub_session_release(h, f);
    assert_int_equal(berth_hub_reap(h), 0);

    /* the busy one's call ends with its session */
    f = berth_hub_session_find(h, busy_id);
    berth_hub_session_close(h, f);
    berth_hub_session_release(h, f);
    json_t *r = job_finish(jb);
    assert_non_null(json_object_get(r, "error"));
    json_decref(r);
    assert_int_equal(berth_hub_session_count(h), 1);
    end_session_on(h, held);
    assert_int_equal(berth_hub_session_count(h), 0);
}

static void test_max_sessions(void **state)
{
    (void)state;
    berth_hub_opts_t o = { .max_sessions = 2 };
    berth_hub_t *h = test_hub(&o);
    berth_client_t *a = new_session_on(h);
    berth_client_t *b = new_session_on(h);
    assert_null(berth_hub_session_new(h));
    assert_int_equal(berth_hub_session_count(h), 2);
    /* a closed session frees its place, even while referenced */
    berth_hub_session_close(h, a);
    berth_client_t *c = new_session_on(h);
    assert_null(berth_hub_session_new(h));
    end_session_on(h, a);
    end_session_on(h, b);
    end_session_on(h, c);
    assert_int_equal(berth_hub_session_count(h), 0);
}

/* A full table makes room for a new session: the oldest idle one never
 * used after initialize goes first, then the least recently used idle
 * one; a session with a request in flight (a reference held) never. */
static void test_full_table_makes_room(void **state)
{
    (void)state;
    berth_hub_opts_t o = { .max_sessions = 3 };
    berth_hub_t *h = test_hub(&o);
    const char *id[3];
    for (int i = 0; i < 3; i++) {
        berth_client_t *c = new_session_on(h);
        id[i] = apr_pstrdup(t.tp, berth_client_id(c));
        untrack(c);
        berth_hub_session_release(h, c);
    }
    /* 0 used and held (a request in flight), the least recently used; 2
     * used and idle; 1 never used */
    berth_client_t *held = berth_hub_session_find(h, id[0]);
    berth_client_t *f = berth_hub_session_find(h, id[2]);
    berth_hub_session_release(h, f);
    berth_client_t *n1 = new_session_on(h);
    assert_int_equal(berth_hub_session_count(h), 3);
    assert_null(berth_hub_session_find(h, id[1]));
    /* n1, idle and never used, goes before 2 */
    const char *n1_id = apr_pstrdup(t.tp, berth_client_id(n1));
    untrack(n1);
    berth_hub_session_release(h, n1);
    berth_client_t *n2 = new_session_on(h);
    assert_null(berth_hub_session_find(h, n1_id));
    /* n2 is held, 0 is held: 2 goes */
    berth_client_t *n3 = new_session_on(h);
    assert_null(berth_hub_session_find(h, id[2]));
    f = berth_hub_session_find(h, id[0]);
    assert_ptr_equal(f, held);
    berth_hub_session_release(h, f);
    /* every one busy: no room */
    assert_null(berth_hub_session_new(h));
    assert_int_equal(berth_hub_session_count(h), 3);
    berth_hub_session_close(h, held);
    berth_hub_session_release(h, held);
    end_session_on(h, n2);
    end_session_on(h, n3);
}

/* A session never used after initialize idles out after
 * session_idle_unused; a used one keeps session_idle. */
static void test_reap_unused(void **state)
{
    (void)state;
    berth_hub_opts_t o = { .session_idle = SEC(60),
                           .session_idle_unused = MSEC(200) };
    berth_hub_t *h = test_hub(&o);
    berth_client_t *unused = new_session_on(h);
    berth_client_t *used = new_session_on(h);
    const char *unused_id = apr_pstrdup(t.tp, berth_client_id(unused));
    const char *used_id = apr_pstrdup(t.tp, berth_client_id(used));
    untrack(unused);
    berth_hub_session_release(h, unused);
    untrack(used);
    berth_hub_session_release(h, used);
    berth_client_t *f = berth_hub_session_find(h, used_id);
    berth_hub_session_release(h, f);
    apr_time_t deadline = berth_platform_clock() + SEC(10);
    int reaped = 0;
    while (berth_hub_session_count(h) > 1) {
        if (berth_platform_clock() > deadline)
            fail_msg("the unused session was not reaped within 10 s");
        apr_sleep(MSEC(20));
        reaped += berth_hub_reap(h);
    }
    assert_int_equal(reaped, 1);
    assert_null(berth_hub_session_find(h, unused_id));
    f = berth_hub_session_find(h, used_id);
    assert_non_null(f);
    berth_hub_session_close(h, f);
    berth_hub_session_release(h, f);
}

/* A client's capabilities are kept up to a bound (session.c keeps a huge
 * object as its names and small values): what berth reads of them stays. */
static void test_caps_bounded(void **state)
{
    (void)state;
    berth_hub_opts_t o = { .session_idle = 0 };
    berth_hub_t *h = test_hub(&o);
    size_t n = 1 << 20;
    char *blob = malloc(n + 1);
    assert_non_null(blob);
    memset(blob, 'x', n);
    blob[n] = '\0';
    const char *big = apr_pstrcat(t.tp, "{\"roots\":{\"listChanged\":true},"
                                  "\"sampling\":{},\"experimental\":{\"b\":\"",
                                  blob, "\"}}", NULL);
    const char *none = apr_pstrcat(t.tp, "{\"experimental\":{\"b\":\"", blob,
                                   "\"}}", NULL);
    free(blob);
    berth_client_t *c = open_session_on(h, big, 1);
    assert_true(berth_client_can_be_asked(c));
    end_session_on(h, c);
    c = open_session_on(h, none, 1);
    assert_false(berth_client_can_be_asked(c));
    end_session_on(h, c);
}

/* ==== list_changed and a server that is down ============================ */

static void test_list_changed(void **state)
{
    (void)state;
    static const char *const k_lists[] = {
        "notifications/tools/list_changed",
        "notifications/prompts/list_changed",
        "notifications/resources/list_changed",
    };
    berth_client_t *in = open_session(NULL);
    berth_client_t *half = open_session_on(g.hub, NULL, 0);
    berth_client_t *none = new_session_on(g.hub);
    drain(in);
    drain(half);
    drain(none);
    /* a restart: the server goes (its lists with it) and comes back; gamma
     * also leaves its sleeps behind */
    berth_supervisor_restart(g.sv[GAMMA]);
    wait_ready(GAMMA);
    /* twice each: when it stopped, when it was ready again */
    json_t *got = json_array();
    apr_time_t deadline = berth_platform_clock() + SEC(10);
    for (int i = 0; i < 3; i++)
        while (count_method(got, k_lists[i]) < 2) {
            int closed;
            json_t *m = berth_client_next(in, MSEC(100), &closed);
            if (m)
                json_array_append_new(got, m);
            else if (berth_platform_clock() > deadline)
                fail_msg("an initialized session got only %s", dump(got));
        }
    assert_int_equal(json_array_size(got), 6);
    json_decref(got);
    /* sessions that did not send notifications/initialized get none */
    json_t *q = queued_now(half);
    assert_int_equal(json_array_size(q), 0);
    json_decref(q);
    q = queued_now(none);
    assert_int_equal(json_array_size(q), 0);
    json_decref(q);
    json_t *r = TOOL(in, "gamma__echo", json_pack("{s:s}", "text", "back"));
    assert_string_equal(text_of(r), "back");
    json_decref(r);

    /* a server's own list_changed (the fixture's add_tool) */
    notify_hub(half, "notifications/initialized", NULL);
    drain(in);
    r = TOOL(in, "beta__add_tool", NULL);
    const char *added = text_of(r); /* "added extra_N" */
    json_decref(r);
    assert_true(strncmp(added, "added ", 6) == 0);
    const char *exposed = apr_pstrcat(t.tp, "beta__", added + 6, NULL);
    json_t *n = next_of(in, "notifications/tools/list_changed", SEC(10));
    assert_non_null(n);
    json_decref(n);
    n = next_of(half, "notifications/tools/list_changed", SEC(10));
    assert_non_null(n);
    json_decref(n);
    q = queued_now(none);
    assert_int_equal(json_array_size(q), 0);
    json_decref(q);
    /* and the new tool is listed and called */
    r = REQ(in, "tools/list", NULL);
    json_t *names = names_of(json_object_get(RESULT(r), "tools"), "name");
    int found = 0;
    size_t i;
    json_t *nm;
    json_array_foreach(names, i, nm)
        found += strcmp(json_string_value(nm), exposed) == 0;
    assert_int_equal(found, 1);
    json_decref(names);
    json_decref(r);
    r = TOOL(in, exposed, NULL);
    ASSERT_CONTAINS(text_of(r), "called");
    json_decref(r);
    end_session(in);
    end_session(half);
    end_session(none);
}

static void test_server_down(void **state)
{
    (void)state;
    berth_client_t *c = open_session(NULL);
    json_t *r = REQ(c, "tools/list", NULL);
    json_decref(r);
    berth_supervisor_stop(g.sv[GAMMA]);
    /* listed before it went: the route is stale */
    r = TOOL(c, "gamma__echo", json_pack("{s:s}", "text", "x"));
    ASSERT_ERROR(r, BERTH_RPC_SERVER_GONE, "gamma");
    json_decref(r);
    /* the lists now leave it out */
    r = REQ(c, "tools/list", NULL);
    json_t *names = names_of(json_object_get(RESULT(r), "tools"), "name");
    size_t i;
    json_t *nm;
    json_array_foreach(names, i, nm)
        if (strncmp(json_string_value(nm), "gamma__", 7) == 0)
            fail_msg("a stopped server's tool is listed: %s",
                     json_string_value(nm));
    assert_true(json_array_size(names) > 0);
    json_decref(names);
    json_decref(r);
    /* listed after it went: its prefix names it */
    r = TOOL(c, "gamma__echo", json_pack("{s:s}", "text", "x"));
    ASSERT_ERROR(r, BERTH_RPC_SERVER_GONE, "server gamma is not running");
    json_decref(r);
    r = REQ(c, "prompts/get", json_pack("{s:s}", "name", "gamma__greet"));
    ASSERT_ERROR(r, BERTH_RPC_SERVER_GONE, "server gamma");
    json_decref(r);
    /* the others are unaffected */
    r = TOOL(c, "alpha__nope", NULL);
    ASSERT_ERROR(r, BERTH_RPC_INVALID_PARAMS, "unknown tool");
    json_decref(r);
    r = TOOL(c, "beta__echo", json_pack("{s:s}", "text", "y"));
    assert_string_equal(text_of(r), "y");
    json_decref(r);
    /* back again */
    berth_supervisor_restart(g.sv[GAMMA]);
    wait_ready(GAMMA);
    r = TOOL(c, "gamma__echo", json_pack("{s:s}", "text", "z"));
    assert_string_equal(text_of(r), "z");
    json_decref(r);
    end_session(c);
}

/* ==== names that belong to a server that is down ======================= */

/* A stack of the test's own: servers NAMES[0..N) in the config GLOBAL (their
 * commands the fixture, with ENV, a JSON object, when given), each knowing
 * its name (HUB_TEST_WHO), under a
 * router and hub of the test's own, restarting after 30 s (a crash keeps
 * a server in backoff for the whole test), all ready. */
typedef struct {
    berth_config_t *cfg;
    berth_router_t *router;
    berth_hub_t *hub;
    berth_supervisor_t *sv[4];
    int n;
} own_stack_t;

static void own_stack(own_stack_t *st, const char *global, const char *env,
                      const char *const *names, int n)
{
    json_t *servers = json_object();
    for (int i = 0; i < n; i++) {
        json_t *e = env ? json_loads(env, 0, NULL) : json_object();
        assert_non_null(e);
        json_object_set_new(e, "HUB_TEST_WHO", json_string(names[i]));
        json_object_set_new(servers, names[i],
                            json_pack("{s:s, s:o}", "command", g_fixture,
                                      "env", e));
    }
    json_t *root = json_loads(global, 0, NULL);
    assert_non_null(root);
    json_object_set_new(root, "mcpServers", servers);
    char *text = json_dumps(root, 0);
    json_decref(root);
    apr_array_header_t *diags = apr_array_make(t.tp, 4, sizeof(berth_diag_t));
    assert_int_equal(berth_config_parse("own.json", text, strlen(text),
                                        &st->cfg, diags, t.tp),
                     APR_SUCCESS);
    free(text);
    st->router = berth_router_create(t.tp);
    st->hub = berth_hub_create(st->router, NULL, t.tp);
    for (int i = 0; i < 4; i++)
        if (!t.hubs[i]) {
            t.hubs[i] = st->hub;
            break;
        }
    berth_supervisor_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.restart = 1;
    opts.cb = berth_hub_upstream_callbacks(st->hub);
    opts.on_state = berth_hub_server_state;
    opts.state_baton = st->hub;
    opts.backoff_initial = SEC(30);
    opts.backoff_max = SEC(30);
    st->n = n;
    for (int i = 0; i < n; i++) {
        st->sv[i] = berth_supervisor_create(
            g.ctx, st->cfg, berth_config_find_server(st->cfg, names[i]),
            &opts, t.tp);
        t.svs[i] = st->sv[i];
        berth_router_add(st->router, berth_server_of(st->sv[i]));
        berth_supervisor_start(st->sv[i]);
    }
    for (int i = 0; i < n; i++) {
        const char *why = NULL;
        if (berth_supervisor_wait_ready(st->sv[i], SEC(30), &why, t.tp) !=
            APR_SUCCESS)
            fail_msg("%s did not start: %s", names[i], why ? why : "timeout");
    }
}

static berth_sv_state_t state_of(berth_supervisor_t *sv)
{
    apr_pool_t *p;
    apr_pool_create(&p, t.tp);
    berth_sv_state_t st = berth_supervisor_status(sv, p).state;
    apr_pool_destroy(p);
    return st;
}

static void wait_state(berth_supervisor_t *sv, berth_sv_state_t want)
{
    apr_time_t deadline = berth_platform_clock() + SEC(10);
    while (state_of(sv) != want) {
        if (berth_platform_clock() > deadline)
            fail_msg("state %s, not %s after 10 s",
                     berth_sv_state_name(state_of(sv)),
                     berth_sv_state_name(want));
        apr_sleep(MSEC(5));
    }
}

/* Who answered env_dump under NAME (its HUB_TEST_WHO), or the error. */
static const char *who_answers(berth_hub_t *h, berth_client_t *c,
                               const char *name)
{
    json_t *r = REQ_ON(h, c, "tools/call", tool_params(name, NULL), NULL);
    const char *out;
    if (json_object_get(r, "error")) {
        out = apr_psprintf(t.tp, "error %d: %s",
                           (int)json_integer_value(json_object_get(
                               json_object_get(r, "error"), "code")),
                           json_string_value(json_object_get(
                               json_object_get(r, "error"), "message")));
    } else {
        json_t *env = json_loads(text_of(r), 0, NULL);
        out = apr_pstrdup(t.tp, json_string_value(json_object_get(
                                     env, "HUB_TEST_WHO")));
        json_decref(env);
    }
    json_decref(r);
    return out ? out : "(nobody)";
}

/* The tool names H lists now, as one string, sorted as listed. */
static int lists_name(berth_hub_t *h, berth_client_t *c, const char *name)
{
    json_t *r = REQ_ON(h, c, "tools/list", NULL, NULL);
    json_t *names = names_of(json_object_get(RESULT(r), "tools"), "name");
    int found = 0;
    size_t i;
    json_t *nm;
    json_array_foreach(names, i, nm)
        found += strcmp(json_string_value(nm), name) == 0;
    json_decref(names);
    json_decref(r);
    return found;
}

/* With "namespace": "none" on two servers that both have env_dump, the
 * name is the first's, whatever is up: while the first is down (backoff
 * after a crash) a list does not hand its names to the second, and a call
 * of such a name fails with -32030 naming the first (docs/http.md,
 * "Names"). */
static void test_names_kept_while_down(void **state)
{
    (void)state;
    static const char *const k_two[] = { "first", "second" };
    own_stack_t st;
    own_stack(&st, "{\"namespace\": \"none\"}", NULL, k_two, 2);
    berth_client_t *c = open_session_on(st.hub, NULL, 1);
    const char *hashed = berth_router_clean_name(
        apr_psprintf(t.tp, "env_dump_%08x",
                     berth_router_hash("second/env_dump")),
        t.tp);
    assert_true(lists_name(st.hub, c, "env_dump"));
    assert_true(lists_name(st.hub, c, hashed));
    assert_string_equal(who_answers(st.hub, c, "env_dump"), "first");
    assert_string_equal(who_answers(st.hub, c, hashed), "second");

    /* the first crashes, and stays down (30 s of backoff) */
    json_t *r = REQ_ON(st.hub, c, "tools/call",
                       tool_params("crash", json_pack("{s:i}", "code", 3)),
                       NULL);
    ASSERT_ERROR(r, BERTH_RPC_SERVER_GONE, "server first exited");
    json_decref(r);
    wait_state(st.sv[0], BERTH_SV_BACKOFF);
    /* a list leaves the first's tools out and gives its names to nobody */
    assert_false(lists_name(st.hub, c, "env_dump"));
    assert_true(lists_name(st.hub, c, hashed));
    const char *who = who_answers(st.hub, c, "env_dump");
    if (!strstr(who, "error -32030: server first is not running (backoff: "
                     "server first exited with status 3)"))
        fail_msg("env_dump while its server is down: %s", who);
    assert_string_equal(who_answers(st.hub, c, hashed), "second");
    /* a name only the first has: the first's too */
    ASSERT_CONTAINS(who_answers(st.hub, c, "add"), "server first is not "
                                                  "running");

    /* back: the name is the first's again */
    berth_supervisor_restart(st.sv[0]);
    wait_state(st.sv[0], BERTH_SV_READY);
    assert_true(lists_name(st.hub, c, "env_dump"));
    assert_string_equal(who_answers(st.hub, c, "env_dump"), "first");
    assert_string_equal(who_answers(st.hub, c, hashed), "second");
    end_session_on(st.hub, c);
}

/* ==== roots outside a call ============================================= */

/* What ALPHA's roots/list requests got, once it got at least ANSWERED
 * answers whose last is WANT (JSON text): polled, the server asks on its
 * own thread. */
static void roots_become(berth_hub_t *h, berth_client_t *c, int answered,
                         const char *want)
{
    json_t *w = json_loads(want, 0, NULL);
    assert_non_null(w);
    apr_time_t deadline = berth_platform_clock() + SEC(10);
    const char *seen = "";
    for (;;) {
        json_t *r = REQ_ON(h, c, "tools/call", tool_params("alpha__roots",
                                                             NULL), NULL);
        seen = text_of(r);
        json_decref(r);
        json_t *got = json_loads(seen, 0, NULL);
        int ok = got &&
                 json_integer_value(json_object_get(got, "answered")) >=
                     answered &&
                 json_equal(json_object_get(got, "last"), w);
        json_decref(got);
        if (ok)
            break;
        if (berth_platform_clock() > deadline)
            fail_msg("alpha's roots: %s, not %d answers ending in %s", seen,
                     answered, want);
        apr_sleep(MSEC(10));
    }
    json_decref(w);
}

/* A server that asks roots/list after notifications/initialized, outside
 * any call (filesystem servers do), is answered (docs/http.md, "Roots"):
 * with an empty list before any client or configured list, with the
 * configured list, then with the roots of the most recent client that
 * declared them (berth asks that client itself), and again after that
 * client says its roots changed. */
static void test_roots_outside_a_call(void **state)
{
    (void)state;
    static const char *const k_alpha[] = { "alpha" };
    own_stack_t st;
    own_stack(&st, "{}", "{\"FIXTURE_ASK_ROOTS\": \"1\"}", k_alpha, 1);
    berth_client_t *plain = open_session_on(st.hub, NULL, 1);
    /* no client has roots, none are configured: none */
    roots_become(st.hub, plain, 1, "{\"roots\": []}");

    /* configured: the server hears list_changed and asks again */
    apr_array_header_t *cfg = apr_array_make(t.tp, 1, sizeof(const char *));
    APR_ARRAY_PUSH(cfg, const char *) = "file:///srv/configured";
    berth_hub_set_roots(st.hub, cfg);
    roots_become(st.hub, plain, 2,
                 "{\"roots\": [{\"uri\": \"file:///srv/configured\"}]}");

    /* a client that declares roots is asked for them once initialized */
    berth_client_t *c = open_session_on(st.hub, "{\"roots\":"
                                                "{\"listChanged\":true}}", 1);
    json_t *q = next_of(c, "roots/list", SEC(5));
    if (!q)
        fail_msg("berth did not ask the client for its roots");
    json_t *qid = json_object_get(q, "id");
    assert_true(json_is_string(qid));
    json_t *m = json_pack("{s:s, s:O, s:{s:[{s:s, s:s}]}}", "jsonrpc", "2.0",
                          "id", qid, "result", "roots", "uri",
                          "file:///home/client/project", "name", "project");
    assert_null(berth_hub_handle(st.hub, c, m, &k_drop));
    json_decref(m);
    json_decref(q);
    roots_become(st.hub, plain, 3, "{\"roots\": [{\"uri\": "
                                   "\"file:///home/client/project\", "
                                   "\"name\": \"project\"}]}");

    /* its roots change: berth asks again, and the server hears of it */
    notify_hub(c, "notifications/roots/list_changed", NULL);
    q = next_of(c, "roots/list", SEC(5));
    if (!q)
        fail_msg("berth did not ask again after roots/list_changed");
    m = json_pack("{s:s, s:O, s:{s:[{s:s}]}}", "jsonrpc", "2.0", "id",
                  json_object_get(q, "id"), "result", "roots", "uri",
                  "file:///home/client/other");
    assert_null(berth_hub_handle(st.hub, c, m, &k_drop));
    json_decref(m);
    json_decref(q);
    roots_become(st.hub, plain, 4,
                 "{\"roots\": [{\"uri\": \"file:///home/client/other\"}]}");
    /* an answer nobody asked for changes nothing */
    m = json_pack("{s:s, s:s, s:{s:[{s:s}]}}", "jsonrpc", "2.0", "id",
                  "berth-roots-999-00000000", "result", "roots", "uri",
                  "file:///evil");
    assert_null(berth_hub_handle(st.hub, plain, m, &k_drop));
    json_decref(m);
    json_t *r = REQ_ON(st.hub, plain, "tools/call",
                       tool_params("alpha__roots", NULL), NULL);
    ASSERT_CONTAINS(text_of(r), "file:///home/client/other");
    json_decref(r);
    end_session_on(st.hub, c);
    end_session_on(st.hub, plain);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: hub_test MCP_FIXTURE\n");
        return 2;
    }
    g_fixture = argv[1];
#ifndef _WIN32
    /* a server that dies must not take the test with it */
    signal(SIGPIPE, SIG_IGN);
#endif
    const char *lvl = getenv("BERTH_LOG_LEVEL");
    berth_log_level_t level = BERTH_LOG_ERROR;
    if (lvl)
        berth_log_parse_level(lvl, &level);
    berth_log_set_level(level);

#define T(f) cmocka_unit_test_setup_teardown(f, before_each, after_each)
    const struct CMUnitTest tests[] = {
        T(test_initialize),
        T(test_before_initialize),
        T(test_lists),
        T(test_tools_call),
        T(test_handle_text),
        T(test_resources),
        T(test_completion),
        T(test_subscribe),
        T(test_refused_subscribe),
        T(test_logging),
        T(test_progress),
        T(test_sampling),
        T(test_sampling_refused),
        T(test_unknown_and_invalid),
        T(test_may_stream),
        /* gamma gets long sleeps from here on; test_list_changed restarts
         * it */
        T(test_cancelled),
        T(test_session_close),
        T(test_close_all),
        T(test_reap),
        T(test_max_sessions),
        T(test_full_table_makes_room),
        T(test_reap_unused),
        T(test_caps_bounded),
        T(test_list_changed),
        T(test_server_down),
        T(test_names_kept_while_down),
        T(test_roots_outside_a_call),
    };
#undef T
    return cmocka_run_group_tests(tests, stack_up, stack_down);
}
