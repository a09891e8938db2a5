#include "cmd.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "berth_version.h"
#include "container.h"
#include "dockerpath.h"
#include "envset.h"
#include "isolation.h"
#include "loginenv.h"
#include "redact.h"

/* ---- berth check ------------------------------------------------------ */

static const char *seconds(double s, apr_pool_t *pool)
{
    char num[32];
    snprintf(num, sizeof num, "%gs", s); /* apr's %g drops a leading 0 */
    return apr_pstrdup(pool, num);
}

static const char *timeouts_text(const berth_timeouts_t *t, apr_pool_t *pool)
{
    return apr_psprintf(pool, "initialize %s, call %s, shutdown %s",
                        seconds(t->initialize, pool), seconds(t->call, pool),
                        seconds(t->shutdown, pool));
}

/* The value of entry KV of SRV as berth shows it: *** for a header and
 * for a secret (docs/config.md, "Secrets"), else as written, with URL
 * credentials and the server's secrets inside it masked. */
static const char *shown_value(const berth_config_t *cfg,
                               const berth_server_config_t *srv,
                               const berth_kv_t *kv, int header,
                               apr_pool_t *pool)
{
    if (header || berth_config_secret_env(cfg->env_secrets, kv->key,
                                          strlen(kv->key), kv->value))
        return "***";
    apr_array_header_t *secrets = apr_array_make(pool, 4,
                                                 sizeof(const char *));
    berth_config_server_secrets(cfg, srv, secrets);
    return berth_redact_text(kv->value, secrets, pool);
}

/* KEY=VALUE for each entry, the values as shown_value shows them. */
static const char *redacted_keys(const berth_config_t *cfg,
                                 const berth_server_config_t *srv,
                                 const apr_array_header_t *kv, int header,
                                 apr_pool_t *pool)
{
    const char *s = "";
    for (int i = 0; kv && i < kv->nelts; i++) {
        const berth_kv_t *e = &APR_ARRAY_IDX(kv, i, berth_kv_t);
        s = apr_pstrcat(pool, s, i ? ", " : "", e->key, "=",
                        shown_value(cfg, srv, e, header, pool), NULL);
    }
    return s;
}

static json_t *string_array_json(const apr_array_header_t *a)
{
    json_t *arr = json_array();
    for (int i = 0; a && i < a->nelts; i++)
        json_array_append_new(arr, json_string(APR_ARRAY_IDX(a, i,
                                                             const char *)));
    return arr;
}

static const char *args_text(const apr_array_header_t *args, apr_pool_t *pool)
{
    json_t *arr = args ? string_array_json(berth_redact_argv(args, NULL, pool))
                       : json_array();
    char *dump = json_dumps(arr, JSON_COMPACT);
    const char *s = apr_pstrdup(pool, dump ? dump : "[]");
    free(dump);
    json_decref(arr);
    return s;
}

static const char *isolation_summary(const berth_config_t *cfg)
{
    int on = cfg->isolation.mode == BERTH_ISOLATION_DOCKER ||
             (cfg->isolation.mode == BERTH_ISOLATION_UNSET &&
              cfg->isolation.enabled == 1);
    return on ? "docker" : "none";
}

