/* Which isolation a server gets, from the global and per-server settings
 * (the precedence in docs/config.md). */
#ifndef BERTH_ISOLATION_H
#define BERTH_ISOLATION_H

#include "config.h"

/* The mode server S runs in; *WHY (optional) gets a one-sentence reason. */
berth_isolation_mode_t berth_isolation_effective(const berth_config_t *cfg,
                                                 const berth_server_config_t *s,
                                                 const char **why);

/* 1 when the command's basename is docker or docker.exe. */
int berth_isolation_is_docker_command(const char *command);

const char *berth_isolation_mode_name(berth_isolation_mode_t mode);

/* The runtime a command needs inside a container ("python", "node", "go",
 * "rust", "ruby", "php" or "base"), from its basename. */
const char *berth_isolation_runtime(const char *command);

/* The hardening flags of server S, in this order, each when its setting
 * (the server's isolation, else docker_isolation, else the default: on)
 * says so: --security-opt no-new-privileges, --cap-drop ALL, --init,
 * --pids-limit N. *WHY (optional) gets the sentence the plan shows: what is
 * on and what is off, each with the setting that decided it. */
apr_array_header_t *berth_isolation_hardening(const berth_config_t *cfg,
                                              const berth_server_config_t *s,
                                              const char **why,
                                              apr_pool_t *pool);

/* The docker argv (after "docker") that isolates server S, without the
 * cidfile (the plan inserts it after "run"):
 *   run --rm -i --name berth-<name>-<token> --label io.berth.managed=true
 *   --label io.berth.server=<name> --label io.berth.instance=<instance>
 *   [--log-driver json-file --log-opt max-size=.. --log-opt max-file=..]
 *   <the hardening flags> [--network ..]
 *   [--memory ..] [--cpus ..] [--workdir <cwd>] <ENV>
 *   <global extra_args> <server extra_args> IMAGE COMMAND ARGS...
 * Settings come from the server's isolation, else docker_isolation. ENV
 * (may be NULL) is the -e flags for the server's env, as the plan decided
 * them (-e NAME, the value in docker's own environment). */
apr_array_header_t *berth_isolation_docker_args(const berth_config_t *cfg,
                                                const berth_server_config_t *s,
                                                const char *instance,
                                                const char *token,
                                                const apr_array_header_t *env,
                                                apr_pool_t *pool);

/* 1 when the docker client itself reads the variable NAME (DOCKER_HOST,
 * DOCKER_CONFIG, HOME, PATH, the proxies, LD_*, ...; docs/isolation.md):
 * a container's value for it cannot ride in the client's environment
 * without changing what the client does. FOLD_CASE: compare without regard
 * to case (Windows); the proxies compare so everywhere. */
int berth_isolation_docker_reads(const char *name, int fold_case);

/* A container name for server NAME: berth-<name>-<token>, with every
 * character Docker refuses replaced, at most 128 characters. */
const char *berth_isolation_container_name(const char *name,
                                           const char *token,
                                           apr_pool_t *pool);

/* The image for an isolated server: its own isolation.image, else the
 * configured image for its runtime (also under the names uvx / npx), else
 * berth's default for that runtime. */
const char *berth_isolation_image(const berth_config_t *cfg,
                                  const berth_server_config_t *s);

#endif
