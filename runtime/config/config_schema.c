/* The settings as a table (redis's config.c is the model): each row says
 * what a setting is, and the generic code here reads it, fills its default,
 * tells whether the file gave it, and lists the ones a reload cannot
 * apply. Sections with real logic of their own (listen, lists, images, the
 * server entries) keep it in config.c and config_server.c. */
#include "config_parse.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#define G(field) offsetof(berth_config_t, field)
#define S(field) offsetof(berth_server_config_t, field)
#define GLOBAL BERTH_SETTING_GLOBAL
#define SERVER BERTH_SETTING_SERVER
#define LIVE BERTH_SETTING_LIVE
#define AS_GIVEN BERTH_SETTING_AS_GIVEN
#define MIN_EXCLUSIVE BERTH_SETTING_MIN_EXCLUSIVE

/* A word is stored through an int: the enums must be as wide. */
_Static_assert(sizeof(berth_namespace_t) == sizeof(int),
               "namespace words are stored as int");
_Static_assert(sizeof(berth_isolation_mode_t) == sizeof(int),
               "isolation words are stored as int");

static const berth_setting_word_t namespace_words[] = {
    { "prefix", BERTH_NAMESPACE_PREFIX, "tools named <server>__<tool>" },
    { "none", BERTH_NAMESPACE_NONE, NULL },
    { NULL, 0, NULL }
};

static const berth_setting_word_t isolation_words[] = {
    { "docker", BERTH_ISOLATION_DOCKER, NULL },
    { "none", BERTH_ISOLATION_NONE, NULL },
    { NULL, 0, NULL }
};

/* The order is the documentation's, and within a section the order of the
 * known keys that messages list. A reload applies what goes into a
 * server's spawn (berth_daemon_signature: it restarts the servers whose
 * settings changed); the HTTP front, the hub and the log files of berth's
 * own are set up once. */
