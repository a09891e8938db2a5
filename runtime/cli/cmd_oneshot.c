#include "cmd.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "hostfacts.h"
#include "log.h"
#include "logfile.h"
#include "platform.h"
#include "signals.h"
#include "supervisor.h"

/* berth tools and berth call: servers started for one command, stopped
 * when it is done or when berth is asked to stop. */

typedef struct {
    berth_supervisor_t **sv;
    int n;
    volatile int done;
    int signalled;
} watch_t;

/* Stops the servers when berth is asked to stop: a signal makes the call in
 * flight fail at once instead of leaving processes behind. */
static void *APR_THREAD_FUNC watch_signals(apr_thread_t *t, void *arg)
{
    watch_t *w = arg;
    while (!w->done) {
        int sig = berth_signals_wait(apr_time_from_msec(100));
        if (sig && !w->done) {
            berth_log(BERTH_LOG_INFO, "signal %d: stopping the servers", sig);
            w->signalled = sig;
            /* all at once: N servers stop in the time of one */
            for (int i = 0; i < w->n; i++)
                berth_supervisor_request_stop(w->sv[i]);
            for (int i = 0; i < w->n; i++)
                berth_supervisor_stop(w->sv[i]);
        }
    }
    /* return, not apr_thread_exit(): its pthread_exit unwinds past
     * AddressSanitizer\'s thread teardown (a false stack report) */
    (void)t;
    return NULL;
}

static berth_supervisor_opts_t oneshot_opts(const berth_cmd_opts_t *opt,
                                            berth_spawnctx_t *ctx,
                                            const berth_config_t *cfg,
                                            apr_pool_t *pool)
{
    berth_supervisor_opts_t o;
    /* a one-shot command's output is its answer: progress only if asked */
    if (!opt->log_level && !getenv("BERTH_LOG_LEVEL"))
        berth_log_set_level(BERTH_LOG_WARN);
    memset(&o, 0, sizeof o);
    o.restart = 0;
    o.log_dir = berth_path_child(
        berth_spawnctx_facts(ctx),
        berth_state_dir(berth_spawnctx_facts(ctx), pool), "logs",
        pool);
    o.log_max_size = berth_logfile_parse_size(
        berth_config_text(cfg, "docker_isolation.log_max_size"));
    o.log_max_files =
        (int)berth_config_number(cfg, "docker_isolation.log_max_files");
    return o;
}

static apr_interval_time_t start_budget(const berth_server_config_t *srv)
{
    /* the handshake's own timeout, plus time to spawn */
    return (apr_interval_time_t)((srv->timeouts.initialize + 5) *
                                 APR_USEC_PER_SEC);
}

/* Starts the servers of LIST (const berth_server_config_t *) in parallel,
 * with a thread that stops them all when a signal comes. */
static watch_t *start_servers(const berth_cmd_opts_t *opt,
                              berth_spawnctx_t *ctx, const berth_config_t *cfg,
                              const apr_array_header_t *list,
                              apr_thread_t **watcher, apr_pool_t *pool)
{
    watch_t *w = apr_pcalloc(pool, sizeof *w);
    w->sv = apr_pcalloc(pool, sizeof(berth_supervisor_t *) *
                                  (size_t)(list->nelts + 1));
    w->n = list->nelts;
    berth_signals_install();
    berth_supervisor_opts_t o = oneshot_opts(opt, ctx, cfg, pool);
    for (int i = 0; i < list->nelts; i++) {
        w->sv[i] = berth_supervisor_create(
            ctx, cfg, APR_ARRAY_IDX(list, i, const berth_server_config_t *),
            &o, pool);
        berth_supervisor_start(w->sv[i]);
    }
    apr_thread_create(watcher, NULL, watch_signals, w, pool);
    return w;
}

/* Stops them all (in parallel) and the watcher; the exit status of a
 * command a signal ended, else RC. */
static int stop_servers(watch_t *w, apr_thread_t *watcher, int rc)
{
    apr_status_t ts;
    for (int i = 0; i < w->n; i++)
        berth_supervisor_request_stop(w->sv[i]);
    for (int i = 0; i < w->n; i++)
        berth_supervisor_stop(w->sv[i]);
    w->done = 1;
    apr_thread_join(&ts, watcher);
    return w->signalled ? 128 + w->signalled : rc;
}

/* ---- berth tools ---------------------------------------------------------- */

