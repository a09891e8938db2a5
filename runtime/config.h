/* The config file: mcpServers as Claude Desktop, Cursor and VS Code write it,
 * plus berth's own sections. Loading validates everything and reports every
 * problem with file, line, column and JSON path; secrets never appear in a
 * message. See docs/config.md. */
#ifndef BERTH_CONFIG_H
#define BERTH_CONFIG_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "jsonpos.h"

#define BERTH_DEFAULT_LISTEN "127.0.0.1:8750"
#define BERTH_DEFAULT_INITIALIZE_TIMEOUT 30.0
#define BERTH_DEFAULT_CALL_TIMEOUT 60.0
#define BERTH_DEFAULT_SHUTDOWN_TIMEOUT 2.0
#define BERTH_CONFIG_MAX_BYTES (4 * 1024 * 1024)

typedef struct {
    const char *key;
    const char *value;
} berth_kv_t;

typedef enum {
    BERTH_ISOLATION_UNSET = 0,
    BERTH_ISOLATION_NONE,
    BERTH_ISOLATION_DOCKER
} berth_isolation_mode_t;

/* The isolation settings a section gave; unset fields are NULL / UNSET / -1. */
typedef struct {
    berth_isolation_mode_t mode;
    int enabled;                     /* legacy boolean: -1 unset, 0, 1 */
    const char *image;               /* per server only */
    const char *network_mode;
    const char *memory_limit;
    const char *cpu_limit;
    apr_array_header_t *extra_args;  /* const char *; NULL when unset */
} berth_isolation_t;

/* Seconds; 0 means "not set here". */
typedef struct {
    double initialize;
    double call;
    double shutdown;
} berth_timeouts_t;

typedef enum {
    BERTH_NAMESPACE_UNSET = 0,
    BERTH_NAMESPACE_PREFIX,
    BERTH_NAMESPACE_NONE
} berth_namespace_t;

typedef enum {
    BERTH_TRANSPORT_STDIO,
    BERTH_TRANSPORT_HTTP,
    BERTH_TRANSPORT_SSE
} berth_transport_t;

typedef struct {
    const char *name;        /* as written in the file */
    const char *norm_name;   /* lower case, [a-z0-9_-] only */
    berth_transport_t transport;
    const char *command;     /* stdio servers */
    apr_array_header_t *args;    /* const char * */
    apr_array_header_t *env;     /* berth_kv_t, file order */
    const char *cwd;             /* NULL: berth's own */
    const char *url;             /* remote servers */
    apr_array_header_t *headers; /* berth_kv_t */
    int disabled;
    berth_isolation_t isolation; /* as given for this server */
    berth_timeouts_t timeouts;   /* effective: server, else global, else default */
    berth_namespace_t ns;        /* effective */
    berth_textpos_t pos;         /* where the entry's name is */
} berth_server_config_t;

typedef struct {
    const char *file;
    const char *listen;          /* effective, e.g. "127.0.0.1:8750" */
    const char *listen_host;     /* without brackets */
    unsigned listen_port;
    int listen_loopback;
    berth_isolation_t isolation; /* global docker_isolation */
    apr_array_header_t *images;  /* berth_kv_t: runtime -> image */
    const char *log_max_size;
    int log_max_files;           /* 0 unset */
    apr_array_header_t *env_allow; /* const char *, user additions */
    int env_allow_defaults;      /* 1 unless "allow_defaults": false */
    int forward_proxy_env;
    berth_timeouts_t timeouts;   /* effective global */
    berth_namespace_t ns;        /* effective global */
    double http_session_idle;    /* seconds; 0 unset (30 minutes) */
    long http_max_body;          /* bytes; 0 unset (4 MiB) */
    apr_array_header_t *http_origins; /* const char *, extra allowed Origins */
    long http_spin_us;           /* microseconds; -1 unset (spin.h's) */
    const char *servers_key;     /* "mcpServers" or "servers"; NULL if none */
    apr_array_header_t *servers; /* berth_server_config_t *, file order */
} berth_config_t;

typedef enum {
    BERTH_DIAG_ERROR,
    BERTH_DIAG_WARNING
} berth_diag_severity_t;

typedef struct {
    berth_diag_severity_t severity;
    const char *file;
    unsigned line;     /* 0 when the problem has no position (unreadable file) */
    unsigned column;
    const char *path;  /* JSON path; "" for the document */
    const char *message;
} berth_diag_t;

/* Reads and validates FILE. DIAGS (berth_diag_t) receives every error and
 * warning, sorted by position. Returns APR_SUCCESS when there is no error,
 * BERTH_ECONFIG otherwise; *OUT is set either way when the JSON parsed. */
apr_status_t berth_config_load(const char *file, berth_config_t **out,
                               apr_array_header_t *diags, apr_pool_t *pool);

/* The same for text in memory; FILE names it in messages. */
apr_status_t berth_config_parse(const char *file, const char *text,
                                size_t len, berth_config_t **out,
                                apr_array_header_t *diags, apr_pool_t *pool);

/* "file:line:col: error: path: message" */
const char *berth_diag_format(const berth_diag_t *d, apr_pool_t *pool);
int berth_diag_count(const apr_array_header_t *diags,
                     berth_diag_severity_t severity);

/* The server called NAME (exact, then normalised match), or NULL. */
const berth_server_config_t *berth_config_find_server(const berth_config_t *cfg,
                                                      const char *name);

/* Lower-cases NAME and maps every character outside [a-z0-9_-] to '_'. Two
 * servers with the same normalised name are a config error. */
const char *berth_config_normalize_name(const char *name, apr_pool_t *pool);

/* The candidate in KNOWN (NULL-terminated) closest to WORD, or NULL when
 * none is close enough to be a plausible typo. */
const char *berth_config_suggest(const char *word, const char *const *known);

/* Parses a listen address "HOST:PORT" (IPv4, [IPv6] or localhost). Returns
 * NULL on success, else why it does not parse. */
const char *berth_config_parse_listen(const char *text, const char **host,
                                      unsigned *port, int *loopback,
                                      apr_pool_t *pool);

/* Printable forms that never reveal a secret: a URL with its user info and
 * query values replaced by ***. */
const char *berth_config_redact_url(const char *url, apr_pool_t *pool);

const char *berth_transport_name(berth_transport_t t);
const char *berth_namespace_name(berth_namespace_t ns);

#endif
