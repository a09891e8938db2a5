#include "serve.h"

#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "berth_version.h"
#include "cfgfile.h"
#include "control.h"
#include "daemon.h"
#include "front_http.h"
#include "front_stdio.h"
#include "hub.h"
#include "log.h"
#include "logfile.h"
#include "platform.h"
#include "router.h"
#include "signals.h"
#include "spawnctx.h"
#include "spin.h"

struct berth_serve_t {
    apr_pool_t *pool;
    berth_serve_opts_t opts;
    const char *cmd;              /* "berth serve" or "berth stdio" */
    berth_config_t *cfg;          /* the config in force */
    apr_array_header_t *secrets;  /* the secrets of the config in force */
    berth_spawnctx_t *ctx;
    const char *state_dir;
    berth_supervisor_opts_t sv_opts;
    berth_router_t *router;
    berth_hub_t *hub;
    berth_daemon_t *daemon;
    berth_control_t *control;
    berth_http_t *http;           /* the HTTP front, or NULL */
    berth_stdio_t *stdio;         /* the stdio front, once started */
    const char *listen;           /* "host:port" listened on */
    const char *mcp_token_file;   /* when /mcp needs a token */
    apr_interval_time_t reap_every;
    apr_thread_mutex_t *health_lock; /* one HEALTH notice at a time */
    char health_said[512];        /* the last health line told */
    int telling;                  /* health is told from READY to the stop */
};

static void notify(berth_serve_t *s, berth_serve_event_t ev, const char *text)
{
    if (s->opts.notify)
        s->opts.notify(s->opts.notify_baton, ev, text);
}

static int count(berth_serve_t *s)
{
    return berth_daemon_count(s->daemon);
}

static const char *plural(int n)
{
    return n == 1 ? "" : "s";
}

/* ---- building it -------------------------------------------------------- */

static apr_status_t read_facts(berth_serve_t *s)
{
    berth_hostfacts_t *facts;
    char buf[128];
    apr_status_t rv = berth_hostfacts_real(&facts, s->pool);
    if (rv != APR_SUCCESS) {
        fprintf(s->opts.err, "berth: cannot read this machine's facts: %s\n",
                apr_strerror(rv, buf, sizeof buf));
        return rv;
    }
    s->ctx = berth_spawnctx_create(facts, s->pool);
    s->state_dir = berth_state_dir(facts, s->pool);
    return APR_SUCCESS;
}

/* Tells the service manager the servers' health line when it changed.
 * Computed under the lock, so the last line told is the newest. */
static void tell_health(berth_serve_t *s)
{
    apr_pool_t *pool;
    if (!s->opts.notify || !s->control)
        return;
    apr_thread_mutex_lock(s->health_lock);
    if (!s->telling) {
        apr_thread_mutex_unlock(s->health_lock);
        return;
    }
    apr_pool_create(&pool, NULL);
    const char *line = berth_control_health(s->control, pool).summary;
    if (strncmp(line, s->health_said, sizeof s->health_said - 1) != 0) {
        apr_cpystrn(s->health_said, line, sizeof s->health_said);
        s->opts.notify(s->opts.notify_baton, BERTH_SERVE_HEALTH, line);
    }
    apr_pool_destroy(pool);
    apr_thread_mutex_unlock(s->health_lock);
}

/* A server's state changed (its thread, no lock): the hub tells the
 * clients, and the service manager hears the new health. */
static void on_server_state(void *baton, berth_supervisor_t *sv,
                            berth_sv_state_t state)
{
    berth_serve_t *s = baton;
    berth_hub_server_state(s->hub, sv, state);
    tell_health(s);
}

/* Idle sessions are looked for every 10 s, or twice per idle time when
 * that is shorter (not more often than every 0.5 s). */
static apr_interval_time_t reap_interval(apr_interval_time_t idle)
{
    apr_interval_time_t every = apr_time_from_sec(10);
    if (idle && idle / 2 < every)
        every = idle / 2 > apr_time_from_msec(500) ? idle / 2
                                                   : apr_time_from_msec(500);
    return every;
}