static void print_server(const berth_config_t *cfg,
                         const berth_server_config_t *s, FILE *out,
                         apr_pool_t *pool)
{
    const char *why;
    berth_isolation_mode_t mode = berth_isolation_effective(cfg, s, &why);
    fprintf(out, "  %s%s\n", s->name, s->disabled ? " (disabled)" : "");
    fprintf(out, "    type:       %s\n", berth_transport_name(s->transport));
    if (s->transport == BERTH_TRANSPORT_STDIO) {
        fprintf(out, "    command:    %s\n", s->command);
        fprintf(out, "    args:       %s\n", args_text(s->args, pool));
        if (s->env && s->env->nelts)
            fprintf(out, "    env:        %s\n",
                    redacted_keys(cfg, s, s->env, 0, pool));
        fprintf(out, "    cwd:        %s\n",
                s->cwd ? s->cwd : "(berth's working directory)");
        fprintf(out, "    isolation:  %s (%s)\n",
                berth_isolation_mode_name(mode), why);
        if (mode == BERTH_ISOLATION_DOCKER) {
            const char *net = s->isolation.network_mode
                                  ? s->isolation.network_mode
                                  : cfg->isolation.network_mode;
            const char *mem = s->isolation.memory_limit
                                  ? s->isolation.memory_limit
                                  : cfg->isolation.memory_limit;
            const char *cpu = s->isolation.cpu_limit ? s->isolation.cpu_limit
                                                     : cfg->isolation.cpu_limit;
            fprintf(out, "    image:      %s\n",
                    berth_isolation_image(cfg, s));
            fprintf(out, "    network:    %s\n", net ? net : "(docker default)");
            fprintf(out, "    memory:     %s\n", mem ? mem : "(no limit)");
            fprintf(out, "    cpus:       %s\n", cpu ? cpu : "(no limit)");
            apr_array_header_t *hard = berth_isolation_hardening(cfg, s, NULL,
                                                                 pool);
            fprintf(out, "    hardening:  %s\n",
                    hard->nelts ? apr_array_pstrcat(pool, hard, ' ')
                                : "(none)");
        }
    } else {
        fprintf(out, "    url:        %s\n",
                berth_config_redact_url(s->url, pool));
        if (s->headers && s->headers->nelts)
            fprintf(out, "    headers:    %s\n",
                    redacted_keys(cfg, s, s->headers, 1, pool));
    }
    if (s->ns == BERTH_NAMESPACE_NONE)
        fprintf(out, "    namespace:  none (tool names unchanged)\n");
    else
        fprintf(out, "    namespace:  prefix (tools appear as %s__<tool>)\n",
                s->norm_name);
    fprintf(out, "    timeouts:   %s\n", timeouts_text(&s->timeouts, pool));
}

/* Whether the file set any of SECTION's settings. */
static int section_given(const berth_config_t *cfg, const char *section)
{
    size_t n = strlen(section);
    for (const berth_setting_t *r = berth_config_settings(); r->name; r++)
        if (strncmp(r->name, section, n) == 0 && r->name[n] == '.' &&
            berth_config_given(cfg, r->name))
            return 1;
    return 0;
}

/* The HTTP front's settings in force. */
static void print_http(const berth_config_t *cfg, FILE *out,
                       apr_pool_t *pool)
{
    const char *origins = "";
    for (int i = 0; cfg->http_origins && i < cfg->http_origins->nelts; i++)
        origins = apr_pstrcat(pool, origins, i ? ", " : "",
                              APR_ARRAY_IDX(cfg->http_origins, i,
                                            const char *),
                              NULL);
    fprintf(out, "http:              up to %ld sessions, closed after %gs "
            "idle (%gs when unused), bodies up to %ld bytes, origins: this "
            "machine%s%s, %s\n", cfg->http_max_sessions,
            cfg->http_session_idle, cfg->http_session_idle_unused <
                                            cfg->http_session_idle
                                        ? cfg->http_session_idle_unused
                                        : cfg->http_session_idle,
            cfg->http_max_body,
            *origins ? " + " : "", origins,
            cfg->http_spin_us ? apr_psprintf(pool, "busy-wait up to %ld us",
                                             cfg->http_spin_us)
                              : "no busy-wait");
}

