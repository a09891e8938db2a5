#include "control.h"

#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "berth_version.h"
#include "dockerpath.h"
#include "hostfacts.h"
#include "platform.h"

struct berth_control_t {
    apr_pool_t *pool;
    berth_spawnctx_t *ctx;
    berth_daemon_t *daemon;
    berth_hub_t *hub;
    apr_time_t started;
    apr_thread_mutex_t *lock;     /* cfg and listen: a reload changes them */
    const berth_config_t *cfg;
    const char *listen;
};

berth_control_t *berth_control_create(berth_spawnctx_t *ctx,
                                      berth_daemon_t *d, berth_hub_t *hub,
                                      const berth_config_t *cfg,
                                      apr_pool_t *pool)
{
    berth_control_t *c = apr_pcalloc(pool, sizeof *c);
    c->pool = pool;
    c->ctx = ctx;
    c->daemon = d;
    c->hub = hub;
    c->cfg = cfg;
    c->listen = "";
    c->started = berth_platform_clock();
    apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    return c;
}

void berth_control_set_config(berth_control_t *c, const berth_config_t *cfg)
{
    apr_thread_mutex_lock(c->lock);
    c->cfg = cfg;
    apr_thread_mutex_unlock(c->lock);
}

void berth_control_set_listen(berth_control_t *c, const char *listen)
{
    apr_thread_mutex_lock(c->lock);
    c->listen = apr_pstrdup(c->pool, listen);
    apr_thread_mutex_unlock(c->lock);
}

/* ---- the status document ---------------------------------------------- */

/* What the docker CLI and daemon look like from here. */
static json_t *docker_json(berth_control_t *c, const berth_config_t *cfg)
{
    berth_docker_info_t info = berth_spawnctx_docker_info(c->ctx, cfg);
    const berth_hostfacts_t *facts = berth_spawnctx_facts(c->ctx);
    berth_docker_t dk = berth_dockerpath_resolve(
        berth_spawnctx_resolver(c->ctx), facts);
    json_t *docker = json_pack(
        "{s:b, s:o, s:s, s:b, s:b}", "available", info.available, "path",
        dk.path ? json_string(dk.path) : json_null(), "source",
        berth_docker_source_name(dk.source), "verified", dk.verified,
        "daemon_env_guaranteed",
        berth_docker_daemon_env_guaranteed(facts, facts->env));
    if (info.server_version)
        json_object_set_new(docker, "server_version",
                            json_string(info.server_version));
    if (info.error)
        json_object_set_new(docker, "error", json_string(info.error));
    return docker;
}

/* What the macOS import took from the login shell at start (names only;
 * never applied elsewhere): what makes docker work for a LaunchAgent. */
static json_t *hydration_json(berth_control_t *c)
{
    const berth_hydration_t *hy = berth_spawnctx_hydration(c->ctx);
    json_t *keys = json_array();
    for (int i = 0; hy->keys && i < hy->keys->nelts; i++)
        json_array_append_new(keys, json_string(APR_ARRAY_IDX(
                                        hy->keys, i, berth_hydrated_key_t)
                                        .name));
    return json_pack("{s:b, s:s, s:o}", "applied", hy->applied, "reason",
                     hy->reason ? hy->reason : "", "keys", keys);
}

static json_t *or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *server_json(const berth_supervisor_status_t *st)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:i, s:i}", "name", st->name,
                          "state", berth_sv_state_name(st->state), "pid",
                          (json_int_t)st->pid, "restarts", (int)st->restarts,
                          "last_exit", st->last_exit);
    json_object_set_new(o, "restarts_requested",
                        json_integer(st->restarts_requested));
    json_object_set_new(o, "last_error", or_null(st->last_error));
    json_object_set_new(o, "protocol", or_null(st->protocol));
    json_object_set_new(o, "tools", st->tools >= 0 ? json_integer(st->tools)
                                                   : json_null());
    if (st->container_name || st->container_id)
        json_object_set_new(o, "container",
                            json_pack("{s:o, s:o}", "name",
                                      or_null(st->container_name), "id",
                                      or_null(st->container_id)));
    return o;
}