static const berth_setting_t settings[] = {
    { .name = "listen", .type = BERTH_SETTING_LISTEN, .flags = GLOBAL,
      .def_text = "127.0.0.1:8750", .global_off = G(listen),
      .parse = cfg_parse_listen,
      .doc = "where `berth serve` listens: `IPv4:PORT`, `[IPv6]:PORT` or "
             "`localhost:PORT`; beyond loopback, clients need the bearer "
             "token in `mcp.token`" },
    { .name = "namespace", .type = BERTH_SETTING_WORD,
      .flags = GLOBAL | SERVER | LIVE, .def_num = BERTH_NAMESPACE_PREFIX,
      .global_off = G(ns), .server_off = S(ns), .noun = "a namespace mode",
      .words = namespace_words,
      .doc = "`prefix`: a server's tools and prompts appear as "
             "`<server>__<name>`; `none`: unchanged" },
    { .name = "disabled", .type = BERTH_SETTING_BOOL,
      .flags = SERVER | LIVE, .def_num = 0, .server_off = S(disabled),
      .doc = "keep the server in the file, do not start it" },
    { .name = "max_message", .type = BERTH_SETTING_INT,
      .flags = GLOBAL | SERVER | LIVE, .min = 1024, .max = 1073741824,
      .def_num = 16777216, .global_off = G(max_message),
      .server_off = S(max_message), .unit = "bytes",
      .doc = "the largest message (one line of its stdout) berth reads "
             "from a server; a larger answer fails its request at once, "
             "naming the limit and the size" },
    { .name = "roots", .type = BERTH_SETTING_LIST, .flags = GLOBAL | LIVE,
      .unset = "none", .global_off = G(roots), .parse = cfg_parse_roots,
      .doc = "the roots (`file://` URIs) a server gets when it asks "
             "`roots/list` outside a call and no client has given its own; "
             "see [http.md](http.md#roots)" },
    { .name = "timeouts.initialize", .type = BERTH_SETTING_SECONDS,
      .flags = GLOBAL | SERVER | LIVE | MIN_EXCLUSIVE, .min = 0,
      .max = 86400, .def_num = 30, .global_off = G(timeouts.initialize),
      .server_off = S(timeouts.initialize), .unit = "seconds",
      .noun = "timeout",
      .doc = "how long a server may take to start and answer `initialize`" },
    { .name = "timeouts.call", .type = BERTH_SETTING_SECONDS,
      .flags = GLOBAL | SERVER | LIVE | MIN_EXCLUSIVE, .min = 0,
      .max = 86400, .def_num = 60, .global_off = G(timeouts.call),
      .server_off = S(timeouts.call), .unit = "seconds", .noun = "timeout",
      .doc = "how long a request to a server may take" },
    { .name = "timeouts.shutdown", .type = BERTH_SETTING_SECONDS,
      .flags = GLOBAL | SERVER | LIVE | MIN_EXCLUSIVE, .min = 0,
      .max = 86400, .def_num = 2, .global_off = G(timeouts.shutdown),
      .server_off = S(timeouts.shutdown), .unit = "seconds",
      .noun = "timeout",
      .doc = "how long a stopping server has after its stdin closes, and "
             "again after SIGTERM, before it is killed" },
    { .name = "timeouts.startup_wait", .type = BERTH_SETTING_SECONDS,
      .flags = GLOBAL, .min = 0, .max = 86400, .def_num = 5,
      .global_off = G(startup_wait), .unit = "seconds", .noun = "timeout",
      .zero = "off",
      .doc = "how long a client's list (or a call of a name no server "
             "offers yet) waits for servers still starting, counted from "
             "their start; then it is answered with what is ready; see "
             "[http.md](http.md#servers-still-starting)" },
    { .name = "http.session_idle", .type = BERTH_SETTING_SECONDS,
      .flags = GLOBAL, .min = 1, .max = 604800, .def_num = 1800,
      .global_off = G(http_session_idle), .unit = "seconds",
      .doc = "a session that sends no request for this long is closed" },
    { .name = "http.session_idle_unused", .type = BERTH_SETTING_SECONDS,
      .flags = GLOBAL, .min = 1, .max = 604800, .def_num = 60,
      .global_off = G(http_session_idle_unused), .unit = "seconds",
      .doc = "a session that made no request after `initialize` is closed "
             "after this long idle (`session_idle` when that is shorter)" },
    { .name = "http.max_sessions", .type = BERTH_SETTING_INT,
      .flags = GLOBAL, .min = 1, .max = 100000, .def_num = 1000,
      .global_off = G(http_max_sessions), .unit = "sessions",
      .doc = "sessions open at once; when full, a new one closes the "
             "oldest idle session (one never used first): see "
             "[http.md](http.md#sessions-and-the-request-path-runtimeservehubc)" },
    { .name = "http.max_body", .type = BERTH_SETTING_INT, .flags = GLOBAL,
      .min = 1024, .max = 1073741824, .def_num = 4194304,
      .global_off = G(http_max_body), .unit = "bytes",
      .doc = "the largest request body; a larger one is answered 413" },
    { .name = "http.read_timeout", .type = BERTH_SETTING_SECONDS,
      .flags = GLOBAL | MIN_EXCLUSIVE, .min = 0, .max = 3600, .def_num = 5,
      .global_off = G(http_read_timeout), .unit = "seconds",
      .noun = "timeout",
      .doc = "how long a connection has to deliver a whole request "
             "(headers and body) from its opening or its last answer; "
             "then it is closed, an idle keep-alive one too" },
    { .name = "http.max_connections", .type = BERTH_SETTING_INT,
      .flags = GLOBAL, .min = 1, .max = 100000, .def_num = 512,
      .global_off = G(http_max_connections), .unit = "connections",
      .doc = "connections open at once; a new one beyond it closes the one "
             "idle the longest, or is refused when none is idle" },
    { .name = "http.max_connections_per_address", .type = BERTH_SETTING_INT,
      .flags = GLOBAL, .min = 1, .max = 100000, .def_num = 256,
      .global_off = G(http_max_connections_per_address),
      .unit = "connections",
      .doc = "the same, from one client address" },
    { .name = "http.allowed_origins", .type = BERTH_SETTING_LIST,
      .flags = GLOBAL, .unset = "none", .global_off = G(http_origins),
      .parse = cfg_parse_origins,
      .doc = "browser origins (`scheme://host[:port]`) allowed besides "
             "this machine's" },
    { .name = "http.spin_us", .type = BERTH_SETTING_INT, .flags = GLOBAL,
      .min = 0, .max = 10000, .def_num = 100,
      .global_off = G(http_spin_us), .unit = "microseconds", .zero = "off",
      .doc = "bounded busy-waiting on the request path, with a "
             "lowest-priority keeper thread on a second CPU meanwhile; see "
             "[http.md](http.md#the-hot-path)" },
    { .name = "env.allow", .type = BERTH_SETTING_LIST,
      .flags = GLOBAL | LIVE, .unset = "none", .global_off = G(env_allow),
      .parse = cfg_parse_env_allow,
      .doc = "more variable names passed from berth's environment to "
             "servers; a name ending in `*` is a prefix" },
    { .name = "env.allow_defaults", .type = BERTH_SETTING_BOOL,
      .flags = GLOBAL | LIVE, .def_num = 1,
      .global_off = G(env_allow_defaults),
      .doc = "`false` drops the built-in list (below)" },
    { .name = "env.forward_proxy_env", .type = BERTH_SETTING_BOOL,
      .flags = GLOBAL | LIVE, .def_num = 0,
      .global_off = G(forward_proxy_env),
      .doc = "forward the proxy variables, with credentials removed" },
    { .name = "env.secrets", .type = BERTH_SETTING_LIST,
      .flags = GLOBAL | LIVE, .unset = "none", .global_off = G(env_secrets),
      .parse = cfg_parse_env_allow,
      .doc = "more variable names whose values are secrets (see "
             "[secrets](#secrets)); a name ending in `*` is a prefix" },
    { .name = "docker_isolation.mode", .type = BERTH_SETTING_WORD,
      .flags = GLOBAL | SERVER | LIVE | AS_GIVEN,
      .def_num = BERTH_ISOLATION_NONE, .global_off = G(isolation.mode),
      .server_off = S(isolation.mode), .noun = "an isolation mode",
      .words = isolation_words,
      .doc = "`docker` runs servers in containers; see [which mode a "
             "server gets](#which-mode-a-server-gets)" },
    { .name = "docker_isolation.enabled", .type = BERTH_SETTING_BOOL,
      .flags = GLOBAL | SERVER | LIVE | AS_GIVEN, .def_num = 0,
      .global_off = G(isolation.enabled),
      .server_off = S(isolation.enabled),
      .doc = "the legacy form of `mode` (`true` is `docker`); `mode` wins "
             "when both are given" },
    { .name = "docker_isolation.image", .type = BERTH_SETTING_STRING,
      .flags = SERVER | LIVE | AS_GIVEN, .unset = "by runtime (`images`)",
      .server_off = S(isolation.image),
      .doc = "the image this server runs in" },
    { .name = "docker_isolation.network_mode",
      .type = BERTH_SETTING_NETWORK,
      .flags = GLOBAL | SERVER | LIVE | AS_GIVEN, .unset = "Docker's",
      .global_off = G(isolation.network_mode),
      .server_off = S(isolation.network_mode),
      .doc = "the container's network: `none`, `bridge`, `host` or a "
             "network's name" },
    { .name = "docker_isolation.memory_limit", .type = BERTH_SETTING_SIZE,
      .flags = GLOBAL | SERVER | LIVE | AS_GIVEN, .unset = "no limit",
      .global_off = G(isolation.memory_limit),
      .server_off = S(isolation.memory_limit), .example = "512m",
      .doc = "the container's memory limit" },
    { .name = "docker_isolation.cpu_limit", .type = BERTH_SETTING_CPUS,
      .flags = GLOBAL | SERVER | LIVE | AS_GIVEN, .unset = "no limit",
      .global_off = G(isolation.cpu_limit),
      .server_off = S(isolation.cpu_limit),
      .doc = "the container's CPU limit" },
    { .name = "docker_isolation.no_new_privileges",
      .type = BERTH_SETTING_BOOL, .flags = GLOBAL | SERVER | LIVE,
      .def_num = 1, .global_off = G(isolation.no_new_privileges),
      .server_off = S(isolation.no_new_privileges),
      .doc = "`--security-opt no-new-privileges`: no process in the "
             "container gains privileges through a setuid program or file "
             "capabilities" },
    { .name = "docker_isolation.cap_drop_all", .type = BERTH_SETTING_BOOL,
      .flags = GLOBAL | SERVER | LIVE, .def_num = 1,
      .global_off = G(isolation.cap_drop_all),
      .server_off = S(isolation.cap_drop_all),
      .doc = "`--cap-drop ALL`: root in the container has no Linux "
             "capabilities; `extra_args` `[\"--cap-add\", \"NAME\"]` "
             "gives one back" },
    { .name = "docker_isolation.init", .type = BERTH_SETTING_BOOL,
      .flags = GLOBAL | SERVER | LIVE, .def_num = 1,
      .global_off = G(isolation.init), .server_off = S(isolation.init),
      .doc = "`--init`: Docker's init (`docker-init`) is PID 1 and passes "
             "signals on, so a server without a SIGTERM handler still stops "
             "on `docker stop`" },
    { .name = "docker_isolation.pids_limit", .type = BERTH_SETTING_INT,
      .flags = GLOBAL | SERVER | LIVE, .min = 0, .max = 4194304,
      .def_num = 1024, .global_off = G(isolation.pids_limit),
      .server_off = S(isolation.pids_limit), .unit = "processes",
      .zero = "no limit",
      .doc = "`--pids-limit`: at most this many processes and threads in "
             "the container, so a fork bomb stops there" },
    { .name = "docker_isolation.images", .type = BERTH_SETTING_MAP,
      .flags = GLOBAL | LIVE, .unset = "the built-in images (below)",
      .global_off = G(images), .parse = cfg_parse_images,
      .doc = "the image per runtime: `python`, `node`, `go`, `rust`, "
             "`ruby`, `php`, `base`, or `uvx` / `npx`" },
    { .name = "docker_isolation.extra_args", .type = BERTH_SETTING_LIST,
      .flags = GLOBAL | SERVER | LIVE | AS_GIVEN, .unset = "none",
      .global_off = G(isolation.extra_args),
      .server_off = S(isolation.extra_args), .parse = cfg_parse_extra_args,
      .doc = "more `docker run` arguments (a server's come after the "
             "global ones)" },
    { .name = "docker_isolation.log_max_size", .type = BERTH_SETTING_SIZE,
      .flags = GLOBAL | AS_GIVEN, .def_text = "10m",
      .global_off = G(log_max_size), .example = "10m",
      .doc = "the size at which a server's log file is rotated; Docker's "
             "`max-size` too, only when given" },
    { .name = "docker_isolation.log_max_files", .type = BERTH_SETTING_COUNT,
      .flags = GLOBAL | AS_GIVEN, .min = 1, .max = 1000, .def_num = 3,
      .global_off = G(log_max_files), .unit = "files",
      .doc = "how many files a server's log keeps; Docker's `max-file` "
             "too, only when given" },
    { .name = NULL }
};