int berth_cmd_check(const berth_cmd_opts_t *opt, FILE *out, FILE *err,
                     apr_pool_t *pool)
{
    berth_config_t *cfg = berth_cmd_load_config(opt, err, pool);
    int disabled = 0;
    if (!cfg)
        return BERTH_EXIT_FAILURE;
    for (int i = 0; i < cfg->servers->nelts; i++)
        disabled += APR_ARRAY_IDX(cfg->servers, i,
                                  berth_server_config_t *)->disabled;

    fprintf(out, "%s: valid\n", cfg->file);
    fprintf(out, "listen:            %s (%s)\n", cfg->listen,
            cfg->listen_loopback ? "this machine only"
                                 : "reachable from the network; a bearer "
                                   "token will be required");
    if (section_given(cfg, "http"))
        print_http(cfg, out, pool);
    fprintf(out, "docker isolation:  %s\n", isolation_summary(cfg));
    for (int i = 0; i < cfg->images->nelts; i++) {
        const berth_kv_t *kv = &APR_ARRAY_IDX(cfg->images, i, berth_kv_t);
        fprintf(out, "  image for %s: %s\n", kv->key, kv->value);
    }
    const char *allow = cfg->env_allow_defaults ? "built-in list" : "";
    for (int i = 0; i < cfg->env_allow->nelts; i++)
        allow = apr_pstrcat(pool, allow, *allow ? (i ? ", " : " + ") : "",
                            APR_ARRAY_IDX(cfg->env_allow, i, const char *),
                            NULL);
    fprintf(out, "env allow-list:    %s\n", *allow ? allow : "(empty)");
    fprintf(out, "proxy forwarding:  %s\n",
            cfg->forward_proxy_env ? "on" : "off");
    fprintf(out, "namespace:         %s\n", berth_namespace_name(cfg->ns));
    fprintf(out, "timeouts:          %s\n", timeouts_text(&cfg->timeouts, pool));
    fprintf(out, "servers:           %d", cfg->servers->nelts);
    if (disabled)
        fprintf(out, " (%d disabled)", disabled);
    fprintf(out, "\n");
    for (int i = 0; i < cfg->servers->nelts; i++)
        print_server(cfg, APR_ARRAY_IDX(cfg->servers, i,
                                        berth_server_config_t *),
                     out, pool);
    return BERTH_EXIT_OK;
}

/* ---- berth servers --------------------------------------------------- */

static json_t *redacted_object(const berth_config_t *cfg,
                               const berth_server_config_t *srv,
                               const apr_array_header_t *kv, int header,
                               apr_pool_t *pool)
{
    json_t *o = json_object();
    for (int i = 0; kv && i < kv->nelts; i++) {
        const berth_kv_t *e = &APR_ARRAY_IDX(kv, i, berth_kv_t);
        json_object_set_new(o, e->key, json_string(shown_value(
                                           cfg, srv, e, header, pool)));
    }
    return o;
}

static json_t *server_json(const berth_config_t *cfg,
                           const berth_server_config_t *s, apr_pool_t *pool)
{
    const char *why;
    berth_isolation_mode_t mode = berth_isolation_effective(cfg, s, &why);
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(s->name));
    json_object_set_new(o, "type",
                        json_string(berth_transport_name(s->transport)));
    json_object_set_new(o, "disabled", json_boolean(s->disabled));
    if (s->transport == BERTH_TRANSPORT_STDIO) {
        json_object_set_new(o, "command", json_string(s->command));
        json_object_set_new(o, "args", string_array_json(
                                           s->args ? berth_redact_argv(
                                                         s->args, NULL, pool)
                                                   : NULL));
        json_object_set_new(o, "env", redacted_object(cfg, s, s->env, 0,
                                                      pool));
        json_object_set_new(o, "cwd", s->cwd ? json_string(s->cwd)
                                             : json_null());
    } else {
        json_object_set_new(o, "url", json_string(berth_config_redact_url(
                                          s->url, pool)));
        json_object_set_new(o, "headers", redacted_object(cfg, s, s->headers,
                                                          1, pool));
    }
    json_t *iso = json_object();
    json_object_set_new(iso, "mode",
                        json_string(berth_isolation_mode_name(mode)));
    json_object_set_new(iso, "reason", json_string(why));
    if (mode == BERTH_ISOLATION_DOCKER)
        json_object_set_new(iso, "image",
                            json_string(berth_isolation_image(cfg, s)));
    json_object_set_new(o, "isolation", iso);
    json_object_set_new(o, "namespace",
                        json_string(berth_namespace_name(s->ns)));
    json_t *t = json_object();
    json_object_set_new(t, "initialize", json_real(s->timeouts.initialize));
    json_object_set_new(t, "call", json_real(s->timeouts.call));
    json_object_set_new(t, "shutdown", json_real(s->timeouts.shutdown));
    json_object_set_new(o, "timeouts", t);
    return o;
}

static int uses_docker(const berth_config_t *cfg,
                       const berth_server_config_t *s)
{
    return s->transport == BERTH_TRANSPORT_STDIO &&
           (berth_isolation_is_docker_command(s->command) ||
            berth_isolation_effective(cfg, s, NULL) == BERTH_ISOLATION_DOCKER);
}

/* The containers berth labelled, per server name: {server: [{name, id,
 * state, owner, owner_alive}]}, or NULL with *ERROR when docker cannot say.
 * Asked only when a server uses docker; the daemon probe (3 s, cached)
 * comes first so a dead daemon costs no listing timeout. */