const char *berth_control_error_line(const char *error, apr_pool_t *pool)
{
    enum { MAX = 200 };
    char why[MAX + 4];
    size_t n = 0;
    for (const char *p = error ? error : ""; *p && n < MAX; p++) {
        if (*p != '\n') {
            why[n++] = *p == '\r' || *p == '\t' ? ' ' : *p;
        } else if (p[1] && n > 0 && why[n - 1] == ':') {
            why[n++] = ' '; /* "its last stderr lines: ..." */
        } else if (p[1] && n + 3 < MAX) {
            memcpy(why + n, " / ", 3);
            n += 3;
        }
    }
    if (n >= MAX)
        memcpy(why + MAX - 3, "...", 3);
    why[n] = '\0';
    return apr_pstrdup(pool, why);
}

/* "name (why)". */
static const char *named(const berth_supervisor_status_t *st, apr_pool_t *pool)
{
    if (!st->last_error)
        return st->name;
    return apr_psprintf(pool, "%s (%s)", st->name,
                        berth_control_error_line(st->last_error, pool));
}

/* The words of STATE in the summary, in the order they are told. */
static const struct {
    berth_sv_state_t state;
    const char *word;
} not_ready[] = { { BERTH_SV_FAILED, "failed" },
                  { BERTH_SV_BACKOFF, "restarting" },
                  { BERTH_SV_STARTING, "starting" },
                  { BERTH_SV_STOPPED, "stopped" } };

berth_control_health_t berth_control_health(berth_control_t *c,
                                            apr_pool_t *pool)
{
    berth_control_health_t h = { 0, 0, 0, "" };
    apr_array_header_t *list = berth_daemon_servers(c->daemon, pool);
    berth_supervisor_status_t *st =
        apr_pcalloc(pool, sizeof *st * (list->nelts + 1));
    for (int i = 0; i < list->nelts; i++) {
        st[i] = berth_supervisor_status(
            APR_ARRAY_IDX(list, i, berth_supervisor_t *), pool);
        h.ready += st[i].state == BERTH_SV_READY;
        h.failed += st[i].state == BERTH_SV_FAILED;
    }
    h.servers = list->nelts;
    if (!h.servers) {
        h.summary = "no servers configured";
        return h;
    }
    if (h.failed == h.servers)
        h.summary = apr_psprintf(pool, "all %d server%s failed", h.servers,
                                 h.servers == 1 ? "" : "s");
    else
        h.summary = apr_psprintf(pool, "%d of %d server%s ready", h.ready,
                                 h.servers, h.servers == 1 ? "" : "s");
    for (size_t k = 0; k < sizeof not_ready / sizeof not_ready[0]; k++) {
        const char *names = NULL;
        for (int i = 0; i < list->nelts; i++)
            if (st[i].state == not_ready[k].state)
                names = apr_pstrcat(pool, names ? names : "",
                                    names ? ", " : "", named(&st[i], pool),
                                    NULL);
        if (names)
            h.summary = apr_pstrcat(pool, h.summary, "; ", not_ready[k].word,
                                    ": ", names, NULL);
    }
    return h;
}

static json_t *health_json(berth_control_t *c, apr_pool_t *pool)
{
    berth_control_health_t h = berth_control_health(c, pool);
    return json_pack("{s:s, s:i, s:i, s:b}", "summary", h.summary, "servers",
                     h.servers, "ready", h.ready, "all_failed",
                     h.servers > 0 && h.failed == h.servers);
}

json_t *berth_control_status(berth_control_t *c)
{
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    apr_thread_mutex_lock(c->lock);
    const berth_config_t *cfg = c->cfg;
    const char *listen = apr_pstrdup(pool, c->listen);
    apr_thread_mutex_unlock(c->lock);
    json_t *servers = json_array();
    apr_array_header_t *list = berth_daemon_servers(c->daemon, pool);
    for (int i = 0; i < list->nelts; i++) {
        berth_supervisor_status_t st = berth_supervisor_status(
            APR_ARRAY_IDX(list, i, berth_supervisor_t *), pool);
        json_array_append_new(servers, server_json(&st));
    }
    json_t *j = json_pack(
        "{s:s, s:I, s:s, s:s, s:s, s:o, s:o, s:i}", "version", BERTH_VERSION,
        "uptime_s",
        (json_int_t)apr_time_sec(berth_platform_clock() - c->started),
        "instance", berth_spawnctx_instance(c->ctx), "config", cfg->file,
        "listen", listen, "docker", docker_json(c, cfg), "servers", servers,
        "sessions", berth_hub_session_count(c->hub));
    json_object_set_new(j, "health", health_json(c, pool));
    json_object_set_new(j, "hydration", hydration_json(c));
    apr_pool_destroy(pool);
    return j;
}

