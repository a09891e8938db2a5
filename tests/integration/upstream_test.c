/* The MCP client side against the real fixture server (issue 5, "Tests"),
 * on Unix and (under Wine) Windows: the supervisor and the upstream session
 * over a real mcp_fixture process. The handshake and paginated lists; every
 * tool; a crash mid-call (the pending call fails at once, the server comes
 * back after its backoff); startup noise, garbage and oversize lines; 1,000
 * sequential and 100 threads of concurrent calls without a mismatched
 * answer; shutdown leaving no process (Unix: an empty process group, and a
 * server that ignores stdin closing and SIGTERM; a stop while a server is
 * still starting, acted on at once); a command that does not exist; a
 * server that fails to initialize, or keeps failing and is restarted. Leak-free itself, so that the
 * ASan build checks berth's side.
 * Usage: upstream_test MCP_FIXTURE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_cstr.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <jansson.h>

#include "test_util.h"

#include "config.h"
#include "hostfacts.h"
#include "platform.h"
#include "jsonrpc.h"
#include "log.h"
#include "spawnctx.h"
#include "supervisor.h"
#include "upstream.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#endif

static const char *g_fixture;

#define SEC(s) ((apr_interval_time_t)((s) * APR_USEC_PER_SEC))
#define MSEC(ms) ((apr_interval_time_t)(ms) * 1000)

static double elapsed_s(apr_time_t since)
{
    return (double)(berth_platform_clock() - since) / APR_USEC_PER_SEC;
}

static void assert_contains_at(const char *hay, const char *needle,
                               const char *file, int line)
{
    if (!hay || !strstr(hay, needle))
        fail_msg("%s:%d: [%s] does not contain [%s]", file, line,
                 hay ? hay : "(null)", needle);
}
#define assert_contains(h, n) assert_contains_at((h), (n), __FILE__, __LINE__)

/* ---- what the callbacks saw ------------------------------------------- */

typedef struct {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *cv;
    json_t *notes;          /* [{method, params}] in arrival order */
    int tools_at_change;    /* the cached tool count when tools/list_changed
                               was delivered; -1 before */
    int extra_at_change;    /* extra_1 was in that list */
    json_t *requests;       /* [{method, params}] */
    int answer_later;       /* 0: on_request answers inline */
    json_t *later_id;       /* the id of a request left for the test */
    int closed;
} events_t;

static void on_notification(void *baton, berth_upstream_t *u,
                            const char *method, json_t *params)
{
    events_t *ev = baton;
    int tools = -1, extra = 0;
    if (strcmp(method, "notifications/tools/list_changed") == 0) {
        /* delivered after the refresh: the cached list is the new one */
        json_t *l = berth_upstream_list(u, "tools");
        size_t i;
        json_t *t;
        tools = (int)json_array_size(l);
        json_array_foreach(l, i, t) {
            const char *n = json_string_value(json_object_get(t, "name"));
            if (n && strcmp(n, "extra_1") == 0)
                extra = 1;
        }
        json_decref(l);
    }
    apr_thread_mutex_lock(ev->lock);
    json_array_append_new(ev->notes,
                          json_pack("{s:s, s:O?}", "method", method, "params",
                                    params));
    if (tools >= 0) {
        ev->tools_at_change = tools;
        ev->extra_at_change = extra;
    }
    apr_thread_cond_broadcast(ev->cv);
    apr_thread_mutex_unlock(ev->lock);
}

static json_t *sampling_answer(json_t *params)
{
    json_t *msg = json_array_get(json_object_get(params, "messages"), 0);
    const char *prompt = json_string_value(
        json_object_get(json_object_get(msg, "content"), "text"));
    char text[256];
    snprintf(text, sizeof text, "answer to %s", prompt ? prompt : "(none)");
    return json_pack("{s:s, s:{s:s, s:s}, s:s, s:s}", "role", "assistant",
                     "content", "type", "text", "text", text, "model",
                     "berth-test", "stopReason", "endTurn");
}

static void on_request(void *baton, berth_upstream_t *u, json_t *id,
                       const char *method, json_t *params)
{
    events_t *ev = baton;
    apr_thread_mutex_lock(ev->lock);
    json_array_append_new(ev->requests,
                          json_pack("{s:s, s:O?}", "method", method, "params",
                                    params));
    int later = ev->answer_later;
    if (later) {
        json_decref(ev->later_id);
        ev->later_id = json_deep_copy(id);
    }
    apr_thread_cond_broadcast(ev->cv);
    apr_thread_mutex_unlock(ev->lock);
    if (!later) /* on the reader thread: respond only writes */
        berth_upstream_respond(u, id, sampling_answer(params), NULL);
}

static void on_closed(void *baton, berth_upstream_t *u, const char *why)
{
    events_t *ev = baton;
    (void)u;
    (void)why;
    apr_thread_mutex_lock(ev->lock);
    ev->closed++;
    apr_thread_cond_broadcast(ev->cv);
    apr_thread_mutex_unlock(ev->lock);
}

/* The index of the first note with METHOD from FROM on, waiting up to
 * TIMEOUT; -1 when none came. */
static int wait_note(events_t *ev, const char *method, size_t from,
                     apr_interval_time_t timeout)
{
    apr_time_t deadline = berth_platform_clock() + timeout;
    int found = -1;
    apr_thread_mutex_lock(ev->lock);
    for (;;) {
        for (size_t i = from; i < json_array_size(ev->notes); i++) {
            const char *m = json_string_value(
                json_object_get(json_array_get(ev->notes, i), "method"));
            if (m && strcmp(m, method) == 0) {
                found = (int)i;
                break;
            }
        }
        apr_interval_time_t left = deadline - berth_platform_clock();
        if (found >= 0 || left <= 0)
            break;
        apr_thread_cond_timedwait(ev->cv, ev->lock, left);
    }
    apr_thread_mutex_unlock(ev->lock);
    return found;
}

static size_t note_count(events_t *ev)
{
    apr_thread_mutex_lock(ev->lock);
    size_t n = json_array_size(ev->notes);
    apr_thread_mutex_unlock(ev->lock);
    return n;
}

/* A new reference to note I. */
static json_t *note_at(events_t *ev, size_t i)
{
    apr_thread_mutex_lock(ev->lock);
    json_t *n = json_incref(json_array_get(ev->notes, i));
    apr_thread_mutex_unlock(ev->lock);
    return n;
}

/* ---- one server under a supervisor ------------------------------------ */

typedef struct {
    const char *command;     /* NULL: the fixture */
    json_t *args;            /* stolen; NULL: none */
    json_t *env;             /* stolen; NULL: none */
    double init_timeout;     /* seconds; 0: 10 */
    double call_timeout;     /* 0: 10 */
    double shutdown_timeout; /* 0: 2 */
    int restart;
    apr_size_t max_message;
    int log_dir;             /* give it a log folder */
    apr_off_t log_max_size;
    int log_max_files;
    apr_interval_time_t backoff_initial; /* 0: 200 ms */
    apr_interval_time_t backoff_max;     /* 0: 2 s */
    const char *login_shell;             /* overrides the real facts' */
} setup_t;

typedef struct {
    apr_pool_t *pool;
    berth_config_t *cfg;
    const berth_server_config_t *srv;
    berth_hostfacts_t *facts;
    berth_spawnctx_t *ctx;
    berth_supervisor_t *sv;
    events_t ev;
    const char *log_dir;
    const char *log_path;
    int stopped;
} server_t;

#define MAX_OPEN 4
static server_t *g_open[MAX_OPEN];

static void rm_dir(const char *dir, apr_pool_t *pool)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    if (!dir || apr_dir_open(&d, dir, pool) != APR_SUCCESS)
        return;
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) ==
           APR_SUCCESS) {
        if (strcmp(fi.name, ".") == 0 || strcmp(fi.name, "..") == 0)
            continue;
        apr_file_remove(apr_pstrcat(pool, dir, "/", fi.name, NULL), pool);
    }
    apr_dir_close(d);
    apr_dir_remove(dir, pool);
}

static const char *make_log_dir(apr_pool_t *pool)
{
    static unsigned seq;
    const char *tmp;
    if (apr_temp_dir_get(&tmp, pool) != APR_SUCCESS)
        fail_msg("no temporary folder");
    const char *dir = apr_psprintf(pool, "%s/berth-upstream-%" APR_TIME_T_FMT
                                   "-%u", tmp, apr_time_now(), ++seq);
    if (apr_dir_make(dir, APR_FPROT_OS_DEFAULT, pool) != APR_SUCCESS)
        fail_msg("cannot create %s", dir);
    return dir;
}

