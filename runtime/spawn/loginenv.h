/* The login shell's environment (docs/spawn.md): captured at most once
 * per process with one shell fork, and, on darwin only, the hydration of
 * berth's own environment from it at start-up. Values are never logged. */
#ifndef BERTH_LOGINENV_H
#define BERTH_LOGINENV_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "hostfacts.h"

#define BERTH_LOGIN_SHELL_TIMEOUT (5 * APR_USEC_PER_SEC)

typedef struct {
    int attempted;
    int captured;
    const char *shell;
    const char *error;          /* why nothing was captured */
    apr_array_header_t *env;    /* "KEY=VALUE" */
    const char *path;           /* the login PATH, or NULL */
} berth_loginenv_t;

/* The bytes between BEGIN and END, split on NUL, keeping records whose key
 * matches [A-Za-z_][A-Za-z0-9_]*. Returns NULL and sets *ENV, or the reason
 * the output was refused (no markers, no NUL: an env without -0). */
const char *berth_loginenv_parse(const char *out, apr_size_t len,
                                 const char *begin, const char *end,
                                 apr_array_header_t **env, apr_pool_t *pool);

/* Runs `<shell> -l -c "printf '<BEGIN>'; env -0; printf '<END>'"` through
 * FACTS->capture, uncached. Never fails: see ->captured and ->error. */
berth_loginenv_t *berth_loginenv_capture(const berth_hostfacts_t *facts,
                                         apr_interval_time_t timeout,
                                         apr_pool_t *pool);

/* The once-per-process holder: the first get() captures, later ones return
 * the same result. Thread-safe. */
typedef struct berth_loginenv_once_t berth_loginenv_once_t;
berth_loginenv_once_t *berth_loginenv_once_create(apr_pool_t *pool);
const berth_loginenv_t *berth_loginenv_get(berth_loginenv_once_t *once,
                                           const berth_hostfacts_t *facts);
/* What has been captured so far, without capturing (NULL if nothing). */
const berth_loginenv_t *berth_loginenv_peek(berth_loginenv_once_t *once);

/* ---- darwin hydration ---- */

typedef struct {
    const char *name;
    apr_size_t length;  /* of the value set; the value itself is not kept */
} berth_hydrated_key_t;

typedef struct {
    int needed;                 /* the gates said yes */
    int applied;                /* at least one variable changed */
    const char *reason;         /* a sentence for berth doctor */
    apr_array_header_t *keys;   /* berth_hydrated_key_t, PATH first if set */
} berth_hydration_t;

/* The curated keys, set only when absent (NULL-terminated). */
extern const char *const berth_hydration_keys[];

/* Whether darwin hydration should run for FACTS (never off darwin): PATH
 * looks launchd-minimal or a DOCKER_* key is absent. */
int berth_hydration_needed(const berth_hostfacts_t *facts, const char **why);

/* A copy of FACTS->env hydrated from LOGIN (a capture), with REPORT filled.
 * The caller installs it as the process environment. */
apr_array_header_t *berth_hydrate(const berth_hostfacts_t *facts,
                                  const berth_loginenv_t *login,
                                  berth_hydration_t *report, apr_pool_t *pool);

/* 1 when PATH holds neither /usr/local/bin nor /opt/homebrew/bin. */
int berth_path_is_minimal(const berth_hostfacts_t *facts, const char *path);

#endif
