/* The config file: mcpServers as Claude Desktop, Cursor and VS Code write it,
 * plus berth's own sections. Loading validates everything and reports every
 * problem with file, line, column and JSON path; secrets never appear in a
 * message. See docs/config.md. */
#ifndef BERTH_CONFIG_H
#define BERTH_CONFIG_H

#include <stdint.h>

#include <apr_pools.h>
#include <apr_tables.h>

#include "jsonpos.h"

/* Larger is not a config file (a limit on the file, not a setting). */
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

/* The isolation settings a section gave; unset fields are NULL / UNSET / -1.
 * The hardening switches have defaults instead: a config holds the value in
 * force (a server's own, else the global one, else the default). */
typedef struct {
    berth_isolation_mode_t mode;
    int enabled;                     /* legacy boolean: -1 unset, 0, 1 */
    const char *image;               /* per server only */
    const char *network_mode;
    const char *memory_limit;
    const char *cpu_limit;
    apr_array_header_t *extra_args;  /* const char *; NULL when unset */
    int no_new_privileges;           /* --security-opt no-new-privileges */
    int cap_drop_all;                /* --cap-drop ALL */
    int init;                        /* --init */
    long pids_limit;                 /* --pids-limit; 0: none */
} berth_isolation_t;

/* Seconds. */
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
    long max_message;            /* bytes, effective */
    berth_textpos_t pos;         /* where the entry's name is */
    uint64_t given;              /* settings the entry gave: see
                                    berth_config_server_given */
} berth_server_config_t;