static json_t *containers_by_server(berth_spawnctx_t *ctx,
                                    const berth_config_t *cfg,
                                    const char **error, apr_pool_t *pool)
{
    apr_array_header_t *list;
    int any = 0;
    for (int i = 0; cfg && i < cfg->servers->nelts; i++)
        any |= uses_docker(cfg, APR_ARRAY_IDX(cfg->servers, i,
                                              berth_server_config_t *));
    *error = NULL;
    if (!any)
        return json_object();
    berth_docker_info_t info = berth_spawnctx_docker_info(ctx, cfg);
    if (!info.available) {
        *error = info.error;
        return NULL;
    }
    if (berth_container_list(ctx, cfg, NULL, &list, error, pool) !=
        APR_SUCCESS)
        return NULL;
    json_t *by = json_object();
    for (int i = 0; i < list->nelts; i++) {
        const berth_container_info_t *c =
            &APR_ARRAY_IDX(list, i, berth_container_info_t);
        json_t *arr = json_object_get(by, c->server);
        if (!arr) {
            arr = json_array();
            json_object_set_new(by, c->server, arr);
        }
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "name", c->name,
                           "id", c->id, "state", c->state, "instance",
                           c->instance, "owner_alive", c->owner_alive,
                           "owner", c->why));
    }
    return by;
}

/* A server's docker facts: the containers berth's labels tie to it, and
 * "running" when one of them runs for a live berth. */
static void add_containers(json_t *o, const berth_config_t *cfg,
                           const berth_server_config_t *s, json_t *by,
                           const char *error)
{
    if (!uses_docker(cfg, s))
        return;
    if (!by) {
        json_object_set_new(o, "containers", json_null());
        json_object_set_new(o, "containers_error", json_string(error));
        return;
    }
    json_t *arr = json_object_get(by, s->name);
    const char *state = "stopped";
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c)
        if (json_is_true(json_object_get(c, "owner_alive")) &&
            strcmp(json_string_value(json_object_get(c, "state")),
                   "running") == 0)
            state = "running";
    json_object_set_new(o, "containers", arr ? json_incref(arr)
                                             : json_array());
    json_object_set_new(o, "state", json_string(state));
}

/* The running berth serve's view of server NAME, or NULL (borrowed). */
static json_t *live_server(json_t *live, const char *name)
{
    size_t i;
    json_t *sv;
    json_array_foreach(json_object_get(live, "servers"), i, sv)
        if (strcmp(json_string_value(json_object_get(sv, "name")), name) == 0)
            return sv;
    return NULL;
}

/* The status of a berth serve running this very config, or NULL. */
static json_t *live_status(const berth_config_t *cfg, apr_pool_t *pool)
{
    json_t *live = NULL;
    int hs = 0;
    const char *lcfg = NULL;
    if (berth_cmd_ask_daemon_at(cfg, "GET", "/api/v1/status", "servers",
                                apr_time_from_msec(500), &live, &hs, NULL,
                                pool))
        lcfg = json_string_value(json_object_get(live, "config"));
    if (hs != 200 || !lcfg || strcmp(lcfg, cfg->file) != 0) {
        json_decref(live);
        live = NULL;
    }
    return live;
}

static int servers_json(const berth_config_t *cfg, json_t *live, FILE *out,
                        FILE *err, apr_pool_t *pool)
{
    const char *cerr = NULL;
    berth_spawnctx_t *ctx = berth_cmd_spawn_context(err, pool);
    if (!ctx)
        return BERTH_EXIT_FAILURE;
    json_t *by = containers_by_server(ctx, cfg, &cerr, pool);
    json_t *arr = json_array();
    for (int i = 0; i < cfg->servers->nelts; i++) {
        const berth_server_config_t *s =
            APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *);
        json_t *o = server_json(cfg, s, pool);
        add_containers(o, cfg, s, by, cerr);
        if (live) {
            json_t *l = live_server(live, s->name);
            json_object_set(o, "live", l ? l : json_null());
        }
        json_array_append_new(arr, o);
    }
    json_decref(by);
    berth_cmd_print_json(json_pack("{s:s, s:o}", "config", cfg->file,
                                   "servers", arr),
                         out);
    return BERTH_EXIT_OK;
}

