#include "isolation.h"

#include <string.h>

#include <apr_cstr.h>
#include <apr_strings.h>

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

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

const char *berth_isolation_runtime(const char *command)
{
    char name[64];
    const char *b = command;
    for (const char *c = command; *c; c++)
        if (*c == '/' || *c == '\\')
            b = c + 1;
    apr_cpystrn(name, b, sizeof name);
    size_t n = strlen(name);
    if (n > 4 && (apr_cstr_casecmp(name + n - 4, ".exe") == 0 ||
                  apr_cstr_casecmp(name + n - 4, ".cmd") == 0))
        name[n - 4] = '\0';
    if (strcmp(name, "uvx") == 0 || strcmp(name, "uv") == 0 ||
        starts(name, "python") || starts(name, "pip") ||
        strcmp(name, "pipx") == 0)
        return "python";
    if (strcmp(name, "npx") == 0 || strcmp(name, "node") == 0 ||
        strcmp(name, "npm") == 0 || strcmp(name, "yarn") == 0 ||
        strcmp(name, "pnpm") == 0 || strcmp(name, "bunx") == 0)
        return "node";
    if (strcmp(name, "go") == 0)
        return "go";
    if (strcmp(name, "cargo") == 0)
        return "rust";
    if (strcmp(name, "ruby") == 0 || strcmp(name, "gem") == 0 ||
        strcmp(name, "bundle") == 0)
        return "ruby";
    if (strcmp(name, "php") == 0 || strcmp(name, "composer") == 0)
        return "php";
    return "base";
}

const char *berth_isolation_image(const berth_config_t *cfg,
                                  const berth_server_config_t *s)
{
    static const struct {
        const char *runtime, *alias, *image;
    } defaults[] = {
        { "python", "uvx", "ghcr.io/astral-sh/uv:python3.12-bookworm-slim" },
        { "node", "npx", "node:22-bookworm-slim" },
        { "go", NULL, "golang:1.23-bookworm" },
        { "rust", NULL, "rust:1-slim-bookworm" },
        { "ruby", NULL, "ruby:3.3-slim-bookworm" },
        { "php", NULL, "php:8.3-cli-bookworm" },
        { "base", NULL, "debian:bookworm-slim" },
    };
    if (s->isolation.image)
        return s->isolation.image;
    const char *rt = berth_isolation_runtime(s->command ? s->command : "");
    for (size_t d = 0; d < sizeof defaults / sizeof defaults[0]; d++) {
        if (strcmp(defaults[d].runtime, rt) != 0)
            continue;
        for (int i = 0; cfg->images && i < cfg->images->nelts; i++) {
            const berth_kv_t *kv = &APR_ARRAY_IDX(cfg->images, i, berth_kv_t);
            if (strcmp(kv->key, rt) == 0 ||
                (defaults[d].alias && strcmp(kv->key, defaults[d].alias) == 0))
                return kv->value;
        }
        return defaults[d].image;
    }
    return "debian:bookworm-slim";
}