/* The servers (the daemon), the router over them and the hub over that. */
static void build_core(berth_serve_t *s)
{
    const berth_config_t *cfg = s->cfg;
    const berth_hostfacts_t *facts = berth_spawnctx_facts(s->ctx);
    /* set once: threads may be watching (http.spin_us applies at restart) */
    berth_spin_configure(cfg->http_spin_us);
    s->router = berth_router_create(s->pool);
    berth_hub_opts_t hopts;
    memset(&hopts, 0, sizeof hopts);
    hopts.session_idle = (apr_interval_time_t)(cfg->http_session_idle *
                                               APR_USEC_PER_SEC);
    hopts.session_idle_unused = (apr_interval_time_t)(
        cfg->http_session_idle_unused * APR_USEC_PER_SEC);
    hopts.max_sessions = (int)cfg->http_max_sessions;
    s->reap_every = reap_interval(hopts.session_idle_unused <
                                          hopts.session_idle
                                      ? hopts.session_idle_unused
                                      : hopts.session_idle);
    hopts.startup_wait = cfg->startup_wait > 0
                             ? (apr_interval_time_t)(cfg->startup_wait *
                                                     APR_USEC_PER_SEC)
                             : -1;
    s->hub = berth_hub_create(s->router, &hopts, s->pool);
    berth_hub_set_roots(s->hub, cfg->roots);
    berth_supervisor_opts_t *o = &s->sv_opts;
    memset(o, 0, sizeof *o);
    o->log_dir = berth_path_child(facts, s->state_dir, "logs", s->pool);
    /* the file's, else the table's default: Docker's options (isolation.c)
     * are the file's alone */
    o->log_max_size = berth_logfile_parse_size(
        berth_config_text(cfg, "docker_isolation.log_max_size"));
    o->log_max_files =
        (int)berth_config_number(cfg, "docker_isolation.log_max_files");
    o->cb = berth_hub_upstream_callbacks(s->hub);
    o->on_state = on_server_state;
    o->state_baton = s;
    s->daemon = berth_daemon_create(s->ctx, cfg, o, s->pool);
    for (int i = 0; i < count(s); i++)
        berth_router_add(s->router,
                         berth_server_of(berth_daemon_server(s->daemon, i)));
    s->control = berth_control_create(s->ctx, s->daemon, s->hub, cfg,
                                      s->pool);
}

/* The token files the HTTP front needs: control.token always, mcp.token
 * when it listens beyond this machine. */
