/* The child environment (docs/spawn.md): a child never inherits
 * berth's whole environment. */
#ifndef BERTH_ENVSET_H
#define BERTH_ENVSET_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "config.h"
#include "hostfacts.h"
#include "loginenv.h"

typedef struct {
    const berth_hostfacts_t *facts;
    const apr_array_header_t *process_env;  /* berth's (hydrated) env */
    const berth_config_t *cfg;              /* env.allow & co; may be NULL */
    const apr_array_header_t *server_env;   /* berth_kv_t; NULL when the
                                               values go into a container */
    const berth_loginenv_t *login;          /* for PATH enhancement; may be
                                               NULL or not captured */
    const char *docker_dir;                 /* a verified docker's folder to
                                               prepend to PATH, or NULL */
} berth_envset_in_t;

/* The allow-list in force: the built-in list for FACTS' OS (unless the config
 * drops it), the DOCKER_* keys always, then the config's additions. */
apr_array_header_t *berth_envset_allowlist(const berth_hostfacts_t *facts,
                                           const berth_config_t *cfg,
                                           apr_pool_t *pool);
/* Whether KEY (KEY_LEN bytes) matches an entry of ALLOW ("NAME" exactly or
 * "PREFIX*"), with the OS's case rule. */
int berth_envset_allowed(const berth_hostfacts_t *facts,
                         const apr_array_header_t *allow, const char *key,
                         apr_size_t key_len);

/* A proxy URL without its user:password@ part (schemeful or not), trimmed. */
const char *berth_envset_strip_credentials(const char *value,
                                           apr_pool_t *pool);

/* 1 when PATH holds a directory where tools usually live (/usr/local/bin,
 * /opt/homebrew/bin; Windows: Docker's resources\bin). */
int berth_envset_path_has_tool_dir(const berth_hostfacts_t *facts,
                                   const char *path);

/* The full child environment ("KEY=VALUE"): the allow-listed part of
 * PROCESS_ENV, the server's env over it, PATH enhancement, docker's folder
 * first on PATH, the proxies on request, and on Windows the variables every
 * program gets (winenv.h). REASONS (const char *, may be NULL) receives a
 * sentence for every decision worth explaining. */
apr_array_header_t *berth_envset_build(const berth_envset_in_t *in,
                                       apr_array_header_t *reasons,
                                       apr_pool_t *pool);

#endif