static server_t *server_open(const setup_t *o)
{
    apr_pool_t *pool;
    apr_pool_create(&pool, test_pool);
    server_t *s = apr_pcalloc(pool, sizeof *s);
    s->pool = pool;
    for (int i = 0; i < MAX_OPEN; i++)
        if (!g_open[i]) {
            g_open[i] = s;
            break;
        }

    json_t *srv = json_object();
    json_object_set_new(srv, "command",
                        json_string(o->command ? o->command : g_fixture));
    if (o->args)
        json_object_set_new(srv, "args", o->args);
    if (o->env)
        json_object_set_new(srv, "env", o->env);
    json_object_set_new(
        srv, "timeouts",
        json_pack("{s:f, s:f, s:f}", "initialize",
                  o->init_timeout > 0 ? o->init_timeout : 10.0, "call",
                  o->call_timeout > 0 ? o->call_timeout : 10.0, "shutdown",
                  o->shutdown_timeout > 0 ? o->shutdown_timeout : 2.0));
    json_t *root = json_pack("{s:{s:o}}", "mcpServers", "fixture", srv);
    char *text = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    apr_array_header_t *diags = apr_array_make(pool, 4, sizeof(berth_diag_t));
    apr_status_t rv = berth_config_parse("upstream_test.json", text,
                                         strlen(text), &s->cfg, diags, pool);
    if (rv != APR_SUCCESS) {
        const char *all = "";
        for (int i = 0; i < diags->nelts; i++)
            all = apr_pstrcat(pool, all, "\n",
                              berth_diag_format(&APR_ARRAY_IDX(diags, i,
                                                               berth_diag_t),
                                                pool),
                              NULL);
        fail_msg("config does not parse:%s\n%s", all, text);
    }
    free(text);
    s->srv = berth_config_find_server(s->cfg, "fixture");
    assert_non_null(s->srv);

    assert_int_equal(berth_hostfacts_real(&s->facts, pool), APR_SUCCESS);
    if (o->login_shell)
        s->facts->login_shell = o->login_shell;
    s->ctx = berth_spawnctx_create(s->facts, pool);
    assert_non_null(s->ctx);

    apr_thread_mutex_create(&s->ev.lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_cond_create(&s->ev.cv, pool);
    s->ev.notes = json_array();
    s->ev.requests = json_array();
    s->ev.tools_at_change = -1;

    berth_supervisor_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.restart = o->restart;
    if (o->log_dir) {
        s->log_dir = make_log_dir(pool);
        s->log_path = apr_pstrcat(pool, s->log_dir, "/fixture.log", NULL);
        opts.log_dir = s->log_dir;
    }
    opts.log_max_size = o->log_max_size;
    opts.log_max_files = o->log_max_files;
    opts.max_message = o->max_message;
    opts.cb.on_notification = on_notification;
    opts.cb.on_request = on_request;
    opts.cb.on_closed = on_closed;
    opts.cb.baton = &s->ev;
    opts.backoff_initial = o->backoff_initial ? o->backoff_initial : MSEC(200);
    opts.backoff_max = o->backoff_max ? o->backoff_max : SEC(2);
    s->sv = berth_supervisor_create(s->ctx, s->cfg, s->srv, &opts, pool);
    assert_non_null(s->sv);
    return s;
}

static void server_stop(server_t *s)
{
    if (!s->stopped) {
        berth_supervisor_stop(s->sv);
        s->stopped = 1;
    }
}

static void server_close(server_t *s)
{
    for (int i = 0; i < MAX_OPEN; i++)
        if (g_open[i] == s)
            g_open[i] = NULL;
    server_stop(s);
    json_decref(s->ev.notes);
    json_decref(s->ev.requests);
    json_decref(s->ev.later_id);
    rm_dir(s->log_dir, s->pool);
    apr_pool_destroy(s->pool);
}

/* After every test, also a failed one: nothing left running. */
static int close_all(void **state)
{
    (void)state;
    for (int i = 0; i < MAX_OPEN; i++)
        if (g_open[i])
            server_close(g_open[i]);
    return 0;
}

/* Starts S and waits for READY; fails the test otherwise. */
static void server_start_ready(server_t *s)
{
    const char *why = NULL;
    assert_int_equal(berth_supervisor_start(s->sv), APR_SUCCESS);
    apr_status_t rv = berth_supervisor_wait_ready(s->sv, SEC(30), &why,
                                                  s->pool);
    if (rv != APR_SUCCESS)
        fail_msg("the fixture did not become ready (%d): %s", rv,
                 why ? why : "(no reason)");
}

static berth_supervisor_status_t status_of(server_t *s)
{
    return berth_supervisor_status(s->sv, s->pool);
}

/* Polls until the state is WANT (and, when MIN_RESTARTS >= 0, restarts has
 * reached it); 1 when it happened within TIMEOUT, with that status in *OUT
 * (may be NULL). */
static int wait_state_st(server_t *s, berth_sv_state_t want, int min_restarts,
                         apr_interval_time_t timeout,
                         berth_supervisor_status_t *out)
{
    apr_time_t deadline = berth_platform_clock() + timeout;
    for (;;) {
        berth_supervisor_status_t st = status_of(s);
        if (st.state == want &&
            (min_restarts < 0 || st.restarts >= (unsigned)min_restarts)) {
            if (out)
                *out = st;
            return 1;
        }
        if (berth_platform_clock() >= deadline)
            return 0;
        apr_sleep(MSEC(5));
    }
}

static int wait_state(server_t *s, berth_sv_state_t want, int min_restarts,
                      apr_interval_time_t timeout)
{
    return wait_state_st(s, want, min_restarts, timeout, NULL);
}

/* ---- calls -------------------------------------------------------------- */

static char *dump(json_t *j)
{
    return j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

/* A request through the supervisor that must succeed; the result (a new
 * reference). PARAMS stolen. */
static json_t *request_ok(server_t *s, const char *method, json_t *params)
{
    json_t *result = NULL, *error = NULL;
    if (berth_supervisor_call(s->sv, method, params, &result, &error) !=
        APR_SUCCESS) {
        char *e = dump(error);
        char msg[1024];
        snprintf(msg, sizeof msg, "%s failed: %s", method, e ? e : "(none)");
        free(e);
        json_decref(error);
        fail_msg("%s", msg);
    }
    assert_null(error);
    assert_non_null(result);
    return result;
}

/* tools/call NAME with ARGS (stolen; NULL: {}), which must succeed. */
static json_t *tool_ok(server_t *s, const char *name, json_t *args)
{
    return request_ok(s, "tools/call",
                      json_pack("{s:s, s:o}", "name", name, "arguments",
                                args ? args : json_object()));
}

/* A request that must fail; the error object (a new reference). */
static json_t *request_fails(server_t *s, const char *method, json_t *params)
{
    json_t *result = NULL, *error = NULL;
    apr_status_t rv = berth_supervisor_call(s->sv, method, params, &result,
                                            &error);
    if (rv == APR_SUCCESS) {
        char *r = dump(result);
        char msg[1024];
        snprintf(msg, sizeof msg, "%s succeeded: %s", method, r ? r : "");
        free(r);
        json_decref(result);
        fail_msg("%s", msg);
    }
    assert_null(result);
    assert_non_null(error);
    return error;
}

static const char *text_of(json_t *result)
{
    json_t *c = json_array_get(json_object_get(result, "content"), 0);
    const char *t = json_string_value(json_object_get(c, "text"));
    if (!t) {
        char *d = dump(result);
        char msg[512];
        snprintf(msg, sizeof msg, "no text content in %.400s", d ? d : "");
        free(d);
        fail_msg("%s", msg);
    }
    return t;
}

/* echo TEXT: the answer must be TEXT. */
static void echo_ok(server_t *s, const char *text)
{
    json_t *r = tool_ok(s, "echo", json_pack("{s:s}", "text", text));
    assert_string_equal(text_of(r), text);
    assert_null(json_object_get(r, "isError"));
    json_decref(r);
}

static const char *err_message(json_t *error)
{
    return json_string_value(json_object_get(error, "message"));
}

static int err_code(json_t *error)
{
    return (int)json_integer_value(json_object_get(error, "code"));
}

/* ---- processes ---------------------------------------------------------- */

static int pid_alive(long pid)
{
#ifdef _WIN32
    HANDLE h = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION,
                           FALSE, (DWORD)pid);
    if (!h)
        return 0;
    DWORD w = WaitForSingleObject(h, 0);
    CloseHandle(h);
    return w == WAIT_TIMEOUT;
#else
    return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
#endif
}

#ifndef _WIN32
/* The group is empty: kill(-pgid, 0) fails with ESRCH. Members that became
 * our children (we are a subreaper) are reaped while waiting. */
static int group_empty_within(long pgid, int ms)
{
    for (int i = 0; i <= ms / 10; i++) {
        while (waitpid(-(pid_t)pgid, NULL, WNOHANG) > 0)
            ;
        if (kill(-(pid_t)pgid, 0) != 0 && errno == ESRCH)
            return 1;
        apr_sleep(MSEC(10));
    }
    return 0;
}
#endif

/* After a stop: the server's process (and on Unix its whole group) is
 * gone. */
static void assert_gone(long pid)
{
    assert_true(pid > 0);
    if (pid_alive(pid))
        fail_msg("server process %ld survived the stop", pid);
#ifndef _WIN32
    if (!group_empty_within(pid, 2000))
        fail_msg("process group %ld is not empty after the stop", pid);
#endif
}

/* A server with the default setup, started and ready. */
static server_t *open_ready(void)
{
    setup_t o = { 0 };
    server_t *s = server_open(&o);
    server_start_ready(s);
    return s;
}

/* Closes S; its process is gone. */
static void close_gone(server_t *s)
{
    long pid = status_of(s).pid;
    server_close(s);
    assert_gone(pid);
}

/* The end of a test that must not have hurt the server: still ready, never
 * restarted; then closed, and its process gone. */
static void close_healthy(server_t *s)
{
    berth_supervisor_status_t st = status_of(s);
    assert_int_equal(st.state, BERTH_SV_READY);
    assert_int_equal(st.restarts, 0);
    close_gone(s);
}

/* ---- 1. handshake and lists ------------------------------------------ */

static const char *const k_tools[] = {
    "echo", "add", "sleep", "crash", "stderr_spam", "env_dump", "big_output",
    "bad_json", "notify_progress", "ask_sampling", "add_tool", "log",
    "tcp_connect", "raw_result", NULL
};
/* the fixture's tools, without the ones a test adds */
#define N_TOOLS ((int)(sizeof k_tools / sizeof k_tools[0]) - 1)

static void assert_names(json_t *list, const char *key,
                         const char *const *want)
{
    size_t n = 0;
    while (want[n])
        n++;
    if (json_array_size(list) != n) {
        char *d = dump(list);
        char msg[2048];
        snprintf(msg, sizeof msg, "%lu %s, want %lu: %.1800s",
                 (unsigned long)json_array_size(list), key, (unsigned long)n,
                 d ? d : "");
        free(d);
        fail_msg("%s", msg);
    }
    for (size_t i = 0; i < n; i++) {
        const char *got = json_string_value(
            json_object_get(json_array_get(list, i), key));
        if (!got || strcmp(got, want[i]) != 0)
            fail_msg("item %lu: %s is [%s], want [%s]", (unsigned long)i, key,
                     got ? got : "(none)", want[i]);
    }
}

static void test_handshake_and_lists(void **state)
{
    (void)state;
    /* three at a time: tools in 5 pages; tools/call before
     * notifications/initialized would fail */
    setup_t o = { .env = json_pack("{s:s, s:s}", "FIXTURE_PAGE_SIZE", "3",
                                   "FIXTURE_REQUIRE_INITIALIZED", "1") };
    server_t *s = server_open(&o);
    apr_time_t t0 = berth_platform_clock();
    server_start_ready(s);
    print_message("  ready in %.3f s\n", elapsed_s(t0));

    berth_supervisor_status_t st = status_of(s);
    assert_int_equal(st.state, BERTH_SV_READY);
    assert_string_equal(st.name, "fixture");
    assert_string_equal(st.protocol, "2025-11-25");
    assert_int_equal(st.tools, N_TOOLS);
    assert_true(st.pid > 0);
    assert_int_equal(st.restarts, 0);
    assert_int_equal(st.deaths_recent, 0);
    assert_int_equal(st.last_exit, -1);
    assert_null(st.last_error);

    const char *why = NULL;
    berth_upstream_t *u = berth_supervisor_acquire(s->sv, &why, s->pool);
    assert_non_null(u);
    assert_string_equal(berth_upstream_name(u), "fixture");
    assert_string_equal(berth_upstream_protocol(u), "2025-11-25");
    assert_false(berth_upstream_closed(u));

    json_t *info = berth_upstream_server_info(u);
    assert_string_equal(json_string_value(json_object_get(info,
                                                          "protocolVersion")),
                        "2025-11-25");
    json_t *si = json_object_get(info, "serverInfo");
    assert_string_equal(json_string_value(json_object_get(si, "name")),
                        "berth-fixture");
    assert_string_equal(json_string_value(json_object_get(si, "version")),
                        "1.0.0");
    json_t *caps = json_object_get(info, "capabilities");
    assert_true(json_is_true(json_object_get(json_object_get(caps, "tools"),
                                             "listChanged")));
    assert_non_null(json_object_get(caps, "resources"));
    assert_non_null(json_object_get(caps, "prompts"));
    assert_non_null(json_object_get(caps, "logging"));
    assert_non_null(json_object_get(caps, "completions"));
    json_decref(info);

    /* every page was followed */
    json_t *tools = berth_upstream_list(u, "tools");
    assert_names(tools, "name", k_tools);
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        assert_true(json_is_object(json_object_get(t, "inputSchema")));
        assert_true(json_is_string(json_object_get(t, "description")));
    }
    assert_true(json_is_object(json_object_get(json_array_get(tools, 1),
                                               "outputSchema")));
    json_decref(tools);

    static const char *const resources[] = {
        "fixture://hello", "fixture://data.json", "fixture://blob", NULL
    };
    json_t *l = berth_upstream_list(u, "resources");
    assert_names(l, "uri", resources);
    json_decref(l);
    static const char *const templates[] = { "fixture://items/{id}", NULL };
    l = berth_upstream_list(u, "resourceTemplates");
    assert_names(l, "uriTemplate", templates);
    json_decref(l);
    static const char *const prompts[] = { "greet", "summarize", NULL };
    l = berth_upstream_list(u, "prompts");
    assert_names(l, "name", prompts);
    json_decref(l);
    /* an unknown list is an empty array, never NULL */
    l = berth_upstream_list(u, "nothing");
    assert_true(json_is_array(l));
    assert_int_equal(json_array_size(l), 0);
    json_decref(l);
    assert_int_equal(berth_upstream_refresh(u, "nothing", SEC(5)),
                     APR_EINVAL);

    /* a refresh reads every page again */
    assert_int_equal(berth_upstream_refresh(u, "tools", SEC(10)),
                     APR_SUCCESS);
    tools = berth_upstream_list(u, "tools");
    assert_names(tools, "name", k_tools);
    json_decref(tools);
    unsigned dropped = 9, skipped = 9;
    berth_upstream_counters(u, &dropped, &skipped);
    assert_int_equal(dropped, 0);
    assert_int_equal(skipped, 0);
    berth_supervisor_release(s->sv, u);

    /* notifications/initialized went out before the first call */
    echo_ok(s, "after the handshake");
    long pid = st.pid;
    server_close(s);
    assert_gone(pid);
}