#define SETTINGS_COUNT (sizeof settings / sizeof settings[0] - 1)
_Static_assert(SETTINGS_COUNT <= 64, "one bit per setting in 'given'");

/* ---- rows --------------------------------------------------------------- */

const berth_setting_t *berth_config_settings(void)
{
    return settings;
}

const berth_setting_t *berth_config_setting(const char *name)
{
    for (const berth_setting_t *r = settings; r->name; r++)
        if (strcmp(r->name, name) == 0)
            return r;
    return NULL;
}

static uint64_t bit_of(const berth_setting_t *r)
{
    return (uint64_t)1 << (r - settings);
}

static unsigned level_flag(int server)
{
    return server ? SERVER : GLOBAL;
}

/* Where ROW's value is in BASE, a config or (SERVER) a server. */
static void *field_of(const berth_setting_t *r, const void *base, int server)
{
    return (char *)base + (server ? r->server_off : r->global_off);
}

static uint64_t *given_of(void *base, int server)
{
    return server ? &((berth_server_config_t *)base)->given
                  : &((berth_config_t *)base)->given;
}

/* The row of KEY in SECTION ("" for the top level) at that level. */
static const berth_setting_t *find(const char *section, const char *key,
                                   int server)
{
    size_t n = strlen(section);
    for (const berth_setting_t *r = settings; r->name; r++) {
        if (!(r->flags & level_flag(server)))
            continue;
        if (n ? strncmp(r->name, section, n) == 0 && r->name[n] == '.' &&
                    strcmp(r->name + n + 1, key) == 0
              : strcmp(r->name, key) == 0)
            return r;
    }
    return NULL;
}