/* The servers berth tools lists: the one named, else every enabled local
 * server. NULL after saying why one cannot be listed. */
static apr_array_header_t *tools_servers(const berth_cmd_opts_t *opt,
                                         const berth_config_t *cfg, FILE *err,
                                         apr_pool_t *pool)
{
    apr_array_header_t *list = apr_array_make(pool, 8,
                                              sizeof(berth_server_config_t *));
    if (opt->server) {
        const berth_server_config_t *srv = berth_cmd_find_server(
            cfg, opt->server, "tools", err, pool);
        if (!srv)
            return NULL;
        if (srv->transport != BERTH_TRANSPORT_STDIO) {
            fprintf(err, "berth tools: %s is a remote server; berth lists "
                    "local servers only for now\n", srv->name);
            return NULL;
        }
        APR_ARRAY_PUSH(list, const berth_server_config_t *) = srv;
        return list;
    }
    for (int i = 0; i < cfg->servers->nelts; i++) {
        const berth_server_config_t *srv =
            APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *);
        if (!srv->disabled && srv->transport == BERTH_TRANSPORT_STDIO)
            APR_ARRAY_PUSH(list, const berth_server_config_t *) = srv;
    }
    return list;
}

/* One line per tool: the server, the name and the description's first
 * line. */
static void print_tools(const char *server, json_t *tools, FILE *out)
{
    size_t k;
    json_t *t;
    json_array_foreach(tools, k, t) {
        const char *d = json_string_value(json_object_get(t, "description"));
        const char *nl = d ? strchr(d, '\n') : NULL;
        fprintf(out, "%s  %s%s%.*s\n", server,
                json_string_value(json_object_get(t, "name")), d ? "  " : "",
                d ? (int)(nl ? nl - d : (long)strlen(d)) : 0, d ? d : "");
    }
}

/* SV's tools once it is ready, as {"server", "tools"} or {"server",
 * "error"}; 0 when it did not start. */
static int list_one(berth_supervisor_t *sv, const berth_server_config_t *srv,
                    const berth_cmd_opts_t *opt, json_t *js, FILE *out,
                    FILE *err, apr_pool_t *pool)
{
    const char *why = NULL;
    if (berth_supervisor_wait_ready(sv, start_budget(srv), &why, pool) !=
        APR_SUCCESS) {
        if (!why)
            why = apr_psprintf(pool, "server %s did not start within %g s",
                               srv->name, srv->timeouts.initialize + 5);
        json_object_set_new(js, "error", json_string(why));
        if (!opt->json)
            fprintf(err, "%s\n", why);
        return 0;
    }
    berth_upstream_t *u = berth_supervisor_acquire(sv, NULL, pool);
    json_t *tools = u ? berth_upstream_list(u, "tools") : json_array();
    if (u)
        berth_supervisor_release(sv, u);
    json_object_set(js, "tools", tools);
    if (!opt->json)
        print_tools(srv->name, tools, out);
    json_decref(tools);
    return 1;
}

int berth_cmd_tools(const berth_cmd_opts_t *opt, FILE *out, FILE *err,
                    apr_pool_t *pool)
{
    berth_config_t *cfg = berth_cmd_load_config(opt, err, pool);
    if (!cfg)
        return BERTH_EXIT_FAILURE;
    apr_array_header_t *list = tools_servers(opt, cfg, err, pool);
    if (!list)
        return BERTH_EXIT_FAILURE;
    berth_spawnctx_t *ctx = berth_cmd_spawn_context(err, pool);
    if (!ctx)
        return BERTH_EXIT_FAILURE;
    apr_thread_t *watcher;
    watch_t *w = start_servers(opt, ctx, cfg, list, &watcher, pool);
    int rc = BERTH_EXIT_OK;
    json_t *jall = json_array();
    for (int i = 0; i < list->nelts; i++) {
        const berth_server_config_t *srv =
            APR_ARRAY_IDX(list, i, const berth_server_config_t *);
        json_t *js = json_pack("{s:s}", "server", srv->name);
        if (!list_one(w->sv[i], srv, opt, js, out, err, pool))
            rc = BERTH_EXIT_FAILURE;
        json_array_append_new(jall, js);
    }
    rc = stop_servers(w, watcher, rc);
    if (opt->json)
        berth_cmd_print_json(json_pack("{s:o}", "servers", jall), out);
    else
        json_decref(jall);
    return rc;
}