/* What a server runs, for a table: its command line (secrets hidden) or
 * its URL. */
static const char *target_text(const berth_server_config_t *s,
                               apr_pool_t *pool)
{
    if (s->transport != BERTH_TRANSPORT_STDIO)
        return berth_config_redact_url(s->url, pool);
    apr_array_header_t *ra =
        s->args ? berth_redact_argv(s->args, NULL, pool) : NULL;
    const char *target = s->command;
    for (int k = 0; ra && k < ra->nelts; k++)
        target = apr_pstrcat(pool, target, " ",
                             APR_ARRAY_IDX(ra, k, const char *), NULL);
    return target;
}

static void servers_table(const berth_config_t *cfg, json_t *live, FILE *out,
                          apr_pool_t *pool)
{
    int w = 4;
    for (int i = 0; i < cfg->servers->nelts; i++) {
        int l = (int)strlen(APR_ARRAY_IDX(cfg->servers, i,
                                          berth_server_config_t *)->name);
        if (l > w)
            w = l;
    }
    fprintf(out, "%-*s  %-5s  %-9s  %-8s  %s\n", w, "NAME", "TYPE",
            "ISOLATION", "STATE", "COMMAND/URL");
    for (int i = 0; i < cfg->servers->nelts; i++) {
        const berth_server_config_t *s =
            APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *);
        json_t *l = live ? live_server(live, s->name) : NULL;
        const char *state = s->disabled ? "disabled"
                            : l ? json_string_value(json_object_get(l,
                                                                    "state"))
                            : live ? "-"
                                   : "enabled";
        fprintf(out, "%-*s  %-5s  %-9s  %-8s  %s\n", w, s->name,
                berth_transport_name(s->transport),
                berth_isolation_mode_name(
                    berth_isolation_effective(cfg, s, NULL)),
                state, target_text(s, pool));
    }
    if (live)
        fprintf(out, "(STATE as the berth serve at http://%s/mcp sees it)\n",
                json_string_value(json_object_get(live, "listen")));
}

int berth_cmd_servers(const berth_cmd_opts_t *opt, FILE *out, FILE *err,
                      apr_pool_t *pool)
{
    berth_config_t *cfg = berth_cmd_load_config(opt, err, pool);
    if (!cfg)
        return BERTH_EXIT_FAILURE;
    /* a berth serve running this config adds each server's live state */
    json_t *live = live_status(cfg, pool);
    int rc = BERTH_EXIT_OK;
    if (opt->json)
        rc = servers_json(cfg, live, out, err, pool);
    else
        servers_table(cfg, live, out, pool);
    json_decref(live);
    return rc;
}

/* ---- berth plan ------------------------------------------------------- */