const char *berth_control_state_words(const char *state)
{
    if (!state)
        return "?";
    return strcmp(state, "backoff") == 0 ? "restarting" : state;
}

int berth_control_restart(berth_control_t *c, const char *name)
{
    berth_supervisor_t *s = berth_daemon_find(c->daemon, name);
    if (!s)
        return 0;
    berth_supervisor_restart(s);
    return 1;
}

static json_t *error_doc(const char *text)
{
    return json_pack("{s:s}", "error", text);
}

json_t *berth_control_handle(berth_control_t *c, const char *method,
                             const char *url, unsigned *status)
{
    static const char prefix[] = "/api/v1/servers/", suffix[] = "/restart";
    size_t pl = sizeof prefix - 1, sl = sizeof suffix - 1, ul = strlen(url);
    if (strcmp(url, "/api/v1/status") == 0) {
        if (strcmp(method, "GET") != 0) {
            *status = 405;
            return error_doc("use GET");
        }
        *status = 200;
        return berth_control_status(c);
    }
    if (ul > pl + sl && strncmp(url, prefix, pl) == 0 &&
        strcmp(url + ul - sl, suffix) == 0) {
        if (strcmp(method, "POST") != 0) {
            *status = 405;
            return error_doc("use POST");
        }
        char name[256];
        apr_cpystrn(name, url + pl, ul - pl - sl + 1 < sizeof name
                                        ? ul - pl - sl + 1 : sizeof name);
        if (!berth_control_restart(c, name)) {
            *status = 404;
            return json_pack("{s:s, s:s}", "error", "no such server",
                             "server", name);
        }
        *status = 200;
        return json_pack("{s:s, s:b}", "server", name, "restarting", 1);
    }
    *status = 404;
    return error_doc("no such endpoint");
}

/* ---- token files -------------------------------------------------------- */

/* What FILE holds, without the line end, when it is at least MIN
 * characters; NULL else. */