/* ---- 2. every tool ------------------------------------------------------ */

static void test_basic_tools(void **state)
{
    (void)state;
    setup_t o = { .env = json_pack("{s:s}", "BERTH_TEST_CONFIGURED",
                                   "configured-value") };
    server_t *s = server_open(&o);
    server_start_ready(s);

    echo_ok(s, "hello");
    echo_ok(s, "");
    echo_ok(s, "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \"quoted\" back\\slash "
               "tab\there\nnew line");

    json_t *r = tool_ok(s, "add", json_pack("{s:i, s:i}", "a", 2, "b", 40));
    assert_string_equal(text_of(r), "42");
    json_t *sum = json_object_get(json_object_get(r, "structuredContent"),
                                  "sum");
    assert_true(json_is_integer(sum));
    assert_int_equal(json_integer_value(sum), 42);
    json_decref(r);
    r = tool_ok(s, "add", json_pack("{s:f, s:f}", "a", 0.5, "b", 0.25));
    assert_string_equal(text_of(r), "0.75");
    sum = json_object_get(json_object_get(r, "structuredContent"), "sum");
    assert_true(json_is_real(sum));
    assert_true(json_real_value(sum) == 0.75);
    json_decref(r);

    apr_time_t t0 = berth_platform_clock();
    r = tool_ok(s, "sleep", json_pack("{s:i}", "ms", 150));
    double took = elapsed_s(t0);
    assert_string_equal(text_of(r), "slept 150 ms");
    assert_true(took >= 0.14);
    json_decref(r);

    /* the configured value reaches the server; the test's own environment
     * does not, beyond the allow-list (berth itself does see the secret) */
    assert_string_equal(berth_env_get(s->facts, s->facts->env,
                                      "BERTH_TEST_SECRET"),
                        "xyz-not-for-servers");
    r = tool_ok(s, "env_dump", NULL);
    json_t *env = json_loads(text_of(r), 0, NULL);
    assert_non_null(env);
    assert_string_equal(
        json_string_value(json_object_get(env, "BERTH_TEST_CONFIGURED")),
        "configured-value");
    assert_null(json_object_get(env, "BERTH_TEST_SECRET"));
    const char *key;
    json_t *v;
    int has_path = 0;
    json_object_foreach(env, key, v) {
        if (apr_cstr_casecmp(key, "PATH") == 0)
            has_path = 1;
        assert_true(strstr(json_string_value(v), "xyz-not-for-servers") ==
                    NULL);
    }
    assert_true(has_path);
    json_decref(env);
    json_decref(r);

    /* 1 MiB of text in one line, to the byte */
    t0 = berth_platform_clock();
    r = tool_ok(s, "big_output", json_pack("{s:i}", "bytes", 1 << 20));
    const char *big = text_of(r);
    assert_int_equal(strlen(big), 1 << 20);
    assert_int_equal(strspn(big, "x"), 1 << 20);
    json_decref(r);
    print_message("  big_output 1 MiB in %.3f s\n", elapsed_s(t0));
    r = tool_ok(s, "big_output", json_pack("{s:i}", "bytes", 0));
    assert_string_equal(text_of(r), "");
    json_decref(r);

    /* a tool's own error is a result; an unknown tool the server's
     * JSON-RPC error, passed on */
    r = tool_ok(s, "echo", json_object());
    assert_true(json_is_true(json_object_get(r, "isError")));
    assert_contains(text_of(r), "missing required argument 'text'");
    json_decref(r);
    json_t *e = request_fails(s, "tools/call",
                              json_pack("{s:s}", "name", "no_such_tool"));
    assert_int_equal(err_code(e), BERTH_RPC_INVALID_PARAMS);
    assert_contains(err_message(e), "Unknown tool: no_such_tool");
    json_decref(e);
    e = request_fails(s, "no/such/method", NULL);
    assert_int_equal(err_code(e), BERTH_RPC_METHOD_NOT_FOUND);
    json_decref(e);

    /* the session is still fine after all that */
    echo_ok(s, "still here");
    close_healthy(s);
}

static char *slurp(const char *path, apr_size_t *len, apr_pool_t *pool)
{
    apr_file_t *f;
    apr_finfo_t fi;
    if (apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY,
                      APR_FPROT_OS_DEFAULT, pool) != APR_SUCCESS)
        return NULL;
    if (apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS) {
        apr_file_close(f);
        return NULL;
    }
    char *buf = apr_palloc(pool, (apr_size_t)fi.size + 1);
    apr_size_t n = 0;
    if (fi.size > 0)
        apr_file_read_full(f, buf, (apr_size_t)fi.size, &n);
    buf[n] = '\0';
    apr_file_close(f);
    if (len)
        *len = n;
    return buf;
}

static int file_exists(const char *path, apr_pool_t *pool)
{
    apr_finfo_t fi;
    return apr_stat(&fi, path, APR_FINFO_TYPE, pool) == APR_SUCCESS;
}

/* The expected stderr_spam line I (64 bytes wide). */
static const char *spam_line(int i, apr_pool_t *pool)
{
    char *l = apr_psprintf(pool, "spam %d ", i);
    size_t n = strlen(l);
    char *w = apr_palloc(pool, 65);
    memcpy(w, l, n);
    memset(w + n, '.', 64 - n);
    w[64] = '\0';
    return w;
}

/* The log files, oldest first, joined; waits until LAST_LINE is in it. */
static const char *log_all(server_t *s, const char *last_line, int *files)
{
    const char *all = NULL;
    int stable = 0;
    for (int tries = 0; tries < 500; tries++) {
        all = "";
        *files = 0;
        for (int k = 3; k >= 0; k--) {
            const char *p = k ? apr_psprintf(s->pool, "%s.%d", s->log_path, k)
                              : s->log_path;
            const char *t = slurp(p, NULL, s->pool);
            if (t) {
                all = apr_pstrcat(s->pool, all, t, NULL);
                (*files)++;
            }
        }
        if (strstr(all, last_line)) {
            /* the last line was the last write: read once more, in case a
             * rotation ran between the reads above */
            if (stable)
                break;
            stable = 1;
            continue;
        }
        apr_sleep(MSEC(10));
    }
    return all;
}

static void test_stderr_to_log_file_and_rotation(void **state)
{
    (void)state;
    setup_t o = { .log_dir = 1, .log_max_size = 4096, .log_max_files = 3 };
    server_t *s = server_open(&o);
    server_start_ready(s);

    json_t *r = tool_ok(s, "stderr_spam",
                        json_pack("{s:i, s:i}", "lines", 20,
                                  "bytes_per_line", 64));
    assert_string_equal(text_of(r), "wrote 20 lines");
    json_decref(r);
    int files = 0;
    const char *all = log_all(s, spam_line(20, s->pool), &files);
    assert_true(file_exists(s->log_path, s->pool));
    assert_int_equal(files, 1);
    assert_false(file_exists(apr_pstrcat(s->pool, s->log_path, ".1", NULL),
                             s->pool));
    const char *want = "";
    for (int i = 1; i <= 20; i++)
        want = apr_pstrcat(s->pool, want, spam_line(i, s->pool), "\n", NULL);
    assert_string_equal(all, want);

    /* 100 more lines (6.5 KB) over a 4 KiB maximum: NAME.1 appears, every
     * file stays within the maximum, nothing is lost or reordered */
    r = tool_ok(s, "stderr_spam",
                json_pack("{s:i, s:i}", "lines", 100, "bytes_per_line", 64));
    assert_string_equal(text_of(r), "wrote 100 lines");
    json_decref(r);
    all = log_all(s, spam_line(100, s->pool), &files);
    for (int i = 1; i <= 100; i++)
        want = apr_pstrcat(s->pool, want, spam_line(i, s->pool), "\n", NULL);
    assert_string_equal(all, want);
    const char *one = apr_pstrcat(s->pool, s->log_path, ".1", NULL);
    assert_true(file_exists(one, s->pool));
    assert_true(files >= 2 && files <= 3);
    for (int k = 0; k <= 2; k++) {
        apr_size_t n = 0;
        const char *p = k ? apr_psprintf(s->pool, "%s.%d", s->log_path, k)
                          : s->log_path;
        if (slurp(p, &n, s->pool))
            assert_true(n <= 4096);
    }
    close_gone(s);
}