typedef struct {
    const char *file;
    const char *listen;          /* effective, e.g. "127.0.0.1:8750" */
    const char *listen_host;     /* without brackets */
    unsigned listen_port;
    int listen_loopback;
    berth_isolation_t isolation; /* global docker_isolation */
    apr_array_header_t *images;  /* berth_kv_t: runtime -> image */
    const char *log_max_size;    /* as given: NULL unset (Docker gets it
                                    only when set) */
    int log_max_files;           /* as given: 0 unset */
    apr_array_header_t *env_allow; /* const char *, user additions */
    int env_allow_defaults;      /* effective */
    int forward_proxy_env;       /* effective */
    apr_array_header_t *env_secrets; /* const char *: names (or PREFIX*)
                                        whose values are secrets */
    berth_timeouts_t timeouts;   /* effective global */
    double startup_wait;         /* seconds a request waits for servers
                                    still starting; 0 off */
    berth_namespace_t ns;        /* effective global */
    long max_message;            /* bytes, effective global */
    apr_array_header_t *roots;   /* const char *: file:// URIs; NULL unset */
    double http_session_idle;    /* seconds, effective */
    double http_session_idle_unused; /* seconds, effective */
    long http_max_sessions;      /* effective */
    long http_max_body;          /* bytes, effective */
    double http_read_timeout;    /* seconds, effective */
    long http_max_connections;   /* effective */
    long http_max_connections_per_address; /* effective */
    apr_array_header_t *http_origins; /* const char *, extra allowed Origins;
                                         NULL unset */
    long http_spin_us;           /* microseconds, effective; 0 off */
    const char *servers_key;     /* "mcpServers" or "servers"; NULL if none */
    apr_array_header_t *servers; /* berth_server_config_t *, file order */
    uint64_t given;              /* settings the file gave: see
                                    berth_config_given */
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

/* Whether the N bytes at HOST name this machine's loopback: localhost (any
 * case), an IPv4 address in 127.0.0.0/8, or IPv6's ::1 (in any spelling,
 * or an IPv4 loopback address mapped into IPv6). The one definition: the
 * listen address (whether clients need a token) and the HTTP front's Host
 * and Origin checks use it. */
int berth_config_loopback_host(const char *host, size_t n);

/* Parses a listen address "HOST:PORT" (IPv4, [IPv6] or localhost). Returns
 * NULL on success, else why it does not parse. */
const char *berth_config_parse_listen(const char *text, const char **host,
                                      unsigned *port, int *loopback,
                                      apr_pool_t *pool);

/* Printable forms that never reveal a secret: a URL with its user info and
 * query values replaced by ***. */
const char *berth_config_redact_url(const char *url, apr_pool_t *pool);

/* ---- which configured values are secrets (config_secrets.c) -----------
 *
 * docs/config.md, "Secrets": berth masks these wherever it writes, at any
 * length, and leaves every other value as it is. */

/* Whether a variable named KEY (KEY_LEN bytes) says it holds a secret: a
 * word of the built-in list in its name (TOKEN, SECRET, PASSWORD, KEY as a
 * part of it, AUTH...), or an entry of NAMES (the config's env.secrets;
 * may be NULL), both without regard to case. */
int berth_config_secret_name(const apr_array_header_t *names, const char *key,
                             apr_size_t key_len);

/* Whether VALUE looks like a token whatever its name: a known token
 * prefix (ghp_, sk-, AKIA, eyJ...), a long mixed-case run of letters and
 * digits, a long hex string, or an Authorization scheme and its token. */
int berth_config_token_like(const char *value);

/* Whether the variable KEY=VALUE is a secret: its name says so or its value
 * looks like a token, unless the value is a switch (shorter than 3
 * characters, or true, false, yes, no, on, off), which hides nothing. */
int berth_config_secret_env(const apr_array_header_t *names, const char *key,
                            apr_size_t key_len, const char *value);

/* Appends to OUT (const char *) SRV's secrets: every header value that is
 * not a switch, and each env value berth_config_secret_env says is one
 * (NAMES from CFG, which may be NULL). */
void berth_config_server_secrets(const berth_config_t *cfg,
                                 const berth_server_config_t *srv,
                                 apr_array_header_t *out);

const char *berth_transport_name(berth_transport_t t);
const char *berth_namespace_name(berth_namespace_t ns);

/* ---- the settings: one row each (config_schema.c) ----------------------
 *
 * Every setting of berth's own sections, and the ones a server entry may
 * override, is a row: its name, type, bounds, default, where a config
 * stores it, whether a reload applies it, and a line of documentation.
 * One generic parser reads every scalar row; a loaded config holds the
 * effective values (the file's, else the default), except for rows marked
 * BERTH_SETTING_AS_GIVEN. docs/config.md has one table line per row
 * (berth_setting_doc_line; a unit test compares them). */

typedef enum {
    BERTH_SETTING_BOOL,    /* int: 0 or 1 (-1 unset, when AS_GIVEN) */
    BERTH_SETTING_INT,     /* long: a whole number of UNIT */
    BERTH_SETTING_COUNT,   /* int: a whole number, or a string of digits */
    BERTH_SETTING_SECONDS, /* double */
    BERTH_SETTING_WORD,    /* an enum: the value of one of WORDS */
    BERTH_SETTING_STRING,  /* const char *, not empty */
    BERTH_SETTING_SIZE,    /* const char *: Docker's size syntax, "512m" */
    BERTH_SETTING_CPUS,    /* const char *: a number of CPUs, "1.5" */
    BERTH_SETTING_NETWORK, /* const char *: a Docker network name */
    BERTH_SETTING_LISTEN,  /* const char *: HOST:PORT (and listen_host,
                              listen_port, listen_loopback) */
    BERTH_SETTING_LIST,    /* apr_array_header_t * of const char * */
    BERTH_SETTING_MAP      /* apr_array_header_t * of berth_kv_t */
} berth_setting_type_t;

/* Where a setting is written: in berth's sections, in a server entry (the
 * docker_isolation.* rows there under "isolation"), or both; a server
 * that does not set it inherits the global value. */
#define BERTH_SETTING_GLOBAL 0x01u
#define BERTH_SETTING_SERVER 0x02u
/* A reload (SIGHUP) applies it, by restarting the servers whose settings
 * changed; without it, a change takes effect when berth restarts. */
#define BERTH_SETTING_LIVE 0x04u
/* The config keeps it unset when the file leaves it out (0, -1, NULL,
 * UNSET): the code that reads it resolves what that means (isolation's
 * precedence; Docker's log options only when given). The default is what
 * berth does then. */
#define BERTH_SETTING_AS_GIVEN 0x08u
/* Numbers: MIN itself is out of range. */
#define BERTH_SETTING_MIN_EXCLUSIVE 0x10u

typedef struct {
    const char *word;
    int value;
    const char *note;  /* what it means, for messages; NULL: obvious */
} berth_setting_word_t;

struct berth_cfgparse;  /* config*.c's parsing state */
struct json_t;

typedef struct berth_setting_t berth_setting_t;
struct berth_setting_t {
    const char *name;       /* "http.max_body"; top-level keys have no "." */
    berth_setting_type_t type;
    unsigned flags;         /* BERTH_SETTING_* */
    double min, max;        /* numbers: the range */
    double def_num;         /* numbers, booleans (0, 1), words (the value) */
    const char *def_text;   /* strings: the default; NULL: none */
    const char *unset;      /* what no value means, when there is no default
                               value ("no limit") */
    size_t global_off;      /* offsetof(berth_config_t, ...), when GLOBAL */
    size_t server_off;      /* offsetof(berth_server_config_t, ...), when
                               SERVER */
    const char *unit;       /* numbers: "bytes" */
    const char *noun;       /* messages name it so; NULL: by its key */
    const char *zero;       /* what 0 means ("off"), when it is in range */
    const berth_setting_word_t *words; /* WORD: ends with a NULL word */
    const char *example;    /* SIZE: "512m" */
    /* LISTEN, LIST, MAP: the hand-written parser of config*.c. It stores
     * into FIELD (in BASE, a config or a server) and says 1 when it took
     * the value. */
    int (*parse)(struct berth_cfgparse *p, struct json_t *value,
                 const char *path, void *field, void *base);
    const char *doc;        /* one line, Markdown */
};

/* Every row, in documentation order; the last has a NULL name. */
const berth_setting_t *berth_config_settings(void);
/* The row called NAME ("http.session_idle"), or NULL. */
const berth_setting_t *berth_config_setting(const char *name);

/* NAME's default, for a module given no config: a number (numbers, 0 or 1
 * for booleans, a word's value), or a string's text (NULL: none). NAME must
 * be a row's name. */
double berth_config_default_number(const char *name);
const char *berth_config_default_text(const char *name);

/* Whether the file set NAME: in berth's sections, or in server S. */
int berth_config_given(const berth_config_t *cfg, const char *name);
int berth_config_server_given(const berth_server_config_t *s,
                              const char *name);

/* The value in force: the file's, else the default (for AS_GIVEN rows as
 * well). NUMBER for numeric, boolean and word rows; TEXT for strings. */
double berth_config_number(const berth_config_t *cfg, const char *name);
const char *berth_config_text(const berth_config_t *cfg, const char *name);

/* ROW's global value in CFG as a reader sees it: 1800, true, prefix,
 * ["https://a"]; the default's text when unset; NULL for a row that is not
 * GLOBAL. */
const char *berth_config_value_text(const berth_config_t *cfg,
                                    const berth_setting_t *row,
                                    apr_pool_t *pool);

typedef struct {
    const berth_setting_t *setting;
    const char *was;    /* the value in force */
    const char *now;    /* the new file's */
} berth_config_change_t;

/* The settings a reload does not apply (no BERTH_SETTING_LIVE) whose value
 * differs between RUNNING and LOADED, as berth_config_change_t, in table
 * order. No row it compares holds a secret. */
apr_array_header_t *berth_config_restart_only_changes(
    const berth_config_t *running, const berth_config_t *loaded,
    apr_pool_t *pool);

/* Gives LOADED RUNNING's values of those settings, so that the config in
 * force after a reload says what is in force. */
void berth_config_keep_restart_only(berth_config_t *loaded,
                                    const berth_config_t *running);

/* ROW's line in docs/config.md's table of settings:
 * | `name` | type and range | default | where | live or restart | doc | */
const char *berth_setting_doc_line(const berth_setting_t *row,
                                   apr_pool_t *pool);

#endif
