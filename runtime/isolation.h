/* Which isolation a server gets, from the global and per-server settings
 * (the precedence in docs/config.md and ARCHITECTURE.md). */
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

/* The image for an isolated server: its own isolation.image, else the
 * configured image for its runtime (also under the names uvx / npx), else
 * berth's default for that runtime. */
const char *berth_isolation_image(const berth_config_t *cfg,
                                  const berth_server_config_t *s);

#endif
