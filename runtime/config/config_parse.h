/* What the config*.c files share while they read a config file; nothing
 * outside them includes this. The names start with cfg_ (libuv's uv__
 * convention for a module's internals, shortened): each file keeps its own
 * helpers static and unprefixed.
 *
 *   config.c         loading, the top level, the sections' hand-written
 *                    parts (listen, lists, images) and the server list
 *   config_server.c  one server entry (command, url, type, the warnings)
 *   config_schema.c  the table of settings and the generic parser
 *   config_values.c  value formats: strings, arrays, secret maps, listen
 *                    addresses, sizes, CPUs, networks, URLs
 *   config_diag.c    messages, suggestions, unknown keys */
#ifndef BERTH_CONFIG_PARSE_H
#define BERTH_CONFIG_PARSE_H

#include <jansson.h>

#include "config.h"
#include "log.h"

struct berth_cfgparse {
    apr_pool_t *pool;
    const char *file;
    const berth_jsonpos_t *pos;
    apr_array_header_t *diags;
    int errors;
};
typedef struct berth_cfgparse cfg_ctx_t;

/* ---- messages (config_diag.c) ------------------------------------------ */

/* PATH finds the position; SHOWN (when not NULL) is what the message
 * prints instead, for a path that would reveal a secret. AT_KEY: at the
 * member's key rather than its value. */
void cfg_report(cfg_ctx_t *v, berth_diag_severity_t sev, const char *path,
                const char *shown, int at_key, const char *fmt, ...)
    BERTH_PRINTF(6, 7);
/* An error at the value found at PATH. */
void cfg_error_at(cfg_ctx_t *v, const char *path, const char *fmt, ...)
    BERTH_PRINTF(3, 4);
/* An error at the key of the member at PATH. */
void cfg_error_key(cfg_ctx_t *v, const char *path, const char *fmt, ...)
    BERTH_PRINTF(3, 4);
void cfg_warn_key(cfg_ctx_t *v, const char *path, const char *fmt, ...)
    BERTH_PRINTF(3, 4);
void cfg_warn_at(cfg_ctx_t *v, const char *path, const char *fmt, ...)
    BERTH_PRINTF(3, 4);

/* "an object", "a string", "a number", ... */
const char *cfg_kind_of(const json_t *j);

int cfg_known_key(const char *key, const char *const *known);
/* Reports every key of OBJ not in KNOWN (NULL-terminated), with a
 * suggestion; WHAT names the object ("http"). A SERVER_ENTRY's keys that
 * other clients write for themselves are warnings. Returns how many were
 * errors. */
int cfg_check_keys(cfg_ctx_t *v, json_t *obj, const char *path,
                   const char *const *known, const char *what,
                   int server_entry);

/* ---- value formats (config_values.c): each reports its own error ------- */

/* Whether J has TYPE (JSON_TRUE stands for both booleans); else an error
 * "expected WANTED, found ...". */
int cfg_want_type(cfg_ctx_t *v, json_t *j, const char *path, json_type type,
                  const char *wanted);
/* A copy of the string, or NULL (reported). NONEMPTY: blank is an error. */
const char *cfg_get_string(cfg_ctx_t *v, json_t *j, const char *path,
                           int nonempty);
int cfg_get_bool(cfg_ctx_t *v, json_t *j, const char *path, int *out);
/* const char *; the elements that are strings, NULL when J is no array. */
apr_array_header_t *cfg_get_string_array(cfg_ctx_t *v, json_t *j,
                                         const char *path);
/* An object of string values that may be secret (env; HEADERS: HTTP
 * headers): berth_kv_t, in file order; a message names the key, never the
 * value. */
apr_array_header_t *cfg_get_secret_map(cfg_ctx_t *v, json_t *j,
                                       const char *path, int headers);
/* A warning when VALUE holds a VS Code variable berth does not expand. */
void cfg_check_placeholder(cfg_ctx_t *v, const char *path, const char *shown,
                           const char *value);
/* Docker's size ("512m", or a number of bytes); EXAMPLE shows the form. */
const char *cfg_get_size(cfg_ctx_t *v, json_t *j, const char *path,
                         const char *example);
const char *cfg_get_cpus(cfg_ctx_t *v, json_t *j, const char *path);
const char *cfg_get_network(cfg_ctx_t *v, json_t *j, const char *path);
/* An http:// or https:// URL with a host and no blank. */
int cfg_url_ok(const char *url);

/* ---- the table (config_schema.c) ---------------------------------------- */

/* Parses VALUE at PATH as ROW into BASE (a berth_config_t, or a
 * berth_server_config_t when SERVER) and records it as given. */
void cfg_parse_setting(cfg_ctx_t *v, const berth_setting_t *row,
                       json_t *value, const char *path, void *base,
                       int server);
/* The object J at PATH holds SECTION's settings ("timeouts"; a server's
 * "isolation" is "docker_isolation"); WHAT names it in messages. Unknown
 * keys are errors; each known one goes to cfg_parse_setting. */
void cfg_parse_section(cfg_ctx_t *v, json_t *j, const char *path,
                       const char *section, int server, void *base,
                       const char *what);
/* The top-level setting KEY ("listen", "namespace"; in a server entry
 * "disabled" too), or NULL. */
const berth_setting_t *cfg_top_setting(const char *key, int server);
/* Whether SECTION ("http") has settings at the top level. */
int cfg_is_section(const char *section);
/* Fills what the file left out: the defaults, and in each server what it
 * inherits from the global settings. */
void cfg_apply_defaults(berth_config_t *cfg, apr_pool_t *pool);

/* ---- the sections' hand-written parts (config.c) ----------------------- */

/* The parse hooks of the rows that need one (berth_setting_t.parse). */
int cfg_parse_listen(cfg_ctx_t *v, json_t *value, const char *path,
                     void *field, void *base);
int cfg_parse_env_allow(cfg_ctx_t *v, json_t *value, const char *path,
                        void *field, void *base);
int cfg_parse_roots(cfg_ctx_t *v, json_t *value, const char *path,
                    void *field, void *base);
int cfg_parse_origins(cfg_ctx_t *v, json_t *value, const char *path,
                      void *field, void *base);
int cfg_parse_images(cfg_ctx_t *v, json_t *value, const char *path,
                     void *field, void *base);
int cfg_parse_extra_args(cfg_ctx_t *v, json_t *value, const char *path,
                         void *field, void *base);
/* Sets CFG's listen address to TEXT, which must parse. */
void cfg_set_listen(berth_config_t *cfg, const char *text, apr_pool_t *pool);
/* The warnings for "enabled" and "mode" that disagree, and for values in
 * extra_args' -e flags, in the isolation object at PATH. */
void cfg_check_isolation(cfg_ctx_t *v, const char *path,
                         const berth_isolation_t *iso);

/* ---- a server entry (config_server.c) ----------------------------------- */

void cfg_parse_server(cfg_ctx_t *v, json_t *j, const char *path,
                      berth_server_config_t *s, const berth_config_t *cfg);

/* A warning at every "-e NAME=value" of ARGS (the list at PATH; also
 * --env NAME=value, -eNAME=value, --env=NAME=value): docker gets the value
 * on its command line, where every local user can read it. EXTRA: ARGS are
 * extra_args (the fix is the server's env), else a docker run command's
 * (the fix is -e NAME there, the value in env). */
void cfg_warn_env_values(cfg_ctx_t *v, const char *path,
                         const apr_array_header_t *args, int extra);

#endif
