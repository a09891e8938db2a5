#include "cmd.h"

#include <string.h>

#include <apr_strings.h>

#include "control.h"
#include "hostfacts.h"
#include "platform.h"
#include "serve.h"
#include "service.h"

/* ---- berth serve, berth stdio: the long-running berth (serve.h) --------- */

static int run(const berth_cmd_opts_t *opt, berth_front_t front, FILE *out,
               FILE *err, apr_pool_t *pool)
{
    berth_serve_opts_t so;
    berth_serve_t *s;
    memset(&so, 0, sizeof so);
    so.config = opt->config;
    so.front = front;
    so.out = front == BERTH_FRONT_HTTP ? out : NULL;
    so.err = err;
    berth_service_serve_hooks(&so, pool);
    if (berth_serve_create(&s, &so, pool) != APR_SUCCESS)
        return BERTH_EXIT_FAILURE;
    return berth_serve_run(s) == APR_SUCCESS ? BERTH_EXIT_OK
                                             : BERTH_EXIT_FAILURE;
}

int berth_cmd_serve(const berth_cmd_opts_t *opt, FILE *out, FILE *err,
                    apr_pool_t *pool)
{
    return run(opt, BERTH_FRONT_HTTP, out, err, pool);
}

int berth_cmd_stdio(const berth_cmd_opts_t *opt, FILE *out, FILE *err,
                    apr_pool_t *pool)
{
    return run(opt, BERTH_FRONT_STDIO, out, err, pool);
}

/* ---- berth status / restart: the running daemon's control API ------------ */

/* The control tokens this user may hold: its own berth's, then (read by
 * an administrator) the system service's. */