static void test_bad_json_is_skipped(void **state)
{
    (void)state;
    server_t *s = open_ready();
    berth_upstream_t *u = berth_supervisor_acquire(s->sv, NULL, s->pool);
    assert_non_null(u);
    unsigned dropped0, skipped0, dropped, skipped;
    berth_upstream_counters(u, &dropped0, &skipped0);
    for (int round = 1; round <= 3; round++) {
        json_t *r = tool_ok(s, "bad_json", NULL);
        assert_string_equal(text_of(r), "sent 2 bad lines");
        json_decref(r);
        berth_upstream_counters(u, &dropped, &skipped);
        assert_int_equal(skipped, skipped0 + 2u * (unsigned)round);
        assert_int_equal(dropped, dropped0);
    }
    berth_supervisor_release(s->sv, u);
    /* the truncated notification was not delivered as one */
    for (size_t i = 0; i < note_count(&s->ev); i++) {
        json_t *n = note_at(&s->ev, i);
        assert_string_not_equal(json_string_value(json_object_get(n,
                                                                  "method")),
                                "notifications/message");
        json_decref(n);
    }
    echo_ok(s, "after garbage");
    close_gone(s);
}

/* A plain result reaches a relay as the server wrote it, byte for byte;
 * a caller that wants a tree gets it parsed, and one jansson cannot read is
 * an error naming the server, while a relay still passes it on. */
static void test_result_passes_as_text(void **state)
{
    (void)state;
    server_t *s = open_ready();
    berth_upstream_t *u = berth_supervisor_acquire(s->sv, NULL, s->pool);
    assert_non_null(u);
    static const char *const texts[] = {
        /* spacing and an escape a rebuilt tree would not keep */
        "{ \"content\" : [ {\"type\":\"text\",\"text\":\"\\u0041b\"} ],"
        "\"n\":1.50 }",
        /* valid JSON that jansson refuses */
        "{\"content\":[{\"type\":\"text\",\"text\":\"a\\u0000b\"}]}",
    };
    berth_call_opts_t opts = { SEC(10), NULL, NULL };
    for (size_t i = 0; i < 2; i++) {
        berth_call_t *c;
        assert_int_equal(berth_upstream_call_start(
                             u, "tools/call",
                             json_pack("{s:s, s:{s:s}}", "name", "raw_result",
                                       "arguments", "result", texts[i]),
                             &opts, &c),
                         APR_SUCCESS);
        char *raw = NULL;
        apr_size_t len = 0;
        json_t *result = NULL, *error = NULL;
        assert_int_equal(berth_upstream_call_wait_raw(c, &raw, &len, &result,
                                                      &error),
                         APR_SUCCESS);
        assert_null(result);
        assert_null(error);
        assert_non_null(raw);
        assert_int_equal(len, strlen(texts[i]));
        assert_string_equal(raw, texts[i]);
        free(raw);
        berth_upstream_call_free(c);
    }
    json_t *result = NULL, *error = NULL;
    assert_int_equal(berth_upstream_request(
                         u, "tools/call",
                         json_pack("{s:s, s:{s:s}}", "name", "raw_result",
                                   "arguments", "result", texts[0]),
                         SEC(10), &result, &error),
                     APR_SUCCESS);
    assert_string_equal(text_of(result), "Ab");
    assert_true(json_real_value(json_object_get(result, "n")) == 1.5);
    json_decref(result);
    result = NULL;
    assert_int_not_equal(berth_upstream_request(
                             u, "tools/call",
                             json_pack("{s:s, s:{s:s}}", "name", "raw_result",
                                       "arguments", "result", texts[1]),
                             SEC(10), &result, &error),
                         APR_SUCCESS);
    assert_null(result);
    const char *msg = json_string_value(json_object_get(error, "message"));
    assert_contains(msg, "cannot read");
    assert_contains(msg, berth_upstream_name(u));
    json_decref(error);
    berth_supervisor_release(s->sv, u);
    echo_ok(s, "after raw results");
    close_gone(s);
}

typedef struct {
    apr_thread_mutex_t *lock;
    json_t *seen; /* the progress values */
    json_t *last;
} progress_t;

static void on_progress(void *baton, json_t *params)
{
    progress_t *p = baton;
    apr_thread_mutex_lock(p->lock);
    json_array_append(p->seen, json_object_get(params, "progress"));
    json_decref(p->last);
    p->last = json_deep_copy(params);
    apr_thread_mutex_unlock(p->lock);
}

static void test_progress(void **state)
{
    (void)state;
    server_t *s = open_ready();
    berth_upstream_t *u = berth_supervisor_acquire(s->sv, NULL, s->pool);
    assert_non_null(u);
    progress_t p = { NULL, json_array(), NULL };
    apr_thread_mutex_create(&p.lock, APR_THREAD_MUTEX_DEFAULT, s->pool);
    berth_call_opts_t opts = { SEC(10), on_progress, &p };
    berth_call_t *c;
    assert_int_equal(berth_upstream_call_start(
                         u, "tools/call",
                         json_pack("{s:s, s:{s:i}}", "name", "notify_progress",
                                   "arguments", "steps", 7),
                         &opts, &c),
                     APR_SUCCESS);
    json_t *result = NULL, *error = NULL;
    assert_int_equal(berth_upstream_call_wait(c, &result, &error),
                     APR_SUCCESS);
    berth_upstream_call_free(c);
    assert_null(error);
    /* every step came before the result */
    assert_string_equal(text_of(result), "completed 7 steps");
    json_decref(result);
    apr_thread_mutex_lock(p.lock);
    assert_int_equal(json_array_size(p.seen), 7);
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(json_integer_value(json_array_get(p.seen, i)),
                         (json_int_t)i + 1);
    assert_int_equal(json_integer_value(json_object_get(p.last, "total")), 7);
    assert_string_equal(json_string_value(json_object_get(p.last, "message")),
                        "step 7 of 7");
    apr_thread_mutex_unlock(p.lock);

    /* without a progress callback berth asks for none */
    json_t *r = tool_ok(s, "notify_progress", json_pack("{s:i}", "steps", 3));
    assert_string_equal(text_of(r), "completed 3 steps (no progressToken)");
    json_decref(r);
    assert_int_equal(json_array_size(p.seen), 7);
    /* progress is not a notification for on_notification */
    assert_int_equal(wait_note(&s->ev, "notifications/progress", 0, 0), -1);

    berth_supervisor_release(s->sv, u);
    long pid = status_of(s).pid;
    server_close(s);
    json_decref(p.seen);
    json_decref(p.last);
    assert_gone(pid);
}

static void test_sampling(void **state)
{
    (void)state;
    server_t *s = open_ready();

    /* answered inline, on the reader thread */
    json_t *r = tool_ok(s, "ask_sampling", json_pack("{s:s}", "prompt",
                                                     "first question"));
    assert_string_equal(text_of(r), "sampled: answer to first question");
    assert_null(json_object_get(r, "isError"));
    json_decref(r);
    apr_thread_mutex_lock(s->ev.lock);
    assert_int_equal(json_array_size(s->ev.requests), 1);
    json_t *req = json_array_get(s->ev.requests, 0);
    assert_string_equal(json_string_value(json_object_get(req, "method")),
                        "sampling/createMessage");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(req, "params"), "maxTokens")),
                     100);
    s->ev.answer_later = 1;
    apr_thread_mutex_unlock(s->ev.lock);

    /* answered later from this thread, while the call waits */
    berth_upstream_t *u = berth_supervisor_acquire(s->sv, NULL, s->pool);
    assert_non_null(u);
    for (int round = 0; round < 2; round++) {
        berth_call_opts_t opts = { SEC(10), NULL, NULL };
        berth_call_t *c;
        assert_int_equal(berth_upstream_call_start(
                             u, "tools/call",
                             json_pack("{s:s, s:{s:s}}", "name",
                                       "ask_sampling", "arguments", "prompt",
                                       round ? "declined" : "second"),
                             &opts, &c),
                         APR_SUCCESS);
        json_t *id = NULL;
        apr_time_t deadline = berth_platform_clock() + SEC(10);
        apr_thread_mutex_lock(s->ev.lock);
        while (!s->ev.later_id && berth_platform_clock() < deadline)
            apr_thread_cond_timedwait(s->ev.cv, s->ev.lock, MSEC(100));
        id = s->ev.later_id;
        s->ev.later_id = NULL;
        apr_thread_mutex_unlock(s->ev.lock);
        assert_non_null(id);
        json_t *params = NULL;
        apr_thread_mutex_lock(s->ev.lock);
        params = json_incref(json_object_get(
            json_array_get(s->ev.requests,
                           json_array_size(s->ev.requests) - 1),
            "params"));
        apr_thread_mutex_unlock(s->ev.lock);
        if (round == 0)
            assert_int_equal(berth_upstream_respond(u, id,
                                                    sampling_answer(params),
                                                    NULL),
                             APR_SUCCESS);
        else
            assert_int_equal(berth_upstream_respond(
                                 u, id, NULL,
                                 json_pack("{s:i, s:s}", "code", -1, "message",
                                           "the user declined")),
                             APR_SUCCESS);
        json_decref(params);
        json_decref(id);
        json_t *result = NULL, *error = NULL;
        assert_int_equal(berth_upstream_call_wait(c, &result, &error),
                         APR_SUCCESS);
        berth_upstream_call_free(c);
        if (round == 0) {
            assert_string_equal(text_of(result), "sampled: answer to second");
        } else {
            assert_true(json_is_true(json_object_get(result, "isError")));
            assert_string_equal(
                text_of(result),
                "sampling failed: the user declined (code -1)");
        }
        json_decref(result);
    }
    berth_supervisor_release(s->sv, u);
    close_gone(s);
}

