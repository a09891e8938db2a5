/* Host facts: everything the spawn core knows about the machine, gathered by
 * platform/<os>/ for the running OS or built by hand in tests, so every
 * Darwin and Windows rule is decided by the same portable code
 * (docs/spawn.md). */
#ifndef BERTH_HOSTFACTS_H
#define BERTH_HOSTFACTS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

typedef enum {
    BERTH_OS_LINUX,
    BERTH_OS_DARWIN,
    BERTH_OS_WINDOWS,
    BERTH_OS_OTHER
} berth_os_t;

typedef enum {
    BERTH_PROBE_MISSING,
    BERTH_PROBE_DIR,
    BERTH_PROBE_FILE,      /* a regular file without an execute bit */
    BERTH_PROBE_EXEC       /* a regular file with an execute bit (Unix) */
} berth_probe_t;

/* What capture() returns. */
typedef struct {
    int exited;        /* 1 when the process ended by itself */
    int status;        /* its exit status when exited */
    int timed_out;     /* 1 when it was killed (with its group) at the timeout */
    char *out;         /* stdout bytes, NUL-terminated for convenience */
    apr_size_t out_len;
} berth_capture_t;

/* Windows: the folders Windows itself knows (SHGetKnownFolderPath), in
 * UTF-8; NULL where it knows none, and on other OSes. Facts only: what
 * berth makes of them is decided in runtime/winenv.c. */
typedef struct {
    const char *program_files_x64;  /* FOLDERID_ProgramFilesX64 */
    const char *program_files;      /* FOLDERID_ProgramFiles */
    const char *program_data;       /* FOLDERID_ProgramData */
    const char *local_app_data;     /* FOLDERID_LocalAppData */
    const char *profile;            /* FOLDERID_Profile */
    const char *windows;            /* FOLDERID_Windows */
} berth_known_folders_t;

/* A variable berth put into its own environment because the OS gave none
 * (winenv.h: the LocalSystem fallbacks). */
typedef struct {
    const char *name;
    const char *value;
    const char *source;  /* where the value came from, for the plan */
} berth_env_fallback_t;

typedef struct berth_hostfacts_t berth_hostfacts_t;

struct berth_hostfacts_t {
    berth_os_t os;
    /* the process environment, "KEY=VALUE" in order; on Windows keys compare
     * case-insensitively */
    apr_array_header_t *env;
    char path_sep;            /* ':' or ';' */
    char dir_sep;             /* '/' or '\\' */
    const char *home;         /* may be NULL */
    const char *login_shell;  /* $SHELL, passwd, /bin/sh; Windows: ComSpec */
    /* Windows: the user and machine PATH from the registry, expanded (NULL
     * elsewhere or when absent) */
    const char *registry_user_path;
    const char *registry_machine_path;
    berth_known_folders_t known_folders;
    /* berth_env_fallback_t: what berth_winenv_fill added to ENV (NULL or
     * empty when nothing) */
    apr_array_header_t *env_fallbacks;

    berth_probe_t (*probe)(const berth_hostfacts_t *facts, const char *path);
    /* Runs ARGV (argv[0] an absolute path or a name searched on ENV's PATH)
     * with ENV ("KEY=VALUE"; NULL: the facts' environment), stdin empty,
     * stderr discarded; kills the whole process group / job when TIMEOUT
     * passes. On Windows COMMAND_LINE, when not NULL, is the exact
     * CreateProcess line (a cmd.exe wrap cannot be rebuilt from argv). */
    apr_status_t (*capture)(const berth_hostfacts_t *facts,
                            const char *const *argv, const char *command_line,
                            const apr_array_header_t *env,
                            apr_interval_time_t timeout, berth_capture_t *out,
                            apr_pool_t *pool);
    apr_time_t (*now)(const berth_hostfacts_t *facts); /* monotonic */
    void *baton;              /* for fakes */
};

/* The last non-empty line of a capture's output, trimmed (rc files print
 * banners before the answer); "" when there is none. Edits OUT in place. */
const char *berth_capture_last_line(berth_capture_t *out);

/* Facts for the running machine: what platform/<os>/hostfacts.c reports
 * (berth_platform_hostfacts), completed by the rules that make berth's own
 * environment whole (on Windows the LocalSystem fallbacks, winenv.h). */
apr_status_t berth_hostfacts_real(berth_hostfacts_t **out, apr_pool_t *pool);

/* Environment lookups with the OS's key rule. NULL when absent. */
const char *berth_env_get(const berth_hostfacts_t *facts,
                          const apr_array_header_t *env, const char *key);
int berth_env_key_eq(const berth_hostfacts_t *facts, const char *a,
                     apr_size_t alen, const char *b);
/* Sets KEY=VALUE in ENV, replacing an existing entry in place (keeping its
 * position) or appending. */
void berth_env_set(const berth_hostfacts_t *facts, apr_array_header_t *env,
                   const char *key, const char *value);
/* Value of ENTRY ("KEY=VALUE") and its key length. */
const char *berth_env_value(const char *entry, apr_size_t *key_len);

const char *berth_os_name(berth_os_t os);

/* berth's private state folder (tokens, logs, cidfiles): $BERTH_STATE_DIR
 * when it is an absolute path (a service sets it), else the platform's
 * place for this user (berth_platform_state_dir). */
const char *berth_state_dir(const berth_hostfacts_t *facts, apr_pool_t *pool);

/* Splits a PATH-like list on the facts' separator, dropping empty items. */
apr_array_header_t *berth_path_split(const berth_hostfacts_t *facts,
                                     const char *list, apr_pool_t *pool);
const char *berth_path_join(const berth_hostfacts_t *facts,
                            const apr_array_header_t *dirs, apr_pool_t *pool);
/* DIR + separator + NAME. */
const char *berth_path_child(const berth_hostfacts_t *facts, const char *dir,
                             const char *name, apr_pool_t *pool);
int berth_path_is_absolute(const berth_hostfacts_t *facts, const char *path);
const char *berth_path_basename(const char *path);
const char *berth_path_dirname(const char *path, apr_pool_t *pool);

#endif