static const char *read_token(const char *file, apr_size_t min,
                              apr_pool_t *pool)
{
    apr_file_t *f;
    char buf[129];
    apr_size_t n = sizeof buf - 1;
    if (apr_file_open(&f, file, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT,
                      pool) != APR_SUCCESS)
        return NULL;
    apr_status_t rv = apr_file_read(f, buf, &n);
    apr_file_close(f);
    while (rv == APR_SUCCESS && n > 0 &&
           (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    if (rv != APR_SUCCESS || n < min)
        return NULL;
    return apr_pstrmemdup(pool, buf, n);
}

const char *berth_control_token_read(const char *file, apr_pool_t *pool)
{
    /* whatever it holds: a wrong token is the server's to refuse */
    return read_token(file, 0, pool);
}

const char *berth_control_token(const char *file, const char **error,
                                apr_pool_t *pool)
{
    const char *have = read_token(file, 16, pool);
    if (have)
        return have;
    unsigned char r[16];
    char hex[33], errbuf[128];
    if (apr_generate_random_bytes(r, sizeof r) != APR_SUCCESS) {
        *error = "no random bytes for a token";
        return NULL;
    }
    for (int i = 0; i < 16; i++)
        apr_snprintf(hex + 2 * i, 3, "%02x", r[i]);
    apr_dir_make_recursive(berth_path_dirname(file, pool),
                           APR_FPROT_UREAD | APR_FPROT_UWRITE |
                               APR_FPROT_UEXECUTE,
                           pool);
    apr_file_t *f;
    apr_status_t rv = apr_file_open(
        &f, file, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_EXCL,
        APR_FPROT_UREAD | APR_FPROT_UWRITE, pool);
    if (APR_STATUS_IS_EEXIST(rv)) {
        /* another berth made it since the read above: its token is the
         * one, once its writer is done (a few microseconds) */
        for (int i = 0; i < 100 && !(have = read_token(file, 32, pool)); i++)
            apr_sleep(apr_time_from_msec(10));
        if (have)
            return have;
    }
    if (rv != APR_SUCCESS) {
        *error = apr_psprintf(pool, "cannot create %s: %s", file,
                              apr_strerror(rv, errbuf, sizeof errbuf));
        return NULL;
    }
    apr_file_puts(hex, f);
    apr_file_puts("\n", f);
    apr_file_close(f);
    return apr_pstrdup(pool, hex);
}

/* ---- the client ------------------------------------------------------- */

/* A connected socket to HOST:PORT, or an error status with *ERROR. */
static apr_status_t connect_to(const char *host, unsigned port,
                               apr_interval_time_t timeout,
                               apr_socket_t **sock, const char **error,
                               apr_pool_t *pool)
{
    apr_sockaddr_t *sa;
    char errbuf[128];
    const char *h = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    apr_status_t rv = apr_sockaddr_info_get(&sa, h, APR_UNSPEC,
                                            (apr_port_t)port, 0, pool);
    if (rv == APR_SUCCESS)
        rv = apr_socket_create(sock, sa->family, SOCK_STREAM, APR_PROTO_TCP,
                               pool);
    if (rv != APR_SUCCESS) {
        *error = apr_psprintf(pool, "%s: %s", host,
                              apr_strerror(rv, errbuf, sizeof errbuf));
        return rv;
    }
    apr_socket_timeout_set(*sock, timeout);
    rv = apr_socket_connect(*sock, sa);
    if (rv != APR_SUCCESS) {
        *error = apr_psprintf(pool, "nothing answers at %s:%u (%s)", host,
                              port, apr_strerror(rv, errbuf, sizeof errbuf));
        apr_socket_close(*sock);
    }
    return rv;
}

/* Everything SOCK says until it closes (a small JSON document): malloc'ed,
 * NUL-terminated, *LEN bytes; *RV the last receive's status. */
static char *read_all(apr_socket_t *sock, size_t *len, apr_status_t *rv)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (*rv == APR_SUCCESS && buf) {
        apr_size_t got = cap - n;
        if (got == 0) {
            char *b = realloc(buf, cap * 2 + 1);
            if (!b)
                break;
            buf = b;
            cap *= 2;
            got = cap - n;
        }
        *rv = apr_socket_recv(sock, buf + n, &got);
        n += got;
    }
    if (buf)
        buf[n] = '\0';
    *len = n;
    return buf;
}

/* Joins the chunks of a chunked body in place. */
static void dechunk(char *payload, const char *end)
{
    char *w = payload, *r = payload;
    for (;;) {
        long sz = strtol(r, &r, 16);
        r = strstr(r, "\r\n");
        if (!r || sz <= 0 || r + 2 + sz > end)
            break;
        r += 2;
        memmove(w, r, (size_t)sz);
        w += sz;
        r += sz + 2;
    }
    *w = '\0';
}

/* The HTTP status and JSON body of the answer BUF (N bytes). */
static apr_status_t parse_answer(char *buf, size_t n, int *status,
                                 json_t **body, const char **error)
{
    if (n < 12 || strncmp(buf, "HTTP/1.", 7) != 0) {
        *error = "the answer is not HTTP";
        return APR_EGENERAL;
    }
    *status = atoi(buf + 9);
    char *payload = strstr(buf, "\r\n\r\n");
    if (payload) {
        payload += 4;
        if (strstr(buf, "Transfer-Encoding: chunked") ||
            strstr(buf, "transfer-encoding: chunked"))
            dechunk(payload, buf + n);
        json_error_t jerr;
        *body = json_loads(payload, 0, &jerr);
    }
    return APR_SUCCESS;
}

apr_status_t berth_control_call(const char *host, unsigned port,
                                const char *method, const char *path,
                                const char *token, apr_interval_time_t timeout,
                                int *status, json_t **body,
                                const char **error, apr_pool_t *pool)
{
    apr_socket_t *sock;
    char errbuf[128];
    *status = 0;
    *body = NULL;
    apr_status_t rv = connect_to(host, port, timeout, &sock, error, pool);
    if (rv != APR_SUCCESS)
        return rv;
    const char *req = apr_psprintf(
        pool, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer "
        "%s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", method, path,
        port, token ? token : "");
    apr_size_t len = strlen(req);
    rv = apr_socket_send(sock, req, &len);
    size_t n;
    char *buf = read_all(sock, &n, &rv);
    apr_socket_close(sock);
    if (!buf) {
        *error = "out of memory";
        return APR_ENOMEM;
    }
    if (rv != APR_EOF && rv != APR_SUCCESS) {
        *error = apr_psprintf(pool, "reading the answer: %s",
                              apr_strerror(rv, errbuf, sizeof errbuf));
        free(buf);
        return rv;
    }
    rv = parse_answer(buf, n, status, body, error);
    free(buf);
    return rv;
}