static apr_array_header_t *token_files(const berth_hostfacts_t *facts,
                                       apr_pool_t *pool)
{
    apr_array_header_t *files = apr_array_make(pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(files, const char *) = berth_path_child(
        facts, berth_state_dir(facts, pool), "control.token", pool);
    const char *sys = berth_service_system_state_dir(pool);
    if (sys)
        APR_ARRAY_PUSH(files, const char *) =
            berth_path_child(facts, sys, "control.token", pool);
    return files;
}

/* (long: one answer per way a request can fail, each said to the user) */
int berth_cmd_ask_daemon_at(const berth_config_t *cfg, const char *method,
                            const char *path, const char *cmd,
                            apr_interval_time_t timeout, json_t **body,
                            int *status, FILE *err, apr_pool_t *pool)
{
    const char *error = NULL;
    const char *host = cfg ? cfg->listen_host : NULL;
    unsigned port = cfg ? cfg->listen_port : 0;
    if (!cfg) /* no config: where a berth with none would listen */
        berth_config_parse_listen(berth_config_default_text("listen"), &host,
                                  &port, NULL, pool);
    berth_hostfacts_t *facts;
    *body = NULL;
    if (berth_hostfacts_real(&facts, pool) != APR_SUCCESS)
        return 0;
    apr_array_header_t *files = token_files(facts, pool);
    const char *file = APR_ARRAY_IDX(files, 0, const char *);
    int tried = 0;
    for (int i = 0; i < files->nelts; i++) {
        const char *token = berth_control_token_read(
            APR_ARRAY_IDX(files, i, const char *), pool);
        if (!token)
            continue;
        file = APR_ARRAY_IDX(files, i, const char *);
        tried = 1;
        json_decref(*body);
        *body = NULL;
        if (berth_control_call(host, port, method, path, token, timeout,
                               status, body, &error, pool) != APR_SUCCESS) {
            if (err)
                fprintf(err, "berth %s: no berth serve answers: %s; start "
                        "one with 'berth serve'\n", cmd, error);
            return 0;
        }
        if (*status != 401)
            return 1;
    }
    if (!tried) {
        if (err)
            fprintf(err, "berth %s: no berth serve has run for this user (no "
                    "%s); start one with 'berth serve'\n", cmd, file);
        return 0;
    }
    if (err)
        fprintf(err, "berth %s: the berth at %s:%u refused the token in %s "
                "(is it another user's?)\n", cmd, host, port, file);
    json_decref(*body);
    *body = NULL;
    return 0;
}

static int ask_daemon(const berth_cmd_opts_t *opt, const char *method,
                      const char *path, const char *cmd, json_t **body,
                      int *status, FILE *err, apr_pool_t *pool)
{
    int failed;
    berth_config_t *cfg = berth_cmd_optional_config(opt, &failed, err, pool);
    if (failed)
        return 0;
    return berth_cmd_ask_daemon_at(cfg, method, path, cmd,
                                   apr_time_from_sec(30), body, status, err,
                                   pool);
}

int berth_cmd_status(const berth_cmd_opts_t *opt, FILE *out, FILE *err,
                      apr_pool_t *pool)
{
    json_t *j;
    int status;
    if (!ask_daemon(opt, "GET", "/api/v1/status", "status", &j, &status, err,
                    pool))
        return BERTH_EXIT_FAILURE;
    if (status != 200 || !json_is_object(j)) {
        fprintf(err, "berth status: the daemon answered HTTP %d\n", status);
        json_decref(j);
        return BERTH_EXIT_FAILURE;
    }
    if (opt->json) {
        berth_cmd_print_json(j, out);
        return BERTH_EXIT_OK;
    }
    json_t *d = json_object_get(j, "docker");
    fprintf(out, "berth %s at http://%s/mcp, up %lld s, config %s\n",
            json_string_value(json_object_get(j, "version")),
            json_string_value(json_object_get(j, "listen")),
            (long long)json_integer_value(json_object_get(j, "uptime_s")),
            json_string_value(json_object_get(j, "config")));
    if (json_is_true(json_object_get(d, "available")))
        fprintf(out, "docker: Docker Engine %s\n",
                json_string_value(json_object_get(d, "server_version")));
    else
        fprintf(out, "docker: not available (%s)\n",
                json_string_value(json_object_get(d, "error")));
    fprintf(out, "health: %s\n", json_string_value(json_object_get(
                                       json_object_get(j, "health"),
                                       "summary")));
    fprintf(out, "\n%-20s  %-10s  %7s  %8s  %5s  %s\n", "SERVER", "STATE",
            "PID", "RESTARTS", "TOOLS", "CONTAINER / LAST ERROR");
    size_t i;
    json_t *sv;
    json_array_foreach(json_object_get(j, "servers"), i, sv) {
        json_t *c = json_object_get(sv, "container");
        const char *last = json_string_value(json_object_get(sv,
                                                             "last_error"));
        json_t *tools = json_object_get(sv, "tools");
        char nt[32];
        snprintf(nt, sizeof nt, "%lld", (long long)json_integer_value(tools));
        /* the last error of a server that is up again is history */
        if (strcmp(json_string_value(json_object_get(sv, "state")),
                   "ready") == 0)
            last = NULL;
        else if (last)
            last = berth_control_error_line(last, pool);
        const char *cname = json_string_value(json_object_get(c, "name"));
        const char *cid = json_string_value(json_object_get(c, "id"));
        fprintf(out, "%-20s  %-10s  %7lld  %8lld  %5s  %s%s%s%s%s%s\n",
                json_string_value(json_object_get(sv, "name")),
                berth_control_state_words(
                    json_string_value(json_object_get(sv, "state"))),
                (long long)json_integer_value(json_object_get(sv, "pid")),
                (long long)json_integer_value(json_object_get(sv,
                                                              "restarts")),
                json_is_integer(tools) ? nt : "-", cname ? cname : "",
                cid ? " (" : "", cid ? cid : "", cid ? ")" : "",
                (cname || cid) && last ? "; " : "", last ? last : "");
    }
    json_decref(j);
    return BERTH_EXIT_OK;
}

int berth_cmd_restart(const berth_cmd_opts_t *opt, FILE *out, FILE *err,
                       apr_pool_t *pool)
{
    json_t *j;
    int status;
    const char *path = apr_pstrcat(pool, "/api/v1/servers/", opt->server,
                                   "/restart", NULL);
    if (!ask_daemon(opt, "POST", path, "restart", &j, &status, err, pool))
        return BERTH_EXIT_FAILURE;
    json_decref(j);
    if (status == 404) {
        fprintf(err, "berth restart: the running berth has no server \"%s\""
                "\n", opt->server);
        return BERTH_EXIT_FAILURE;
    }
    if (status != 200) {
        fprintf(err, "berth restart: the daemon answered HTTP %d\n", status);
        return BERTH_EXIT_FAILURE;
    }
    fprintf(out, "restarting %s\n", opt->server);
    return BERTH_EXIT_OK;
}

/* ---- berth service: the OS's service manager (service/) ------------------ */

int berth_cmd_service(const berth_cmd_opts_t *opt, FILE *out, FILE *err,
                      apr_pool_t *pool)
{
    berth_svc_request_t req;
    memset(&req, 0, sizeof req);
    req.action = opt->action;
    req.scope = opt->scope == 1   ? BERTH_SVC_SCOPE_USER
                : opt->scope == 2 ? BERTH_SVC_SCOPE_SYSTEM
                                  : BERTH_SVC_SCOPE_DEFAULT;
    req.config = opt->config;
    req.no_start = opt->no_start;
    req.json = opt->json;
    return berth_service_main(&req, out, err, pool);
}