int berth_cmd_plan(const berth_cmd_opts_t *opt, FILE *out, FILE *err,
                    apr_pool_t *pool)
{
    berth_config_t *cfg = berth_cmd_load_config(opt, err, pool);
    if (!cfg)
        return BERTH_EXIT_FAILURE;
    const berth_server_config_t *srv = berth_cmd_find_server(cfg, opt->server, "plan",
                                                   err, pool);
    if (!srv)
        return BERTH_EXIT_FAILURE;
    berth_spawnctx_t *ctx = berth_cmd_spawn_context(err, pool);
    if (!ctx)
        return BERTH_EXIT_FAILURE;
    berth_plan_t *plan;
    const char *why;
    if (berth_spawnctx_plan(ctx, cfg, srv, berth_spawnctx_token(pool), &plan,
                            &why, pool) != APR_SUCCESS) {
        fprintf(err, "berth plan: %s: %s\n", srv->name,
                berth_redact_log_text(why, pool));
        return BERTH_EXIT_FAILURE;
    }
    json_t *j = berth_plan_json(plan, pool);
    if (opt->json) {
        berth_cmd_print_json(j, out);
        return BERTH_EXIT_OK;
    }
    char *argv = json_dumps(json_object_get(j, "argv"), JSON_COMPACT);
    json_t *d = json_object_get(j, "docker");
    fprintf(out, "server:   %s%s\n", srv->name,
            srv->disabled ? " (disabled in the config)" : "");
    fprintf(out, "mode:     %s\n", json_string_value(json_object_get(j,
                                                                     "mode")));
    fprintf(out, "program:  %s\n", json_string_value(json_object_get(
                                        j, "program")));
    fprintf(out, "argv:     %s\n", argv);
    if (json_object_get(j, "command_line"))
        fprintf(out, "line:     %s\n", json_string_value(json_object_get(
                                            j, "command_line")));
    fprintf(out, "wrapped:  %s\n", plan->wrapped
                                       ? apr_pstrcat(pool, "yes, by ",
                                                     plan->shell, NULL)
                                       : "no");
    fprintf(out, "cwd:      %s\n", plan->cwd ? plan->cwd
                                             : "(berth's working directory)");
    if (plan->cidfile)
        fprintf(out, "cidfile:  %s\n", plan->cidfile);
    if (plan->mode != BERTH_PLAN_DIRECT)
        fprintf(out, "docker:   %s (source: %s, %s; daemon settings %s)\n",
                json_is_string(json_object_get(d, "path"))
                    ? json_string_value(json_object_get(d, "path"))
                    : "not found",
                json_string_value(json_object_get(d, "source")),
                plan->docker.verified ? "verified executable"
                                      : "not a verified executable",
                plan->daemon_env_guaranteed
                    ? "guaranteed without a login shell"
                    : "only in a login shell");
    fprintf(out, "env:\n");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(j, "env"), i, v)
        fprintf(out, "  %s\n", json_string_value(v));
    fprintf(out, "why:\n");
    json_array_foreach(json_object_get(j, "reasons"), i, v)
        fprintf(out, "  - %s\n", json_string_value(v));
    free(argv);
    json_decref(j);
    return BERTH_EXIT_OK;
}

/* ---- berth doctor ----------------------------------------------------- */

/* What berth doctor reports, gathered once for both outputs. */
typedef struct {
    const berth_config_t *cfg;       /* NULL without a config */
    berth_spawnctx_t *ctx;
    const berth_hostfacts_t *facts;
    berth_docker_t docker;
    int guaranteed;                  /* daemon settings without a shell */
    berth_docker_info_t info;
    const berth_loginenv_t *login;
    const berth_hydration_t *hydration;
    apr_array_header_t *allow;
} doctor_t;

static json_t *doctor_docker_json(const doctor_t *d)
{
    json_t *jd = json_object();
    json_object_set_new(jd, "path", d->docker.path
                                        ? json_string(d->docker.path)
                                        : json_null());
    json_object_set_new(jd, "source", json_string(berth_docker_source_name(
                                          d->docker.source)));
    json_object_set_new(jd, "verified", json_boolean(d->docker.verified));
    json_object_set_new(jd, "daemon_env_guaranteed",
                        json_boolean(d->guaranteed));
    json_object_set_new(jd, "available", json_boolean(d->info.available));
    json_object_set_new(jd, "server_version",
                        d->info.server_version
                            ? json_string(d->info.server_version)
                            : json_null());
    if (d->info.error)
        json_object_set_new(jd, "error", json_string(d->info.error));
    return jd;
}

static json_t *doctor_env_json(const doctor_t *d, json_t *j)
{
    const berth_loginenv_t *le = d->login;
    const berth_hydration_t *hy = d->hydration;
    json_t *jl = json_object(), *jh = json_object(), *keys = json_array(),
           *ja = json_array();
    json_object_set_new(jl, "shell", le->shell ? json_string(le->shell)
                                               : json_null());
    json_object_set_new(jl, "captured", json_boolean(le->captured));
    json_object_set_new(jl, "var_count",
                        json_integer(le->captured ? le->env->nelts : 0));
    if (le->error)
        json_object_set_new(jl, "error", json_string(le->error));
    json_object_set_new(j, "login_shell", jl);
    json_object_set_new(jh, "applied", json_boolean(hy->applied));
    json_object_set_new(jh, "reason", json_string(hy->reason));
    for (int i = 0; i < hy->keys->nelts; i++) {
        const berth_hydrated_key_t *k =
            &APR_ARRAY_IDX(hy->keys, i, berth_hydrated_key_t);
        json_array_append_new(keys, json_pack("{s:s, s:I}", "name", k->name,
                                              "length",
                                              (json_int_t)k->length));
    }
    json_object_set_new(jh, "keys", keys);
    json_object_set_new(j, "hydration", jh);
    for (int i = 0; i < d->allow->nelts; i++)
        json_array_append_new(ja, json_string(APR_ARRAY_IDX(d->allow, i,
                                                            const char *)));
    json_object_set_new(j, "env_allow", ja);
    return j;
}