/* ---- berth call ------------------------------------------------------------- */

/* The result for a person: text content as text, other content named, and
 * structured content when there is nothing else. To ERR when it is an
 * error result. */
static void print_result(json_t *result, int is_error, FILE *out, FILE *err)
{
    size_t k;
    json_t *c;
    FILE *to = is_error ? err : out;
    json_array_foreach(json_object_get(result, "content"), k, c) {
        const char *type = json_string_value(json_object_get(c, "type"));
        if (type && strcmp(type, "text") == 0)
            fprintf(to, "%s\n", json_string_value(json_object_get(c,
                                                                  "text")));
        else
            fprintf(to, "[%s content]\n", type ? type : "?");
    }
    if (!json_array_size(json_object_get(result, "content")) &&
        json_object_get(result, "structuredContent")) {
        json_dumpf(json_object_get(result, "structuredContent"), to,
                   JSON_INDENT(2));
        fputc('\n', to);
    }
}

/* Calls the tool on SV (ARGS stolen) and prints the outcome. */
static int call_tool(berth_supervisor_t *sv, const berth_cmd_opts_t *opt,
                     json_t *args, FILE *out, FILE *err)
{
    json_t *result = NULL, *error = NULL;
    json_t *params = json_pack("{s:s, s:o}", "name", opt->tool, "arguments",
                               args ? args : json_object());
    int rc = BERTH_EXIT_OK;
    if (berth_supervisor_call(sv, "tools/call", params, &result, &error) !=
        APR_SUCCESS) {
        fprintf(err, "berth call: %s\n",
                json_string_value(json_object_get(error, "message")));
        rc = BERTH_EXIT_FAILURE;
    } else {
        int is_error = json_is_true(json_object_get(result, "isError"));
        if (opt->json) {
            json_dumpf(result, out, JSON_INDENT(2));
            fputc('\n', out);
        } else {
            print_result(result, is_error, out, err);
        }
        if (is_error)
            rc = BERTH_EXIT_FAILURE;
    }
    json_decref(result);
    json_decref(error);
    return rc;
}

/* The server berth call starts, or NULL after saying why not. */
static const berth_server_config_t *call_server(const berth_cmd_opts_t *opt,
                                                const berth_config_t *cfg,
                                                FILE *err, apr_pool_t *pool)
{
    const berth_server_config_t *srv = berth_cmd_find_server(
        cfg, opt->server, "call", err, pool);
    if (srv && srv->transport != BERTH_TRANSPORT_STDIO) {
        fprintf(err, "berth call: %s is a remote server; berth calls local "
                "servers only for now\n", srv->name);
        return NULL;
    }
    return srv;
}

int berth_cmd_call(const berth_cmd_opts_t *opt, FILE *out, FILE *err,
                   apr_pool_t *pool)
{
    json_error_t jerr;
    json_t *args = NULL;
    if (opt->args) {
        args = json_loads(opt->args, 0, &jerr);
        if (!json_is_object(args)) {
            fprintf(err, "berth call: --args must be a JSON object, like "
                    "'{\"text\": \"hi\"}'%s%s\n", args ? "" : ": ",
                    args ? "" : jerr.text);
            json_decref(args);
            return BERTH_EXIT_USAGE;
        }
    }
    berth_config_t *cfg = berth_cmd_load_config(opt, err, pool);
    const berth_server_config_t *srv =
        cfg ? call_server(opt, cfg, err, pool) : NULL;
    berth_spawnctx_t *ctx = srv ? berth_cmd_spawn_context(err, pool) : NULL;
    if (!ctx) {
        json_decref(args);
        return BERTH_EXIT_FAILURE;
    }
    apr_array_header_t *list = apr_array_make(pool, 1, sizeof srv);
    APR_ARRAY_PUSH(list, const berth_server_config_t *) = srv;
    apr_thread_t *watcher;
    watch_t *w = start_servers(opt, ctx, cfg, list, &watcher, pool);
    int rc;
    const char *why = NULL;
    if (berth_supervisor_wait_ready(w->sv[0], start_budget(srv), &why,
                                    pool) != APR_SUCCESS) {
        fprintf(err, "berth call: %s\n",
                why ? why : "the server did not start in time");
        json_decref(args);
        rc = BERTH_EXIT_FAILURE;
    } else {
        rc = call_tool(w->sv[0], opt, args, out, err);
    }
    return stop_servers(w, watcher, rc);
}
