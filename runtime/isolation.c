#include "isolation.h"

#include <string.h>

#include <apr_cstr.h>

int berth_isolation_is_docker_command(const char *command)
{
    const char *b = command;
    for (const char *c = command; *c; c++)
        if (*c == '/' || *c == '\\')
            b = c + 1;
    return strcmp(b, "docker") == 0 || apr_cstr_casecmp(b, "docker.exe") == 0;
}

const char *berth_isolation_mode_name(berth_isolation_mode_t mode)
{
    return mode == BERTH_ISOLATION_DOCKER ? "docker" : "none";
}

berth_isolation_mode_t berth_isolation_effective(const berth_config_t *cfg,
                                                 const berth_server_config_t *s,
                                                 const char **why)
{
    const char *reason;
    berth_isolation_mode_t mode = BERTH_ISOLATION_NONE;
    int global_on = cfg->isolation.mode == BERTH_ISOLATION_DOCKER ||
                    (cfg->isolation.mode == BERTH_ISOLATION_UNSET &&
                     cfg->isolation.enabled == 1);

    if (s->transport != BERTH_TRANSPORT_STDIO) {
        reason = "remote servers are never isolated";
    } else if (s->command && berth_isolation_is_docker_command(s->command)) {
        reason = "the command is docker itself, never isolated again";
    } else if (s->isolation.mode != BERTH_ISOLATION_UNSET) {
        mode = s->isolation.mode;
        reason = "set by the server's isolation.mode";
    } else if (!global_on) {
        reason = s->isolation.enabled == 1
                     ? "the server's isolation.enabled is ignored because "
                       "docker_isolation is off"
                     : "docker_isolation is off";
    } else if (s->isolation.enabled == 0) {
        reason = "the server opts out with isolation.enabled: false";
    } else {
        mode = BERTH_ISOLATION_DOCKER;
        reason = "docker_isolation is on";
    }
    if (why)
        *why = reason;
    return mode;
}