static void test_add_tool_list_changed(void **state)
{
    (void)state;
    setup_t o = { .env = json_pack("{s:s}", "FIXTURE_PAGE_SIZE", "5") };
    server_t *s = server_open(&o);
    server_start_ready(s);
    assert_int_equal(status_of(s).tools, N_TOOLS);

    json_t *r = tool_ok(s, "add_tool", NULL);
    assert_string_equal(text_of(r), "added extra_1");
    json_decref(r);
    /* delivered once the cached list was refreshed (three pages now) */
    int i = wait_note(&s->ev, "notifications/tools/list_changed", 0, SEC(10));
    assert_true(i >= 0);
    apr_thread_mutex_lock(s->ev.lock);
    int at_change = s->ev.tools_at_change, extra = s->ev.extra_at_change;
    apr_thread_mutex_unlock(s->ev.lock);
    assert_int_equal(at_change, N_TOOLS + 1);
    assert_true(extra);
    assert_int_equal(status_of(s).tools, N_TOOLS + 1);
    berth_upstream_t *u = berth_supervisor_acquire(s->sv, NULL, s->pool);
    assert_non_null(u);
    json_t *tools = berth_upstream_list(u, "tools");
    assert_int_equal(json_array_size(tools), N_TOOLS + 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(tools, N_TOOLS), "name")),
                        "extra_1");
    json_decref(tools);
    berth_supervisor_release(s->sv, u);
    r = tool_ok(s, "extra_1", NULL);
    assert_string_equal(text_of(r), "extra_1 called");
    json_decref(r);

    /* and again */
    r = tool_ok(s, "add_tool", NULL);
    assert_string_equal(text_of(r), "added extra_2");
    json_decref(r);
    assert_true(wait_note(&s->ev, "notifications/tools/list_changed",
                          (size_t)i + 1, SEC(10)) > i);
    assert_int_equal(status_of(s).tools, N_TOOLS + 2);
    close_gone(s);
}

static void test_log_notifications(void **state)
{
    (void)state;
    server_t *s = open_ready();

    json_t *r = tool_ok(s, "log", json_pack("{s:s, s:s}", "level", "warning",
                                            "message", "disk almost full"));
    assert_string_equal(text_of(r), "logged");
    json_decref(r);
    /* the notification came before the answer, on the same reader */
    int i = wait_note(&s->ev, "notifications/message", 0, 0);
    assert_true(i >= 0);
    json_t *n = note_at(&s->ev, (size_t)i);
    json_t *p = json_object_get(n, "params");
    assert_string_equal(json_string_value(json_object_get(p, "level")),
                        "warning");
    assert_string_equal(json_string_value(json_object_get(p, "data")),
                        "disk almost full");
    assert_string_equal(json_string_value(json_object_get(p, "logger")),
                        "fixture");
    json_decref(n);

    /* below the level: nothing; after logging/setLevel debug: delivered */
    r = tool_ok(s, "log", json_pack("{s:s, s:s}", "level", "debug",
                                    "message", "quiet"));
    assert_string_equal(text_of(r), "not logged: debug is below info");
    json_decref(r);
    assert_int_equal(wait_note(&s->ev, "notifications/message",
                               (size_t)i + 1, 0), -1);
    r = request_ok(s, "logging/setLevel", json_pack("{s:s}", "level",
                                                    "debug"));
    json_decref(r);
    r = tool_ok(s, "log", json_pack("{s:s, s:s}", "level", "debug",
                                    "message", "loud"));
    assert_string_equal(text_of(r), "logged");
    json_decref(r);
    int j = wait_note(&s->ev, "notifications/message", (size_t)i + 1, 0);
    assert_true(j > i);
    n = note_at(&s->ev, (size_t)j);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(n, "params"), "data")),
                        "loud");
    json_decref(n);

    /* a message the server sends when no call waits (just after the
     * answer, which the caller read itself) still arrives: the reader
     * thread takes the server's stdout back */
    for (int k = 0; k < 3; k++) {
        size_t from = note_count(&s->ev);
        char text[32];
        snprintf(text, sizeof text, "idle %d", k);
        r = tool_ok(s, "log", json_pack("{s:s, s:s, s:b}", "level", "info",
                                        "message", text, "after_answer", 1));
        assert_string_equal(text_of(r), "logged after the answer");
        json_decref(r);
        int a = wait_note(&s->ev, "notifications/message", from, SEC(2));
        if (a < 0)
            fail_msg("the message sent after answer %d never arrived", k);
        n = note_at(&s->ev, (size_t)a);
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(n, "params"), "data")),
                            text);
        json_decref(n);
    }
    close_gone(s);
}

static void test_resources_prompts_completion_ping(void **state)
{
    (void)state;
    server_t *s = open_ready();

    json_t *r = request_ok(s, "resources/read",
                           json_pack("{s:s}", "uri", "fixture://hello"));
    json_t *c = json_array_get(json_object_get(r, "contents"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "uri")),
                        "fixture://hello");
    assert_string_equal(json_string_value(json_object_get(c, "mimeType")),
                        "text/plain");
    assert_string_equal(json_string_value(json_object_get(c, "text")),
                        "hello world");
    json_decref(r);
    r = request_ok(s, "resources/read",
                   json_pack("{s:s}", "uri", "fixture://blob"));
    c = json_array_get(json_object_get(r, "contents"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "blob")),
                        "AAEC/v9iZXJ0aAqA");
    json_decref(r);
    r = request_ok(s, "resources/read",
                   json_pack("{s:s}", "uri", "fixture://items/42"));
    c = json_array_get(json_object_get(r, "contents"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "text")),
                        "item 42");
    json_decref(r);
    json_t *e = request_fails(s, "resources/read",
                              json_pack("{s:s}", "uri", "fixture://nope"));
    assert_int_equal(err_code(e), -32002); /* MCP: resource not found */
    assert_string_equal(err_message(e), "Resource not found");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(e, "data"), "uri")),
                        "fixture://nope");
    json_decref(e);

    r = request_ok(s, "prompts/get",
                   json_pack("{s:s, s:{s:s}}", "name", "greet", "arguments",
                             "name", "Ada"));
    assert_string_equal(json_string_value(json_object_get(r, "description")),
                        "Greeting for Ada");
    json_t *m = json_array_get(json_object_get(r, "messages"), 0);
    assert_string_equal(json_string_value(json_object_get(m, "role")), "user");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(m, "content"), "text")),
                        "Please greet Ada.");
    json_decref(r);

    r = request_ok(s, "completion/complete",
                   json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "ref", "type",
                             "ref/prompt", "name", "greet", "argument",
                             "name", "name", "value", "a"));
    json_t *comp = json_object_get(r, "completion");
    assert_int_equal(json_array_size(json_object_get(comp, "values")), 1);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(comp, "values"), 0)),
                        "alice");
    assert_true(json_is_false(json_object_get(comp, "hasMore")));
    json_decref(r);
    r = request_ok(s, "completion/complete",
                   json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "ref", "type",
                             "ref/resource", "uri", "fixture://items/{id}",
                             "argument", "name", "id", "value", "4"));
    comp = json_object_get(r, "completion");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(comp, "values"), 0)),
                        "42");
    json_decref(r);

    r = request_ok(s, "ping", NULL);
    assert_true(json_is_object(r));
    assert_int_equal(json_object_size(r), 0);
    json_decref(r);
    close_gone(s);
}

/* ---- 3. a crash mid-call ---------------------------------------------- */

static void test_crash_mid_call_restarts(void **state)
{
    (void)state;
    setup_t o = { .restart = 1, .backoff_initial = MSEC(300) };
    server_t *s = server_open(&o);
    server_start_ready(s);
    long pid1 = status_of(s).pid;
    echo_ok(s, "before the crash");

    /* The fixture runs one request at a time: sleep 300 ms, then crash 7,
     * with a 5 s sleep queued behind the crash. That one is pending when
     * the server dies and must fail at once, not after 5 s. */
    berth_upstream_t *u = berth_supervisor_acquire(s->sv, NULL, s->pool);
    assert_non_null(u);
    berth_call_opts_t opts = { SEC(10), NULL, NULL };
    berth_call_t *c_sleep, *c_crash, *c_long;
    assert_int_equal(berth_upstream_call_start(
                         u, "tools/call",
                         json_pack("{s:s, s:{s:i}}", "name", "sleep",
                                   "arguments", "ms", 300),
                         &opts, &c_sleep),
                     APR_SUCCESS);
    assert_int_equal(berth_upstream_call_start(
                         u, "tools/call",
                         json_pack("{s:s, s:{s:i}}", "name", "crash",
                                   "arguments", "code", 7),
                         &opts, &c_crash),
                     APR_SUCCESS);
    assert_int_equal(berth_upstream_call_start(
                         u, "tools/call",
                         json_pack("{s:s, s:{s:i}}", "name", "sleep",
                                   "arguments", "ms", 5000),
                         &opts, &c_long),
                     APR_SUCCESS);
    json_t *result = NULL, *error = NULL;
    assert_int_equal(berth_upstream_call_wait(c_sleep, &result, &error),
                     APR_SUCCESS);
    apr_time_t crashed = berth_platform_clock(); /* it reads crash next */
    assert_string_equal(text_of(result), "slept 300 ms");
    json_decref(result);

    assert_int_not_equal(berth_upstream_call_wait(c_long, &result, &error),
                         APR_SUCCESS);
    double failed_after = elapsed_s(crashed);
    print_message("  the pending call failed %.3f s after the crash\n",
                  failed_after);
    assert_null(result);
    assert_int_equal(err_code(error), BERTH_RPC_SERVER_GONE);
    assert_contains(err_message(error), "server fixture exited with status 7");
    json_decref(error);
    assert_true(failed_after < 1.0);
    assert_int_not_equal(berth_upstream_call_wait(c_crash, &result, &error),
                         APR_SUCCESS);
    assert_contains(err_message(error), "server fixture exited with status 7");
    json_decref(error);
    assert_true(berth_upstream_closed(u));
    /* a call on the dead session fails at once too */
    berth_call_t *c_dead;
    assert_int_equal(berth_upstream_call_start(u, "ping", NULL, &opts,
                                               &c_dead),
                     APR_SUCCESS);
    assert_int_not_equal(berth_upstream_call_wait(c_dead, &result, &error),
                         APR_SUCCESS);
    assert_int_equal(err_code(error), BERTH_RPC_SERVER_GONE);
    json_decref(error);
    berth_upstream_call_free(c_dead);
    berth_upstream_call_free(c_sleep);
    berth_upstream_call_free(c_crash);
    berth_upstream_call_free(c_long);
    berth_supervisor_release(s->sv, u);

    /* backoff: calls fail at once, naming the server and why */
    assert_true(wait_state(s, BERTH_SV_BACKOFF, -1, SEC(5)));
    berth_supervisor_status_t st = status_of(s);
    assert_int_equal(st.last_exit, 7);
    assert_int_equal(st.deaths_recent, 1);
    assert_int_equal(st.restarts, 0);
    assert_true(st.backoff == MSEC(300));
    assert_contains(st.last_error, "server fixture exited with status 7");
    apr_time_t t0 = berth_platform_clock();
    json_t *e = request_fails(s, "tools/call",
                              json_pack("{s:s, s:{s:s}}", "name", "echo",
                                        "arguments", "text", "x"));
    assert_true(elapsed_s(t0) < 0.1);
    assert_int_equal(err_code(e), BERTH_RPC_SERVER_GONE);
    assert_contains(err_message(e), "server fixture is not running (backoff");
    json_decref(e);

    /* and back after the backoff */
    assert_true(wait_state(s, BERTH_SV_READY, 1, SEC(10)));
    double back = elapsed_s(crashed);
    print_message("  ready again %.3f s after the crash\n", back);
    assert_true(back >= 0.3);
    const char *why = NULL;
    assert_int_equal(berth_supervisor_wait_ready(s->sv, SEC(1), &why,
                                                 s->pool),
                     APR_SUCCESS);
    st = status_of(s);
    assert_int_equal(st.restarts, 1);
    assert_true(st.deaths_recent >= 1);
    assert_true(st.pid > 0 && st.pid != pid1);
    assert_int_equal(st.tools, N_TOOLS);
    assert_false(pid_alive(pid1));
    echo_ok(s, "after the restart");
    json_t *r = tool_ok(s, "add", json_pack("{s:i, s:i}", "a", 1, "b", 2));
    assert_string_equal(text_of(r), "3");
    json_decref(r);
    long pid2 = st.pid;
    server_close(s);
    assert_gone(pid2);
}