const berth_setting_t *cfg_top_setting(const char *key, int server)
{
    return find("", key, server);
}

int cfg_is_section(const char *section)
{
    size_t n = strlen(section);
    for (const berth_setting_t *r = settings; r->name; r++)
        if ((r->flags & GLOBAL) && strncmp(r->name, section, n) == 0 &&
            r->name[n] == '.')
            return 1;
    return 0;
}

static const char *key_of(const berth_setting_t *r)
{
    const char *dot = strchr(r->name, '.');
    return dot ? dot + 1 : r->name;
}

/* SECTION's keys at that level, in table order, NULL-terminated. */
static const char *const *section_keys(const char *section, int server,
                                       apr_pool_t *pool)
{
    apr_array_header_t *keys = apr_array_make(pool, 12, sizeof(char *));
    size_t n = strlen(section);
    for (const berth_setting_t *r = settings; r->name; r++)
        if ((r->flags & level_flag(server)) &&
            strncmp(r->name, section, n) == 0 && r->name[n] == '.')
            APR_ARRAY_PUSH(keys, const char *) = key_of(r);
    APR_ARRAY_PUSH(keys, const char *) = NULL;
    return (const char *const *)keys->elts;
}

/* ---- texts -------------------------------------------------------------- */

/* 1800, 0.5: whole numbers without a fraction or an exponent. */
static const char *num_text(double d, apr_pool_t *pool)
{
    char buf[64];
    if (d == floor(d) && fabs(d) < 1e15)
        snprintf(buf, sizeof buf, "%.0f", d);
    else
        snprintf(buf, sizeof buf, "%g", d); /* apr's %g drops a 0 */
    return apr_pstrdup(pool, buf);
}