static apr_status_t make_tokens(berth_serve_t *s, berth_http_opts_t *ho)
{
    const berth_hostfacts_t *facts = berth_spawnctx_facts(s->ctx);
    const char *error = NULL;
    ho->control_token = berth_control_token(
        berth_path_child(facts, s->state_dir, "control.token", s->pool),
        &error, s->pool);
    if (ho->control_token && !s->cfg->listen_loopback) {
        s->mcp_token_file = berth_path_child(facts, s->state_dir,
                                             "mcp.token", s->pool);
        ho->mcp_token = berth_control_token(s->mcp_token_file, &error,
                                            s->pool);
    }
    if (!ho->control_token || (!s->cfg->listen_loopback && !ho->mcp_token)) {
        fprintf(s->opts.err, "%s: %s\n", s->cmd, error);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

static apr_status_t start_http(berth_serve_t *s)
{
    const berth_config_t *cfg = s->cfg;
    const char *error = NULL;
    berth_http_opts_t ho;
    memset(&ho, 0, sizeof ho);
    ho.host = cfg->listen_host;
    ho.port = cfg->listen_port;
    ho.loopback = cfg->listen_loopback;
    ho.max_body = (apr_size_t)cfg->http_max_body;
    ho.read_timeout = (apr_interval_time_t)(cfg->http_read_timeout *
                                            APR_USEC_PER_SEC);
    ho.max_connections = (unsigned)cfg->http_max_connections;
    ho.max_per_address = (unsigned)cfg->http_max_connections_per_address;
    /* for tests: the loop as it runs where MHD has no epoll */
    ho.mhd_loop = getenv("BERTH_HTTP_MHD_LOOP") != NULL;
    ho.origins = cfg->http_origins;
    ho.control = s->control;
    apr_status_t rv = make_tokens(s, &ho);
    if (rv != APR_SUCCESS)
        return rv;
    rv = berth_http_start(&s->http, s->hub, &ho, &error, s->pool);
    if (rv != APR_SUCCESS) {
        fprintf(s->opts.err, "%s: %s; set \"listen\" in %s to another "
                "address\n", s->cmd, error, cfg->file);
        return rv;
    }
    int v6 = strchr(cfg->listen_host, ':') != NULL;
    s->listen = apr_psprintf(s->pool, "%s%s%s:%u", v6 ? "[" : "",
                             cfg->listen_host, v6 ? "]" : "",
                             berth_http_port(s->http));
    berth_control_set_listen(s->control, s->listen);
    return APR_SUCCESS;
}

apr_status_t berth_serve_create(berth_serve_t **out,
                                const berth_serve_opts_t *opts,
                                apr_pool_t *pool)
{
    berth_serve_t *s = apr_pcalloc(pool, sizeof *s);
    s->pool = pool;
    s->opts = *opts;
    if (!s->opts.err)
        s->opts.err = stderr;
    s->cmd = opts->front == BERTH_FRONT_STDIO ? "berth stdio" : "berth serve";
    apr_thread_mutex_create(&s->health_lock, APR_THREAD_MUTEX_DEFAULT, pool);
    *out = NULL;
    s->cfg = berth_cfgfile_load(opts->config, NULL, &s->secrets, s->opts.err,
                                pool);
    if (!s->cfg)
        return APR_EGENERAL;
    apr_status_t rv = read_facts(s);
    if (rv != APR_SUCCESS)
        return rv;
    berth_signals_install();
    build_core(s);
    if (opts->front == BERTH_FRONT_HTTP) {
        rv = start_http(s);
        if (rv != APR_SUCCESS)
            return rv;
    }
    *out = s;
    return APR_SUCCESS;
}

/* ---- running it ------------------------------------------------------- */

/* Says where berth serves: the log, the terminal's "how to connect" text,
 * and the service manager. */
static void announce(berth_serve_t *s)
{
    berth_log(BERTH_LOG_INFO, "berth %s serving %d server%s from %s "
              "(instance %s; server logs in %s)", BERTH_VERSION, count(s),
              plural(count(s)), s->cfg->file,
              berth_spawnctx_instance(s->ctx), s->sv_opts.log_dir);
    if (!s->http)
        return;
    berth_log(BERTH_LOG_INFO, "MCP endpoint: http://%s/mcp (Streamable "
              "HTTP)%s%s", s->listen,
              s->mcp_token_file ? "; clients need the bearer token in " : "",
              s->mcp_token_file ? s->mcp_token_file : "");
    if (!s->opts.out)
        return;
    fprintf(s->opts.out, "berth serves %d server%s at http://%s/mcp\n"
            "Connect a client to that URL (Streamable HTTP), e.g. in its "
            "mcpServers:\n"
            "  \"berth\": { \"type\": \"http\", \"url\": \"http://%s/mcp\" }\n"
            "Clients that only launch commands: \"command\": \"berth\", "
            "\"args\": [\"stdio\", \"--config\", \"%s\"]\n"
            "Stop with Ctrl+C.\n",
            count(s), plural(count(s)), s->listen, s->listen, s->cfg->file);
    fflush(s->opts.out);
}

static apr_status_t start_stdio(berth_serve_t *s)
{
    apr_file_t *in, *so;
    apr_file_open_stdin(&in, s->pool);
    apr_file_open_stdout(&so, s->pool);
    if (berth_stdio_start(&s->stdio, s->hub, in, so, 0, s->pool) !=
        APR_SUCCESS) {
        fprintf(s->opts.err, "%s: could not start its threads\n", s->cmd);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

static void reap_idle(berth_serve_t *s)
{
    int n = berth_hub_reap(s->hub);
    if (!n)
        return;
    berth_log(BERTH_LOG_INFO, "closed %d idle session%s", n, plural(n));
    berth_platform_trim_memory();
}

/* The config file again. An invalid one changes nothing (its problems are
 * printed); a valid one is applied server by server. While the old
 * servers stop, the log is cleaned of both configs' secrets; then of the
 * new config's alone: a value the file no longer holds as a secret is no
 * longer masked. */
static void reload(berth_serve_t *s)
{
    notify(s, BERTH_SERVE_RELOADING, s->cfg->file);
    berth_log(BERTH_LOG_INFO, "reloading %s", s->cfg->file);
    berth_config_t *ncfg = berth_cfgfile_load(s->cfg->file, s->secrets,
                                              &s->secrets, s->opts.err,
                                              s->pool);
    if (!ncfg) {
        berth_log(BERTH_LOG_ERROR, "config reload failed (see above); still "
                  "serving the config loaded before");
        notify(s, BERTH_SERVE_RELOADED, "reload failed");
        return;
    }
    /* what only a restart applies keeps its value in the config in force,
     * so that the next reload compares with what berth still does */
    apr_array_header_t *later = berth_config_restart_only_changes(
        s->cfg, ncfg, s->pool);
    for (int i = 0; i < later->nelts; i++) {
        const berth_config_change_t *c =
            &APR_ARRAY_IDX(later, i, berth_config_change_t);
        berth_log(BERTH_LOG_WARN, "%s changed to %s: it takes effect when "
                  "berth restarts; still %s", c->setting->name, c->now,
                  c->was);
    }
    berth_config_keep_restart_only(ncfg, s->cfg);
    const char *summary;
    berth_daemon_reload(s->daemon, ncfg, s->router, s->secrets, &summary,
                        s->pool);
    s->cfg = ncfg;
    berth_hub_set_roots(s->hub, ncfg->roots);
    berth_control_set_config(s->control, ncfg);
    berth_log(BERTH_LOG_INFO, "config reloaded: %s", summary);
    notify(s, BERTH_SERVE_RELOADED, summary);
    tell_health(s);
}

static void say_why_stopping(berth_serve_t *s, int sig)
{
    if (sig == BERTH_SIGNAL_INPUT_ENDED)
        berth_log(BERTH_LOG_INFO, "stdin ended: stopping %d server%s",
                  count(s), plural(count(s)));
    else if (sig == BERTH_SIGNAL_STOP)
        berth_log(BERTH_LOG_INFO, "asked to stop: stopping %d server%s",
                  count(s), plural(count(s)));
    else
        berth_log(BERTH_LOG_INFO, "signal %d: stopping %d server%s", sig,
                  count(s), plural(count(s)));
}

/* Fronts first (no new request), then every session (calls in flight
 * fail), then the servers, in parallel. */
static void stop_all(berth_serve_t *s)
{
    apr_time_t t0 = berth_platform_clock();
    apr_thread_mutex_lock(s->health_lock);
    s->telling = 0;
    apr_thread_mutex_unlock(s->health_lock);
    notify(s, BERTH_SERVE_STOPPING, NULL);
    if (s->stdio)
        berth_stdio_stop(s->stdio);
    if (s->http)
        berth_http_stop(s->http);
    berth_hub_close_all(s->hub);
    berth_daemon_stop(s->daemon);
    berth_log(BERTH_LOG_INFO, "all servers stopped in %.2f s",
              (double)(berth_platform_clock() - t0) / APR_USEC_PER_SEC);
}

apr_status_t berth_serve_run(berth_serve_t *s)
{
    announce(s);
    berth_daemon_start(s->daemon);
    if (s->opts.front == BERTH_FRONT_STDIO && start_stdio(s) != APR_SUCCESS) {
        berth_daemon_stop(s->daemon);
        return APR_EGENERAL;
    }
    notify(s, BERTH_SERVE_READY,
           s->http ? apr_psprintf(s->pool, "http://%s/mcp", s->listen)
                   : "stdio");
    apr_thread_mutex_lock(s->health_lock);
    s->telling = 1;
    apr_thread_mutex_unlock(s->health_lock);
    tell_health(s);
    int sig;
    for (;;) {
        sig = berth_signals_wait(s->reap_every);
        if (!sig)
            reap_idle(s);
        else if (berth_signals_is_reload(sig))
            reload(s);
        else
            break;
    }
    say_why_stopping(s, sig);
    stop_all(s);
    return APR_SUCCESS;
}

void berth_serve_reload(berth_serve_t *s)
{
    (void)s;
    berth_signals_raise(BERTH_SIGNAL_RELOAD);
}

void berth_serve_stop(berth_serve_t *s)
{
    (void)s;
    berth_signals_raise(BERTH_SIGNAL_STOP);
}

json_t *berth_serve_status(berth_serve_t *s)
{
    return berth_control_status(s->control);
}