/* No restart (a one-shot `berth call`): FIXTURE_EXIT_AFTER ends it after two
 * calls and the death is final. */
static void test_exit_without_restart_is_final(void **state)
{
    (void)state;
    setup_t o = { .env = json_pack("{s:s}", "FIXTURE_EXIT_AFTER", "2") };
    server_t *s = server_open(&o);
    server_start_ready(s);
    long pid = status_of(s).pid;
    echo_ok(s, "one");
    echo_ok(s, "two"); /* answered, then it exits 9 */
    assert_true(wait_state(s, BERTH_SV_FAILED, -1, SEC(10)));
    berth_supervisor_status_t st = status_of(s);
    assert_int_equal(st.last_exit, 9);
    assert_int_equal(st.restarts, 0);
    assert_int_equal(st.deaths_recent, 1);
    assert_int_equal(st.pid, 0);
    json_t *e = request_fails(s, "ping", NULL);
    assert_int_equal(err_code(e), BERTH_RPC_SERVER_GONE);
    assert_contains(err_message(e), "server fixture is not running (failed: "
                                    "server fixture exited with status 9");
    json_decref(e);
    const char *why = NULL;
    assert_int_not_equal(berth_supervisor_wait_ready(s->sv, SEC(1), &why,
                                                     s->pool),
                         APR_SUCCESS);
    assert_contains(why, "exited with status 9");
    apr_sleep(MSEC(300)); /* no restart comes */
    assert_int_equal(status_of(s).state, BERTH_SV_FAILED);
    server_close(s);
    assert_gone(pid);
}

/* A server whose starts keep failing is really restarted, after delays
 * that grow up to the maximum (the exact sequence, and the BACKOFF ->
 * STARTING cells, are tested without processes in supervisor_test.c), and
 * each failure quotes that start's stderr. */
static void test_failing_starts_restart(void **state)
{
    (void)state;
    setup_t o = { .restart = 1, .env = json_pack("{s:s}", "FIXTURE_FAIL_INIT",
                                                 "1"),
                  .backoff_initial = MSEC(100), .backoff_max = MSEC(400) };
    server_t *s = server_open(&o);
    assert_int_equal(berth_supervisor_start(s->sv), APR_SUCCESS);
    const char *why = NULL;
    assert_int_not_equal(berth_supervisor_wait_ready(s->sv, SEC(30), &why,
                                                     s->pool),
                         APR_SUCCESS);
    assert_contains(why, "failed to initialize");
    apr_interval_time_t prev = 0;
    int last_exit[4];
    int tail_lines[4];
    for (unsigned k = 0; k < 4; k++) {
        berth_supervisor_status_t st = { 0 };
        if (!wait_state_st(s, BERTH_SV_BACKOFF, (int)k, SEC(10), &st))
            fail_msg("no backoff after restart %u", k);
        /* that backoff (it lasts at least 100 ms), not a later one */
        assert_int_equal(st.restarts, k);
        if (st.backoff < o.backoff_initial || st.backoff > o.backoff_max ||
            (k > 0 && st.backoff <= prev && st.backoff != o.backoff_max))
            fail_msg("backoff %u is %ld us after %ld: it does not grow to "
                     "the maximum", k, (long)st.backoff, (long)prev);
        prev = st.backoff;
        assert_int_equal(st.deaths_recent, k + 1);
        assert_contains(st.last_error, "fatal: bad config");
        last_exit[k] = st.last_exit;
        tail_lines[k] = 0;
        for (const char *p = st.last_error;
             (p = strstr(p, "fatal: bad config")); p++)
            tail_lines[k]++;
        /* the next attempt */
        apr_time_t deadline = berth_platform_clock() + SEC(10);
        while (status_of(s).restarts <= k) {
            if (berth_platform_clock() > deadline)
                fail_msg("no restart after backoff %u", k);
            apr_sleep(MSEC(5));
        }
    }
    assert_int_equal(prev, o.backoff_max);
    server_close(s);
    /* checked last, so that the checks above run whatever these say: each
     * failed start exited 3, and its error quotes that start's stderr (one
     * line), not the earlier starts' too */
    const char *wrong = "";
    for (unsigned k = 0; k < 4; k++) {
        if (last_exit[k] != 3)
            wrong = apr_psprintf(test_pool, "%s\n  after failed start %u, "
                                 "status.last_exit is %d, want 3", wrong,
                                 k + 1, last_exit[k]);
        if (tail_lines[k] != 1)
            wrong = apr_psprintf(test_pool, "%s\n  the error of failed start "
                                 "%u quotes \"fatal: bad config\" %d times; "
                                 "that start wrote it once", wrong, k + 1,
                                 tail_lines[k]);
    }
    if (*wrong)
        fail_msg("%s", wrong);
}

/* ---- 4. garbage and oversize lines -------------------------------------- */

static void test_noise_and_oversize(void **state)
{
    (void)state;
    setup_t o = { .env = json_pack("{s:s}", "FIXTURE_STARTUP_NOISE", "1"),
                  .max_message = 64 * 1024, .call_timeout = 2 };
    server_t *s = server_open(&o);
    server_start_ready(s); /* through its banner */
    berth_upstream_t *u = berth_supervisor_acquire(s->sv, NULL, s->pool);
    assert_non_null(u);
    unsigned dropped, skipped;
    berth_upstream_counters(u, &dropped, &skipped);
    assert_int_equal(dropped, 0);
    assert_int_equal(skipped, 1);
    assert_int_equal(status_of(s).tools, N_TOOLS);

    /* under the maximum: fine */
    json_t *r = tool_ok(s, "big_output", json_pack("{s:i}", "bytes", 60000));
    assert_int_equal(strlen(text_of(r)), 60000);
    json_decref(r);

    /* over it: the line is dropped, and the call it answers fails at once
     * (well before its 2 s timeout), naming the limit and the size */
    apr_time_t t0 = berth_platform_clock();
    json_t *e = request_fails(s, "tools/call",
                              json_pack("{s:s, s:{s:i}}", "name",
                                        "big_output", "arguments", "bytes",
                                        1 << 20));
    double took = elapsed_s(t0);
    print_message("  the oversize answer failed after %.3f s\n", took);
    assert_int_equal(err_code(e), BERTH_RPC_TOO_LARGE);
    assert_contains(err_message(e), "server fixture answered tools/call with "
                                    "10486");
    assert_contains(err_message(e), "bytes, over its limit of 65536 bytes "
                                    "(max_message)");
    json_decref(e);
    assert_true(took < 1.5);
    berth_upstream_counters(u, &dropped, &skipped);
    assert_int_equal(dropped, 1);
    assert_int_equal(skipped, 1);

    /* the session goes on: the next line is read in full */
    echo_ok(s, "after the oversize line");
    r = tool_ok(s, "bad_json", NULL);
    json_decref(r);
    berth_upstream_counters(u, &dropped, &skipped);
    assert_int_equal(dropped, 1);
    assert_int_equal(skipped, 3);
    echo_ok(s, "after the garbage");
    /* twice over, still fine */
    e = request_fails(s, "tools/call",
                      json_pack("{s:s, s:{s:i}}", "name", "big_output",
                                "arguments", "bytes", 200000));
    assert_int_equal(err_code(e), BERTH_RPC_TOO_LARGE);
    json_decref(e);
    echo_ok(s, "and again");
    berth_upstream_counters(u, &dropped, &skipped);
    assert_int_equal(dropped, 2);

    /* a server stuck in the middle of a line holds nobody past the call's
     * deadline (the caller that reads stdout itself included), and the
     * line, once whole, is skipped as noise */
    t0 = berth_platform_clock();
    e = request_fails(s, "tools/call",
                      json_pack("{s:s, s:{s:i}}", "name", "bad_json",
                                "arguments", "stall_ms", 3000));
    took = elapsed_s(t0);
    print_message("  the call stuck mid-line timed out after %.3f s\n", took);
    assert_int_equal(err_code(e), BERTH_RPC_TIMEOUT);
    json_decref(e);
    assert_true(took >= 1.9 && took < 2.9);
    echo_ok(s, "after the stalled line");
    berth_upstream_counters(u, &dropped, &skipped);
    assert_int_equal(skipped, 6);
    berth_supervisor_release(s->sv, u);
    close_healthy(s);
}