/* "1 to 604800", "0 (off) to 10000", "more than 0 and at most 86400" */
static const char *range_text(const berth_setting_t *r, apr_pool_t *pool)
{
    if (r->flags & MIN_EXCLUSIVE)
        return apr_psprintf(pool, "more than %s and at most %s",
                            num_text(r->min, pool), num_text(r->max, pool));
    return apr_psprintf(pool, "%s%s to %s", num_text(r->min, pool),
                        r->min == 0 && r->zero
                            ? apr_psprintf(pool, " (%s)", r->zero)
                            : "",
                        num_text(r->max, pool));
}

/* "\"prefix\" (tools named <server>__<tool>) or \"none\""; QUOTE is the
 * quotation mark (Markdown's is a backquote). */
static const char *words_text(const berth_setting_t *r, const char *quote,
                              int notes, apr_pool_t *pool)
{
    const char *s = "";
    for (const berth_setting_word_t *w = r->words; w->word; w++)
        s = apr_pstrcat(pool, s,
                        w == r->words ? "" : w[1].word ? ", " : " or ",
                        quote, w->word, quote,
                        notes && w->note ? " (" : "",
                        notes && w->note ? w->note : "",
                        notes && w->note ? ")" : "", NULL);
    return s;
}

static const char *word_of(const berth_setting_t *r, int value)
{
    for (const berth_setting_word_t *w = r->words; w->word; w++)
        if (w->value == value)
            return w->word;
    return "unset";
}

/* The default as a value's text; NULL when the row has none. */
static const char *default_text(const berth_setting_t *r, apr_pool_t *pool)
{
    switch (r->type) {
    case BERTH_SETTING_BOOL:
        return r->def_num ? "true" : "false";
    case BERTH_SETTING_INT:
    case BERTH_SETTING_COUNT:
    case BERTH_SETTING_SECONDS:
        return num_text(r->def_num, pool);
    case BERTH_SETTING_WORD:
        return word_of(r, (int)r->def_num);
    case BERTH_SETTING_LIST:
    case BERTH_SETTING_MAP:
        return NULL;
    default:
        return r->def_text;
    }
}

/* ["a", "b"], or {"k": "v"} for a map. */
static const char *array_text(const berth_setting_t *r,
                              const apr_array_header_t *a, apr_pool_t *pool)
{
    int map = r->type == BERTH_SETTING_MAP;
    const char *s = map ? "{" : "[";
    for (int i = 0; a && i < a->nelts; i++) {
        const char *item =
            map ? apr_psprintf(pool, "\"%s\": \"%s\"",
                               APR_ARRAY_IDX(a, i, berth_kv_t).key,
                               APR_ARRAY_IDX(a, i, berth_kv_t).value)
                : apr_psprintf(pool, "\"%s\"",
                               APR_ARRAY_IDX(a, i, const char *));
        s = apr_pstrcat(pool, s, i ? ", " : "", item, NULL);
    }
    return apr_pstrcat(pool, s, map ? "}" : "]", NULL);
}

/* FIELD's value as text; the default's when the row keeps what was given
 * and nothing was. */
static const char *value_text(const berth_setting_t *r, const void *field,
                              int given, apr_pool_t *pool)
{
    if ((r->flags & AS_GIVEN) && !given &&
        r->type != BERTH_SETTING_LIST && r->type != BERTH_SETTING_MAP) {
        const char *d = default_text(r, pool);
        return d ? d : r->unset;
    }
    switch (r->type) {
    case BERTH_SETTING_BOOL:
        return *(const int *)field ? "true" : "false";
    case BERTH_SETTING_INT:
        return apr_psprintf(pool, "%ld", *(const long *)field);
    case BERTH_SETTING_COUNT:
        return apr_psprintf(pool, "%d", *(const int *)field);
    case BERTH_SETTING_SECONDS:
        return num_text(*(const double *)field, pool);
    case BERTH_SETTING_WORD:
        return word_of(r, *(const int *)field);
    case BERTH_SETTING_LIST:
    case BERTH_SETTING_MAP:
        return array_text(r, *(apr_array_header_t *const *)field, pool);
    default: {
        const char *s = *(const char *const *)field;
        return s ? s : r->def_text ? r->def_text : r->unset;
    }
    }
}