/* Per server: isolation, image, and the containers labelled for it. */
static json_t *doctor_servers_json(const doctor_t *d, apr_pool_t *pool)
{
    const berth_config_t *cfg = d->cfg;
    const char *cerr = NULL;
    json_t *by = containers_by_server(d->ctx, cfg, &cerr, pool);
    json_t *jsv = json_array();
    for (int i = 0; cfg && i < cfg->servers->nelts; i++) {
        const berth_server_config_t *s =
            APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *);
        const char *why;
        berth_isolation_mode_t mode = berth_isolation_effective(cfg, s, &why);
        json_t *o = json_pack("{s:s, s:s, s:s}", "name", s->name, "mode",
                              berth_isolation_is_docker_command(
                                  s->transport == BERTH_TRANSPORT_STDIO
                                      ? s->command : "")
                                  ? "docker run"
                                  : berth_isolation_mode_name(mode),
                              "reason", why);
        json_object_set_new(o, "image", mode == BERTH_ISOLATION_DOCKER
                                            ? json_string(berth_isolation_image(
                                                  cfg, s))
                                            : json_null());
        add_containers(o, cfg, s, by, cerr);
        json_array_append_new(jsv, o);
    }
    json_decref(by);
    return jsv;
}

static json_t *doctor_json(const doctor_t *d, apr_pool_t *pool)
{
    json_t *j = json_object();
    json_object_set_new(j, "os", json_string(berth_os_name(d->facts->os)));
    json_object_set_new(j, "config", d->cfg ? json_string(d->cfg->file)
                                            : json_null());
    json_object_set_new(j, "docker", doctor_docker_json(d));
    doctor_env_json(d, j);
    json_object_set_new(j, "cid_dir",
                        json_string(berth_spawnctx_cid_root(d->ctx)));
    json_object_set_new(j, "servers", doctor_servers_json(d, pool));
    return j;
}

static void doctor_print_docker(const doctor_t *d, FILE *out)
{
    const berth_docker_t *dk = &d->docker;
    if (dk->path)
        fprintf(out, "docker CLI: %s\n  Found %s; %s.\n", dk->path,
                dk->source == BERTH_DOCKER_FROM_PATH
                    ? "on PATH"
                : dk->source == BERTH_DOCKER_BUNDLED
                    ? "at a well-known install location (not on PATH)"
                    : "by asking the login shell",
                dk->verified ? "it is a verified executable, so berth runs "
                               "it by its absolute path"
                             : "it is not an absolute path to an executable "
                               "(an alias or function?), so berth lets the "
                               "login shell run plain 'docker'");
    else
        fprintf(out, "docker CLI: not found\n  Not on PATH, at no well-known "
                "location, and the login shell does not know it. Docker-"
                "isolated servers cannot start; berth retries within a "
                "minute.\n");
    int linux_like = d->facts->os == BERTH_OS_LINUX ||
                     d->facts->os == BERTH_OS_OTHER;
    const char *host = berth_env_get(d->facts, d->facts->env, "DOCKER_HOST");
    const char *dctx = berth_env_get(d->facts, d->facts->env,
                                     "DOCKER_CONTEXT");
    int var_set = (host && *host) || (dctx && *dctx);
    fprintf(out, "  Daemon settings: %s.\n",
            d->guaranteed
                ? (!linux_like ? "guaranteed without a login shell on this "
                                 "OS, so docker is run directly"
                   : var_set ? "DOCKER_HOST or DOCKER_CONTEXT is set, so "
                               "docker is run directly"
                             : "neither DOCKER_HOST nor DOCKER_CONTEXT is "
                               "set, and this account's login shell refuses "
                               "logins (no profile can set them), so docker "
                               "is run directly")
                : "neither DOCKER_HOST nor DOCKER_CONTEXT is set, so docker "
                  "runs inside a login shell where your profile may set them");
    if (d->info.available)
        fprintf(out, "  The daemon answers: Docker Engine %s.\n",
                d->info.server_version);
    else
        fprintf(out, "  The daemon does not answer: %s.\n", d->info.error);
}