/* ---- 5. many calls ------------------------------------------------------ */

static void test_sequential_1000(void **state)
{
    (void)state;
    server_t *s = open_ready();
    apr_time_t t0 = berth_platform_clock();
    for (int i = 0; i < 1000; i++) {
        char text[64];
        snprintf(text, sizeof text, "sequential %d of 1000 %08x", i,
                 (unsigned)(i * 2654435761u));
        json_t *r = tool_ok(s, "echo", json_pack("{s:s}", "text", text));
        const char *got = text_of(r);
        if (strcmp(got, text) != 0)
            fail_msg("call %d: answer [%s] to [%s]", i, got, text);
        json_decref(r);
    }
    print_message("  1000 sequential calls in %.3f s\n", elapsed_s(t0));
    close_gone(s);
}

#define N_THREADS 100
#define CALLS_PER_THREAD 5

typedef struct {
    server_t *s;
    apr_thread_mutex_t *gate_lock;
    apr_thread_cond_t *gate;
    int *open;
    int index;
    int ok;
    int mismatched;
    char failure[256];
} worker_t;

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *arg)
{
    worker_t *w = arg;
    apr_thread_mutex_lock(w->gate_lock);
    while (!*w->open)
        apr_thread_cond_wait(w->gate, w->gate_lock);
    apr_thread_mutex_unlock(w->gate_lock);
    for (int k = 0; k < CALLS_PER_THREAD; k++) {
        char text[64];
        snprintf(text, sizeof text, "thread %d call %d", w->index, k);
        json_t *result = NULL, *error = NULL;
        /* no cmocka here: it is not thread-safe */
        if (berth_supervisor_call(
                w->s->sv, "tools/call",
                json_pack("{s:s, s:{s:s}}", "name", "echo", "arguments",
                          "text", text),
                &result, &error) != APR_SUCCESS) {
            snprintf(w->failure, sizeof w->failure, "%s: %s", text,
                     error ? json_string_value(json_object_get(error,
                                                               "message"))
                           : "(no error)");
            json_decref(error);
            continue;
        }
        const char *got = json_string_value(json_object_get(
            json_array_get(json_object_get(result, "content"), 0), "text"));
        if (got && strcmp(got, text) == 0) {
            w->ok++;
        } else {
            w->mismatched++;
            snprintf(w->failure, sizeof w->failure, "answer [%s] to [%s]",
                     got ? got : "(none)", text);
        }
        json_decref(result);
    }
    /* returns rather than apr_thread_exit(): its pthread_exit from
     * uninstrumented APR leaves this frame's ASan redzones poisoned, and
     * ASan then reports its own thread teardown as a stack overflow */
    (void)t;
    return NULL;
}

static void test_concurrent_100(void **state)
{
    (void)state;
    server_t *s = open_ready();
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *gate;
    int open = 0;
    apr_thread_mutex_create(&lock, APR_THREAD_MUTEX_DEFAULT, s->pool);
    apr_thread_cond_create(&gate, s->pool);
    worker_t *w = apr_pcalloc(s->pool, sizeof *w * N_THREADS);
    apr_thread_t *th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        w[i].s = s;
        w[i].gate_lock = lock;
        w[i].gate = gate;
        w[i].open = &open;
        w[i].index = i;
        assert_int_equal(apr_thread_create(&th[i], NULL, worker, &w[i],
                                           s->pool),
                         APR_SUCCESS);
    }
    apr_time_t t0 = berth_platform_clock();
    apr_thread_mutex_lock(lock);
    open = 1;
    apr_thread_cond_broadcast(gate);
    apr_thread_mutex_unlock(lock);
    for (int i = 0; i < N_THREADS; i++) {
        apr_status_t ts;
        apr_thread_join(&ts, th[i]);
    }
    print_message("  %d threads x %d calls in %.3f s\n", N_THREADS,
                  CALLS_PER_THREAD, elapsed_s(t0));
    int ok = 0, mismatched = 0;
    const char *first = NULL;
    for (int i = 0; i < N_THREADS; i++) {
        ok += w[i].ok;
        mismatched += w[i].mismatched;
        if (!first && w[i].failure[0])
            first = w[i].failure;
    }
    if (ok != N_THREADS * CALLS_PER_THREAD)
        fail_msg("%d of %d calls right, %d mismatched; first failure: %s", ok,
                 N_THREADS * CALLS_PER_THREAD, mismatched,
                 first ? first : "?");
    assert_int_equal(mismatched, 0);
    close_healthy(s);
}

/* ---- 6. shutdown -------------------------------------------------------- */

static void test_shutdown_leaves_nothing(void **state)
{
    (void)state;
    server_t *s = open_ready();
    long pid = status_of(s).pid;
    assert_true(pid_alive(pid));
    apr_time_t t0 = berth_platform_clock();
    server_stop(s);
    double took = elapsed_s(t0);
    print_message("  stopped in %.3f s\n", took);
    /* it exits when its stdin closes: no signal needed */
    assert_true(took < 1.5);
    berth_supervisor_status_t st = status_of(s);
    assert_int_equal(st.state, BERTH_SV_STOPPED);
    assert_int_equal(st.pid, 0);
    assert_gone(pid);
    /* after a stop, a call fails at once */
    json_t *e = request_fails(s, "ping", NULL);
    assert_int_equal(err_code(e), BERTH_RPC_SERVER_GONE);
    assert_contains(err_message(e), "server fixture is not running (stopped");
    json_decref(e);
    /* the session said it closed */
    apr_thread_mutex_lock(s->ev.lock);
    assert_int_equal(s->ev.closed, 1);
    apr_thread_mutex_unlock(s->ev.lock);
    server_close(s);
}

typedef struct {
    server_t *s;
    apr_time_t done_at;
    apr_status_t rv;
    json_t *error;
} pending_t;

static void *APR_THREAD_FUNC long_call(apr_thread_t *t, void *arg)
{
    pending_t *p = arg;
    json_t *result = NULL;
    p->rv = berth_supervisor_call(p->s->sv, "tools/call",
                                  json_pack("{s:s, s:{s:i}}", "name", "sleep",
                                            "arguments", "ms", 20000),
                                  &result, &p->error);
    p->done_at = berth_platform_clock();
    json_decref(result);
    /* returns rather than apr_thread_exit(): its pthread_exit from
     * uninstrumented APR leaves this frame's ASan redzones poisoned, and
     * ASan then reports its own thread teardown as a stack overflow */
    (void)t;
    return NULL;
}

/* A stop while a call runs: the fixture is busy sleeping and does not read
 * its closed stdin, so the stop escalates after the shutdown timeout; the
 * call fails then, not after its 20 s. */
static void test_stop_with_call_in_flight(void **state)
{
    (void)state;
    setup_t o = { .shutdown_timeout = 1, .call_timeout = 60 };
    server_t *s = server_open(&o);
    server_start_ready(s);
    long pid = status_of(s).pid;
    pending_t p = { s, 0, APR_SUCCESS, NULL };
    apr_thread_t *t;
    assert_int_equal(apr_thread_create(&t, NULL, long_call, &p, s->pool),
                     APR_SUCCESS);
    apr_sleep(MSEC(300)); /* the sleep is running */
    apr_time_t t0 = berth_platform_clock();
    server_stop(s);
    double took = elapsed_s(t0);
    apr_status_t ts;
    apr_thread_join(&ts, t);
    double call_took = (double)(p.done_at - t0) / APR_USEC_PER_SEC;
    print_message("  stopped in %.3f s; the call failed after %.3f s\n", took,
                  call_took);
    assert_int_not_equal(p.rv, APR_SUCCESS);
    assert_int_equal(err_code(p.error), BERTH_RPC_SERVER_GONE);
    assert_contains(err_message(p.error), "server fixture");
    json_decref(p.error);
    assert_true(took >= 0.9 && took < 3.0);
    assert_true(call_took < 3.0);
    assert_gone(pid);
    server_close(s);
}

#ifndef _WIN32
/* A server that survives its stdin closing and ignores SIGTERM: the stop
 * still ends it (SIGKILL to the group) within twice the shutdown timeout
 * and a little, and leaves no process. The MCP part is the fixture, run by
 * a shell that ignores TERM (so does the fixture, and the shell's `sleep`
 * children, which inherit the ignored signal). */
static void test_stop_kills_a_server_ignoring_term(void **state)
{
    (void)state;
    setup_t o = { .command = "/bin/sh",
                  .args = json_pack("[s, s, s, s]", "-c",
                                    "trap '' TERM; \"$1\"; "
                                    "while :; do sleep 1; done",
                                    "sh", g_fixture),
                  .shutdown_timeout = 1 };
    server_t *s = server_open(&o);
    server_start_ready(s);
    long pid = status_of(s).pid;
    echo_ok(s, "through a shell");
    apr_time_t t0 = berth_platform_clock();
    server_stop(s);
    double took = elapsed_s(t0);
    print_message("  stopped in %.3f s (shutdown timeout 1 s)\n", took);
    assert_true(took >= 1.8);  /* stdin closed, 1 s; SIGTERM, 1 s; SIGKILL */
    assert_true(took < 3.0);
    assert_gone(pid);
    server_close(s);
}
#endif

/* A wait for readiness right after a restart waits for the new start: the
 * earlier run's end (its last error, its stopped state) is not taken for
 * the new one's failure. */
static void test_wait_ready_after_restart(void **state)
{
    (void)state;
    server_t *s = open_ready();
    long pid = status_of(s).pid;
    for (int i = 0; i < 3; i++) {
        berth_supervisor_restart(s->sv);
        const char *why = NULL;
        apr_status_t rv = berth_supervisor_wait_ready(s->sv, SEC(10), &why,
                                                      s->pool);
        if (rv != APR_SUCCESS)
            fail_msg("restart %d: not ready (%d): %s", i + 1, rv,
                     why ? why : "(no reason)");
        assert_true(status_of(s).pid != pid);
        pid = status_of(s).pid;
        echo_ok(s, "after a restart");
    }
    close_gone(s);
}

#ifndef _WIN32
/* A server that reads its stdin, survives its end and never answers:
 * stuck in the initialize handshake until its 30 s initialize timeout. */