/* ---- the generic parser ------------------------------------------------- */

static int in_range(const berth_setting_t *r, double d)
{
    return (r->flags & MIN_EXCLUSIVE ? d > r->min : d >= r->min) &&
           d <= r->max;
}

/* COUNT: a whole number, or a string of digits (Docker's log options are
 * strings); one message for whatever is wrong. */
static int parse_count(cfg_ctx_t *v, const berth_setting_t *r, json_t *j,
                       const char *path, int *out)
{
    double d = -1;
    const char *s = json_is_string(j) ? json_string_value(j) : NULL;
    if (json_is_integer(j))
        d = (double)json_integer_value(j);
    else if (s && *s && strspn(s, "0123456789") == strlen(s))
        d = strtod(s, NULL);
    if (!in_range(r, d)) {
        cfg_error_at(v, path, "expected a number of %s from %s", r->unit,
                     range_text(r, v->pool));
        return 0;
    }
    *out = (int)d;
    return 1;
}

static int parse_number(cfg_ctx_t *v, const berth_setting_t *r, json_t *j,
                        const char *path, void *field)
{
    int whole = r->type == BERTH_SETTING_INT;
    if (r->type == BERTH_SETTING_COUNT)
        return parse_count(v, r, j, path, field);
    if (whole ? !json_is_integer(j) : !json_is_number(j)) {
        cfg_error_at(v, path, "expected a number of %s, found %s", r->unit,
                     cfg_kind_of(j));
        return 0;
    }
    double d = json_number_value(j);
    if (!in_range(r, d)) {
        cfg_error_at(v, path, "%s must be %s %s",
                     r->noun ? r->noun : key_of(r), range_text(r, v->pool),
                     r->unit);
        return 0;
    }
    if (whole)
        *(long *)field = (long)json_integer_value(j);
    else
        *(double *)field = d;
    return 1;
}

static int parse_word(cfg_ctx_t *v, const berth_setting_t *r, json_t *j,
                      const char *path, int *out)
{
    const char *s = cfg_get_string(v, j, path, 0);
    if (!s)
        return 0;
    for (const berth_setting_word_t *w = r->words; w->word; w++) {
        if (strcmp(s, w->word) == 0) {
            *out = w->value;
            return 1;
        }
    }
    cfg_error_at(v, path, "\"%s\" is not %s; use %s", s, r->noun,
                 words_text(r, "\"", 1, v->pool));
    return 0;
}

static int store_text(void *field, const char *s)
{
    if (s)
        *(const char **)field = s;
    return s != NULL;
}

void cfg_parse_setting(cfg_ctx_t *v, const berth_setting_t *r, json_t *value,
                       const char *path, void *base, int server)
{
    void *field = field_of(r, base, server);
    int ok;
    switch (r->type) {
    case BERTH_SETTING_BOOL:
        ok = cfg_get_bool(v, value, path, field);
        break;
    case BERTH_SETTING_INT:
    case BERTH_SETTING_COUNT:
    case BERTH_SETTING_SECONDS:
        ok = parse_number(v, r, value, path, field);
        break;
    case BERTH_SETTING_WORD:
        ok = parse_word(v, r, value, path, field);
        break;
    case BERTH_SETTING_STRING:
        ok = store_text(field, cfg_get_string(v, value, path, 1));
        break;
    case BERTH_SETTING_SIZE:
        ok = store_text(field, cfg_get_size(v, value, path, r->example));
        break;
    case BERTH_SETTING_CPUS:
        ok = store_text(field, cfg_get_cpus(v, value, path));
        break;
    case BERTH_SETTING_NETWORK:
        ok = store_text(field, cfg_get_network(v, value, path));
        break;
    default:
        ok = r->parse(v, value, path, field, base);
        break;
    }
    if (ok)
        *given_of(base, server) |= bit_of(r);
}

void cfg_parse_section(cfg_ctx_t *v, json_t *j, const char *path,
                       const char *section, int server, void *base,
                       const char *what)
{
    const char *key;
    json_t *val;
    if (!cfg_want_type(v, j, path, JSON_OBJECT, "an object"))
        return;
    cfg_check_keys(v, j, path, section_keys(section, server, v->pool), what,
                   0);
    json_object_foreach(j, key, val) {
        const berth_setting_t *r = find(section, key, server);
        if (r)
            cfg_parse_setting(v, r, val,
                              berth_jsonpath_member(v->pool, path, key), base,
                              server);
    }
}