static void doctor_print_env(const doctor_t *d, FILE *out)
{
    const berth_loginenv_t *le = d->login;
    const berth_hydration_t *hy = d->hydration;
    fprintf(out, "\nlogin shell: %s\n", le->shell ? le->shell : "none");
    if (le->captured)
        fprintf(out, "  Captured its environment once: %d variables (values "
                "are never logged).\n", le->env->nelts);
    else
        fprintf(out, "  Not captured: %s.\n", le->error);
    fprintf(out, "\nhydration: %s\n  %s.\n",
            hy->applied ? "applied" : "not applied", hy->reason);
    for (int i = 0; i < hy->keys->nelts; i++) {
        const berth_hydrated_key_t *k =
            &APR_ARRAY_IDX(hy->keys, i, berth_hydrated_key_t);
        fprintf(out, "  Set %s (%lu characters).\n", k->name,
                (unsigned long)k->length);
    }
    fprintf(out, "\nchild environment: servers get only these variables "
            "from berth's environment%s:\n ",
            d->cfg && !d->cfg->env_allow_defaults
                ? " (the built-in list is replaced by the config)"
                : "");
    for (int i = 0; i < d->allow->nelts; i++)
        fprintf(out, " %s", APR_ARRAY_IDX(d->allow, i, const char *));
    fprintf(out, "\n\ncidfiles: %s (a folder per berth process)\n",
            berth_spawnctx_cid_root(d->ctx));
}

static void doctor_print_servers(json_t *jsv, FILE *out)
{
    if (json_array_size(jsv))
        fprintf(out, "\nservers:\n");
    size_t k;
    json_t *o;
    json_array_foreach(jsv, k, o) {
        const char *image = json_string_value(json_object_get(o, "image"));
        fprintf(out, "  %s: %s%s%s\n",
                json_string_value(json_object_get(o, "name")),
                json_string_value(json_object_get(o, "mode")),
                image ? ", image " : "", image ? image : "");
        json_t *cs = json_object_get(o, "containers");
        size_t m;
        json_t *c;
        if (json_object_get(o, "containers_error"))
            fprintf(out, "    containers: unknown (%s)\n",
                    json_string_value(json_object_get(o,
                                                      "containers_error")));
        else if (cs && !json_array_size(cs))
            fprintf(out, "    no container\n");
        json_array_foreach(cs, m, c)
            fprintf(out, "    container %s (%s): %s; %s\n",
                    json_string_value(json_object_get(c, "name")),
                    json_string_value(json_object_get(c, "id")),
                    json_string_value(json_object_get(c, "state")),
                    json_string_value(json_object_get(c, "owner")));
    }
}

int berth_cmd_doctor(const berth_cmd_opts_t *opt, FILE *out, FILE *err,
                     apr_pool_t *pool)
{
    doctor_t d;
    int failed;
    memset(&d, 0, sizeof d);
    /* a config is optional here: read one only when it is there */
    d.cfg = berth_cmd_optional_config(opt, &failed, err, pool);
    if (failed)
        return BERTH_EXIT_FAILURE;
    d.ctx = berth_cmd_spawn_context(err, pool);
    if (!d.ctx)
        return BERTH_EXIT_FAILURE;
    d.facts = berth_spawnctx_facts(d.ctx);
    d.docker = berth_dockerpath_resolve(berth_spawnctx_resolver(d.ctx),
                                        d.facts);
    d.guaranteed = berth_docker_daemon_env_guaranteed(d.facts, d.facts->env);
    d.info = berth_spawnctx_docker_info(d.ctx, d.cfg);
    d.login = berth_spawnctx_login(d.ctx);
    d.hydration = berth_spawnctx_hydration(d.ctx);
    d.allow = berth_envset_allowlist(d.facts, d.cfg, pool);
    json_t *j = doctor_json(&d, pool);
    if (opt->json) {
        berth_cmd_print_json(j, out);
        return BERTH_EXIT_OK;
    }
    fprintf(out, "berth %s on %s\n\n", BERTH_VERSION,
            berth_os_name(d.facts->os));
    doctor_print_docker(&d, out);
    doctor_print_env(&d, out);
    doctor_print_servers(json_object_get(j, "servers"), out);
    json_decref(j);
    return BERTH_EXIT_OK;
}