static setup_t silent_setup(void)
{
    setup_t o = { .command = "/bin/sh",
                  .args = json_pack("[s, s]", "-c",
                                    "cat >/dev/null; sleep 600"),
                  .init_timeout = 30, .shutdown_timeout = 2 };
    return o;
}

/* Waits until S's process runs (its handshake is then in flight). */
static long starting_pid(server_t *s)
{
    berth_supervisor_status_t st = { 0 };
    apr_time_t deadline = berth_platform_clock() + SEC(10);
    do {
        st = status_of(s);
        if (st.pid > 0)
            break;
        apr_sleep(MSEC(5));
    } while (berth_platform_clock() < deadline);
    assert_int_equal(st.state, BERTH_SV_STARTING);
    assert_true(st.pid > 0);
    apr_sleep(MSEC(200)); /* initialize sent, unanswered */
    return st.pid;
}

/* A stop while the handshake waits is acted on at once: the start is
 * abandoned, the server ended without waiting out the initialize timeout
 * (30 s) nor the 2 s a ready server gets after its stdin closes. */
static void test_stop_while_starting(void **state)
{
    (void)state;
    setup_t o = silent_setup();
    server_t *s = server_open(&o);
    assert_int_equal(berth_supervisor_start(s->sv), APR_SUCCESS);
    long pid = starting_pid(s);
    apr_time_t t0 = berth_platform_clock();
    server_stop(s);
    double took = elapsed_s(t0);
    print_message("  stopped in %.3f s while starting\n", took);
    assert_true(took < 1.0);
    berth_supervisor_status_t st = status_of(s);
    assert_int_equal(st.state, BERTH_SV_STOPPED);
    assert_int_equal(st.pid, 0);
    assert_int_equal(st.deaths_recent, 0);
    assert_gone(pid);
    json_t *e = request_fails(s, "ping", NULL);
    assert_contains(err_message(e), "server fixture is not running (stopped");
    json_decref(e);
    server_close(s);
}

/* A request_stop (the daemon's way: N servers at once) reaches a
 * supervisor whose handshake waits just the same, and a restart after it
 * starts afresh. */
static void test_request_stop_while_starting_then_restart(void **state)
{
    (void)state;
    setup_t o = silent_setup();
    server_t *s = server_open(&o);
    assert_int_equal(berth_supervisor_start(s->sv), APR_SUCCESS);
    long pid = starting_pid(s);
    apr_time_t t0 = berth_platform_clock();
    berth_supervisor_request_stop(s->sv);
    assert_true(wait_state(s, BERTH_SV_STOPPED, -1, SEC(1)));
    print_message("  stopped %.3f s after the request\n", elapsed_s(t0));
    assert_gone(pid);
    berth_supervisor_restart(s->sv);
    long pid2 = starting_pid(s);
    assert_true(pid2 != pid);
    t0 = berth_platform_clock();
    server_stop(s);
    assert_true(elapsed_s(t0) < 1.0);
    assert_gone(pid2);
    server_close(s);
}

/* A start that fails (here: no answer within the initialize timeout) ends
 * its server at once too: it never had a session to wind down, so it gets
 * SIGTERM without first waiting the shutdown timeout for it to exit. */
static void test_failed_start_ends_at_once(void **state)
{
    (void)state;
    setup_t o = silent_setup();
    o.init_timeout = 0.5;
    o.shutdown_timeout = 5;
    server_t *s = server_open(&o);
    apr_time_t t0 = berth_platform_clock();
    assert_int_equal(berth_supervisor_start(s->sv), APR_SUCCESS);
    long pid = starting_pid(s);
    const char *why = NULL;
    assert_int_not_equal(berth_supervisor_wait_ready(s->sv, SEC(30), &why,
                                                     s->pool),
                         APR_SUCCESS);
    double took = elapsed_s(t0);
    print_message("  failed in %.3f s: %s\n", took, why);
    assert_contains(why, "did not answer initialize within 0.5 s");
    assert_true(took < 2.0); /* not 0.5 s + the 5 s shutdown timeout */
    berth_supervisor_status_t st = status_of(s);
    assert_int_equal(st.state, BERTH_SV_FAILED);
    assert_int_equal(st.last_exit, 128 + SIGTERM);
    assert_gone(pid);
    server_close(s);
}
#endif

/* ---- 7. a command that does not exist ----------------------------------- */

static void test_missing_command(void **state)
{
    (void)state;
    /* Unix: on no PATH folder, so the login shell (here /bin/sh, whatever
     * the user's is) gets a chance and exits 127; Windows: the plan fails */
    setup_t o = { .command = "berth-no-such-command-4f2a",
                  .login_shell = "/bin/sh" };
#ifdef _WIN32
    o.login_shell = NULL;
#endif
    server_t *s = server_open(&o);
    assert_int_equal(berth_supervisor_start(s->sv), APR_SUCCESS);
    const char *why = NULL;
    apr_time_t t0 = berth_platform_clock();
    assert_int_not_equal(berth_supervisor_wait_ready(s->sv, SEC(30), &why,
                                                     s->pool),
                         APR_SUCCESS);
    print_message("  failed in %.3f s: %s\n", elapsed_s(t0), why);
    assert_contains(why, "command not found: berth-no-such-command-4f2a");
    assert_true(elapsed_s(t0) < 5.0); /* not the initialize timeout */
    berth_supervisor_status_t st = status_of(s);
    assert_int_equal(st.state, BERTH_SV_FAILED);
    assert_int_equal(st.pid, 0);
    assert_int_equal(st.deaths_recent, 1);
#ifndef _WIN32
    assert_contains(why, "server fixture: command not found");
    assert_contains(why, "/bin/sh -l did not find it");
#endif
    json_t *e = request_fails(s, "ping", NULL);
    assert_contains(err_message(e), "command not found: "
                                    "berth-no-such-command-4f2a");
    json_decref(e);
    server_close(s);
#ifndef _WIN32
    /* the login shell exited 127 (checked last, so that the checks above
     * run whatever this says) */
    assert_int_equal(st.last_exit, 127);
#endif
}

/* ---- 8. a server that fails to initialize ------------------------------- */

static void test_fail_init(void **state)
{
    (void)state;
    /* repeated: its last stderr line must be in the message every time,
     * however the stdout and stderr readers interleave */
    int missing = 0, wrong_exit = 0;
    const char *sample = NULL;
    for (int round = 0; round < 20; round++) {
        setup_t o = { .env = json_pack("{s:s}", "FIXTURE_FAIL_INIT", "1") };
        server_t *s = server_open(&o);
        assert_int_equal(berth_supervisor_start(s->sv), APR_SUCCESS);
        const char *why = NULL;
        assert_int_not_equal(berth_supervisor_wait_ready(s->sv, SEC(30), &why,
                                                         s->pool),
                             APR_SUCCESS);
        assert_contains(why, "server fixture failed to initialize: server "
                             "fixture exited with status 3");
        if (!strstr(why, "fatal: bad config"))
            missing++;
        else if (!sample)
            sample = apr_pstrdup(test_pool, why);
        berth_supervisor_status_t st = status_of(s);
        assert_int_equal(st.state, BERTH_SV_FAILED);
        assert_int_equal(st.pid, 0);
        if (st.last_exit != 3)
            wrong_exit++;
        server_close(s);
    }
    if (sample)
        print_message("  %s\n", sample);
    if (missing)
        fail_msg("%d of 20 failed starts lacked the last stderr line "
                 "\"fatal: bad config\"", missing);
    /* checked last, so that the stderr check runs whatever this says */
    if (wrong_exit)
        fail_msg("%d of 20 failed starts left status.last_exit other than 3 "
                 "(the server exited with status 3)", wrong_exit);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: upstream_test MCP_FIXTURE\n");
        return 2;
    }
    g_fixture = argv[1];
    /* in the test's own environment, not allow-listed: no server sees it */
#ifdef _WIN32
    SetEnvironmentVariableA("BERTH_TEST_SECRET", "xyz-not-for-servers");
    _putenv("BERTH_TEST_SECRET=xyz-not-for-servers");
#else
    setenv("BERTH_TEST_SECRET", "xyz-not-for-servers", 1);
    /* a server that dies must not take the test with it (berth does the
     * same in berth_signals_install) */
    signal(SIGPIPE, SIG_IGN);
#ifdef __linux__
    /* orphaned members of a server's group can be reaped and seen gone */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
#endif
    const char *lvl = getenv("BERTH_LOG_LEVEL");
    berth_log_level_t level = BERTH_LOG_ERROR;
    if (lvl)
        berth_log_parse_level(lvl, &level);
    berth_log_set_level(level);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_handshake_and_lists, close_all),
        cmocka_unit_test_teardown(test_basic_tools, close_all),
        cmocka_unit_test_teardown(test_stderr_to_log_file_and_rotation,
                                  close_all),
        cmocka_unit_test_teardown(test_bad_json_is_skipped, close_all),
        cmocka_unit_test_teardown(test_result_passes_as_text, close_all),
        cmocka_unit_test_teardown(test_progress, close_all),
        cmocka_unit_test_teardown(test_sampling, close_all),
        cmocka_unit_test_teardown(test_add_tool_list_changed, close_all),
        cmocka_unit_test_teardown(test_log_notifications, close_all),
        cmocka_unit_test_teardown(test_resources_prompts_completion_ping,
                                  close_all),
        cmocka_unit_test_teardown(test_crash_mid_call_restarts, close_all),
        cmocka_unit_test_teardown(test_exit_without_restart_is_final,
                                  close_all),
        cmocka_unit_test_teardown(test_failing_starts_restart, close_all),
        cmocka_unit_test_teardown(test_noise_and_oversize, close_all),
        cmocka_unit_test_teardown(test_sequential_1000, close_all),
        cmocka_unit_test_teardown(test_concurrent_100, close_all),
        cmocka_unit_test_teardown(test_shutdown_leaves_nothing, close_all),
        cmocka_unit_test_teardown(test_stop_with_call_in_flight, close_all),
        cmocka_unit_test_teardown(test_wait_ready_after_restart, close_all),
#ifndef _WIN32
        cmocka_unit_test_teardown(test_stop_kills_a_server_ignoring_term,
                                  close_all),
        cmocka_unit_test_teardown(test_stop_while_starting, close_all),
        cmocka_unit_test_teardown(
            test_request_stop_while_starting_then_restart, close_all),
        cmocka_unit_test_teardown(test_failed_start_ends_at_once, close_all),
#endif
        cmocka_unit_test_teardown(test_missing_command, close_all),
        cmocka_unit_test_teardown(test_fail_init, close_all),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