/* ---- defaults ----------------------------------------------------------- */

static size_t value_size(const berth_setting_t *r)
{
    switch (r->type) {
    case BERTH_SETTING_BOOL:
    case BERTH_SETTING_COUNT:
    case BERTH_SETTING_WORD:
        return sizeof(int);
    case BERTH_SETTING_INT:
        return sizeof(long);
    case BERTH_SETTING_SECONDS:
        return sizeof(double);
    case BERTH_SETTING_LIST:
    case BERTH_SETTING_MAP:
        return sizeof(apr_array_header_t *);
    default:
        return sizeof(const char *);
    }
}

/* Lists and maps have no default to write: a config starts them empty, or
 * NULL when their reader tells "unset" from "empty". */
static void set_default(const berth_setting_t *r, void *field,
                        berth_config_t *cfg, apr_pool_t *pool)
{
    switch (r->type) {
    case BERTH_SETTING_BOOL:
    case BERTH_SETTING_COUNT:
    case BERTH_SETTING_WORD:
        *(int *)field = (int)r->def_num;
        break;
    case BERTH_SETTING_INT:
        *(long *)field = (long)r->def_num;
        break;
    case BERTH_SETTING_SECONDS:
        *(double *)field = r->def_num;
        break;
    case BERTH_SETTING_LISTEN:
        cfg_set_listen(cfg, r->def_text, pool);
        break;
    case BERTH_SETTING_LIST:
    case BERTH_SETTING_MAP:
        break;
    default:
        *(const char **)field = r->def_text;
        break;
    }
}

void cfg_apply_defaults(berth_config_t *cfg, apr_pool_t *pool)
{
    for (const berth_setting_t *r = settings; r->name; r++)
        if ((r->flags & GLOBAL) && !(r->flags & AS_GIVEN) &&
            !(cfg->given & bit_of(r)))
            set_default(r, field_of(r, cfg, 0), cfg, pool);
    for (int i = 0; i < cfg->servers->nelts; i++) {
        berth_server_config_t *s =
            APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *);
        for (const berth_setting_t *r = settings; r->name; r++) {
            if (!(r->flags & SERVER) || (r->flags & AS_GIVEN) ||
                (s->given & bit_of(r)))
                continue;
            if (r->flags & GLOBAL)
                memcpy(field_of(r, s, 1), field_of(r, cfg, 0),
                       value_size(r));
            else
                set_default(r, field_of(r, s, 1), cfg, pool);
        }
    }
}

/* ---- what other modules ask --------------------------------------------- */

static int is_text(const berth_setting_t *r)
{
    switch (r->type) {
    case BERTH_SETTING_STRING:
    case BERTH_SETTING_SIZE:
    case BERTH_SETTING_CPUS:
    case BERTH_SETTING_NETWORK:
    case BERTH_SETTING_LISTEN:
        return 1;
    default:
        return 0;
    }
}

double berth_config_default_number(const char *name)
{
    const berth_setting_t *r = berth_config_setting(name);
    return r ? r->def_num : 0;
}

const char *berth_config_default_text(const char *name)
{
    const berth_setting_t *r = berth_config_setting(name);
    return r ? r->def_text : NULL;
}

int berth_config_given(const berth_config_t *cfg, const char *name)
{
    const berth_setting_t *r = berth_config_setting(name);
    return r && (r->flags & GLOBAL) && (cfg->given & bit_of(r)) != 0;
}

int berth_config_server_given(const berth_server_config_t *s,
                              const char *name)
{
    const berth_setting_t *r = berth_config_setting(name);
    return r && (r->flags & SERVER) && (s->given & bit_of(r)) != 0;
}

double berth_config_number(const berth_config_t *cfg, const char *name)
{
    const berth_setting_t *r = berth_config_setting(name);
    if (!r || !(r->flags & GLOBAL))
        return 0;
    if ((r->flags & AS_GIVEN) && !(cfg->given & bit_of(r)))
        return r->def_num;
    const void *field = field_of(r, cfg, 0);
    switch (r->type) {
    case BERTH_SETTING_BOOL:
    case BERTH_SETTING_COUNT:
    case BERTH_SETTING_WORD:
        return *(const int *)field;
    case BERTH_SETTING_INT:
        return (double)*(const long *)field;
    case BERTH_SETTING_SECONDS:
        return *(const double *)field;
    default:
        return 0;
    }
}

const char *berth_config_text(const berth_config_t *cfg, const char *name)
{
    const berth_setting_t *r = berth_config_setting(name);
    if (!r || !(r->flags & GLOBAL) || !is_text(r))
        return NULL;
    const char *s = *(const char *const *)field_of(r, cfg, 0);
    return s ? s : r->def_text;
}

const char *berth_config_value_text(const berth_config_t *cfg,
                                    const berth_setting_t *row,
                                    apr_pool_t *pool)
{
    if (!(row->flags & GLOBAL))
        return NULL;
    return value_text(row, field_of(row, cfg, 0),
                      (cfg->given & bit_of(row)) != 0, pool);
}

/* ---- reload ------------------------------------------------------------- */

static int restart_only(const berth_setting_t *r)
{
    return (r->flags & GLOBAL) && !(r->flags & LIVE);
}

apr_array_header_t *berth_config_restart_only_changes(
    const berth_config_t *running, const berth_config_t *loaded,
    apr_pool_t *pool)
{
    apr_array_header_t *out = apr_array_make(pool, 4,
                                             sizeof(berth_config_change_t));
    for (const berth_setting_t *r = settings; r->name; r++) {
        if (!restart_only(r))
            continue;
        const char *was = berth_config_value_text(running, r, pool);
        const char *now = berth_config_value_text(loaded, r, pool);
        if (strcmp(was, now) == 0)
            continue;
        berth_config_change_t *c = apr_array_push(out);
        c->setting = r;
        c->was = was;
        c->now = now;
    }
    return out;
}

void berth_config_keep_restart_only(berth_config_t *loaded,
                                    const berth_config_t *running)
{
    for (const berth_setting_t *r = settings; r->name; r++) {
        if (!restart_only(r))
            continue;
        memcpy(field_of(r, loaded, 0), field_of(r, running, 0),
               value_size(r));
        loaded->given = (loaded->given & ~bit_of(r)) |
                        (running->given & bit_of(r));
        if (r->type == BERTH_SETTING_LISTEN) {
            loaded->listen_host = running->listen_host;
            loaded->listen_port = running->listen_port;
            loaded->listen_loopback = running->listen_loopback;
        }
    }
}

/* ---- documentation ------------------------------------------------------ */

static const char *type_text(const berth_setting_t *r, apr_pool_t *pool)
{
    switch (r->type) {
    case BERTH_SETTING_BOOL: return "boolean";
    case BERTH_SETTING_INT:
    case BERTH_SETTING_COUNT:
        return apr_psprintf(pool, "integer (%s), %s", r->unit,
                            range_text(r, pool));
    case BERTH_SETTING_SECONDS:
        return apr_psprintf(pool, "seconds, %s", range_text(r, pool));
    case BERTH_SETTING_WORD: return words_text(r, "`", 0, pool);
    case BERTH_SETTING_STRING: return "string";
    case BERTH_SETTING_SIZE:
        return apr_psprintf(pool, "size, like `%s`", r->example);
    case BERTH_SETTING_CPUS: return "number of CPUs, like `1.5`";
    case BERTH_SETTING_NETWORK: return "Docker network";
    case BERTH_SETTING_LISTEN: return "address";
    case BERTH_SETTING_LIST: return "array of strings";
    case BERTH_SETTING_MAP: return "object of strings";
    }
    return "?";
}

/* "global", "server", "global, server"; the name in a server entry when
 * it differs. */
static const char *where_text(const berth_setting_t *r, apr_pool_t *pool)
{
    static const char iso[] = "docker_isolation.";
    const char *in_server =
        strncmp(r->name, iso, sizeof iso - 1) == 0
            ? apr_psprintf(pool, " (`isolation.%s`)", r->name + sizeof iso - 1)
            : "";
    if (!(r->flags & SERVER))
        return "global";
    return apr_pstrcat(pool, r->flags & GLOBAL ? "global, " : "", "server",
                       in_server, NULL);
}

const char *berth_setting_doc_line(const berth_setting_t *r, apr_pool_t *pool)
{
    const char *def = default_text(r, pool);
    return apr_psprintf(pool, "| `%s` | %s | %s | %s | %s | %s |", r->name,
                        type_text(r, pool),
                        def ? apr_psprintf(pool, "`%s`", def) : r->unset,
                        where_text(r, pool),
                        r->flags & LIVE ? "live" : "restart", r->doc);
}
