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

static int same(const char *a, const char *b, int fold_case)
{
    return fold_case ? apr_cstr_casecmp(a, b) == 0 : strcmp(a, b) == 0;
}

static int starts_as(const char *s, const char *prefix, int fold_case)
{
    size_t n = strlen(prefix);
    return fold_case ? apr_cstr_casecmpn(s, prefix, n) == 0
                     : strncmp(s, prefix, n) == 0;
}

int berth_isolation_docker_reads(const char *name, int fold_case)
{
    /* the docker CLI's own variables (its reference lists them), where its
     * config and credentials are, its Go runtime's, the loader's, and the
     * ssh agent a ssh:// daemon is reached through */
    static const char *const names[] = {
        "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH",
        "DOCKER_TLS", "DOCKER_TLS_VERIFY", "DOCKER_API_VERSION",
        "DOCKER_DEFAULT_PLATFORM", "DOCKER_CONTENT_TRUST",
        "DOCKER_CONTENT_TRUST_SERVER", "DOCKER_HIDE_LEGACY_COMMANDS",
        "DOCKER_CUSTOM_HEADERS", "DOCKER_AUTH_CONFIG", "DOCKER_BUILDKIT",
        "HOME", "PATH", "USERPROFILE", "GODEBUG", "GOMAXPROCS", "GOGC",
        "GOMEMLIMIT", "GOTRACEBACK", "SSH_AUTH_SOCK", NULL
    };
    static const char *const prefixes[] = { "DOCKER_CLI_", "OTEL_", "LD_",
                                            "DYLD_", NULL };
    /* Go reads both spellings of its proxy variables */
    static const char *const proxies[] = { "HTTP_PROXY", "HTTPS_PROXY",
                                           "NO_PROXY", NULL };
    for (const char *const *n = names; *n; n++)
        if (same(name, *n, fold_case))
            return 1;
    for (const char *const *n = prefixes; *n; n++)
        if (starts_as(name, *n, fold_case))
            return 1;
    for (const char *const *n = proxies; *n; n++)
        if (same(name, *n, 1))
            return 1;
    return 0;
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

const char *berth_isolation_container_name(const char *name,
                                           const char *token,
                                           apr_pool_t *pool)
{
    /* Docker: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
    char *n = apr_pstrdup(pool, name);
    for (char *c = n; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' ||
              *c == '-'))
            *c = '-';
    if (strlen(n) > 100)
        n[100] = '\0';
    return apr_pstrcat(pool, "berth-", n, "-", token ? token : "0", NULL);
}

static void add(apr_array_header_t *a, const char *s)
{
    APR_ARRAY_PUSH(a, const char *) = s;
}

/* Where server S's value of docker_isolation.KEY comes from, for the
 * plan: the server's isolation, the global section, or the default. */
static const char *source_of(const berth_config_t *cfg,
                             const berth_server_config_t *s, const char *key,
                             apr_pool_t *pool)
{
    const char *name = apr_pstrcat(pool, "docker_isolation.", key, NULL);
    if (berth_config_server_given(s, name))
        return apr_pstrcat(pool, "isolation.", key, NULL);
    return berth_config_given(cfg, name) ? name : "default";
}

/* Adds FLAG (and VALUE) to ARGS when ON, and its words to the list of
 * what is on or off, with the setting that decided it. */
static void harden(apr_array_header_t *args, int on, const char *flag,
                   const char *value, const char *src, const char **on_text,
                   const char **off_text, apr_pool_t *pool)
{
    const char *words = value ? apr_pstrcat(pool, flag, " ", value, NULL)
                              : flag;
    const char **list = on ? on_text : off_text;
    *list = apr_pstrcat(pool, *list, **list ? ", " : "", on ? words : flag,
                        " (", src, ")", NULL);
    if (!on)
        return;
    add(args, flag);
    if (value)
        add(args, value);
}

apr_array_header_t *berth_isolation_hardening(const berth_config_t *cfg,
                                              const berth_server_config_t *s,
                                              const char **why,
                                              apr_pool_t *pool)
{
    const berth_isolation_t *v = &s->isolation;
    apr_array_header_t *a = apr_array_make(pool, 8, sizeof(const char *));
    const char *on = "", *off = "";
    harden(a, v->no_new_privileges, "--security-opt", "no-new-privileges",
           source_of(cfg, s, "no_new_privileges", pool), &on, &off, pool);
    harden(a, v->cap_drop_all, "--cap-drop", "ALL",
           source_of(cfg, s, "cap_drop_all", pool), &on, &off, pool);
    harden(a, v->init, "--init", NULL, source_of(cfg, s, "init", pool), &on,
           &off, pool);
    harden(a, v->pids_limit > 0, "--pids-limit",
           apr_ltoa(pool, v->pids_limit), source_of(cfg, s, "pids_limit", pool),
           &on, &off, pool);
    if (why)
        *why = apr_pstrcat(pool, "hardening: ", *on ? on : "none",
                           *off ? "; off: " : "", off, NULL);
    return a;
}

apr_array_header_t *berth_isolation_docker_args(const berth_config_t *cfg,
                                                const berth_server_config_t *s,
                                                const char *instance,
                                                const char *token,
                                                const apr_array_header_t *env,
                                                apr_pool_t *pool)
{
    const berth_isolation_t *g = &cfg->isolation, *v = &s->isolation;
    apr_array_header_t *a = apr_array_make(pool, 32, sizeof(const char *));
    add(a, "run");
    add(a, "--rm");
    add(a, "-i");
    add(a, "--name");
    add(a, berth_isolation_container_name(s->name, token, pool));
    add(a, "--label");
    add(a, "io.berth.managed=true");
    add(a, "--label");
    add(a, apr_pstrcat(pool, "io.berth.server=", s->name, NULL));
    add(a, "--label");
    add(a, apr_pstrcat(pool, "io.berth.instance=", instance ? instance : "",
                       NULL));
    /* the options are json-file's: name the driver, whatever the daemon's
     * default (journald would refuse max-size) */
    if (cfg->log_max_size || cfg->log_max_files > 0) {
        add(a, "--log-driver");
        add(a, "json-file");
    }
    if (cfg->log_max_size) {
        add(a, "--log-opt");
        add(a, apr_pstrcat(pool, "max-size=", cfg->log_max_size, NULL));
    }
    if (cfg->log_max_files > 0) {
        add(a, "--log-opt");
        add(a, apr_psprintf(pool, "max-file=%d", cfg->log_max_files));
    }
    apr_array_header_t *hard = berth_isolation_hardening(cfg, s, NULL, pool);
    apr_array_cat(a, hard);
    const char *net = v->network_mode ? v->network_mode : g->network_mode;
    const char *mem = v->memory_limit ? v->memory_limit : g->memory_limit;
    const char *cpu = v->cpu_limit ? v->cpu_limit : g->cpu_limit;
    if (net) {
        add(a, "--network");
        add(a, net);
    }
    if (mem) {
        add(a, "--memory");
        add(a, mem);
    }
    if (cpu) {
        add(a, "--cpus");
        add(a, cpu);
    }
    if (s->cwd) {
        add(a, "--workdir");
        add(a, s->cwd);
    }
    if (env)
        apr_array_cat(a, env);
    for (int i = 0; g->extra_args && i < g->extra_args->nelts; i++)
        add(a, APR_ARRAY_IDX(g->extra_args, i, const char *));
    for (int i = 0; v->extra_args && i < v->extra_args->nelts; i++)
        add(a, APR_ARRAY_IDX(v->extra_args, i, const char *));
    add(a, berth_isolation_image(cfg, s));
    add(a, s->command);
    for (int i = 0; s->args && i < s->args->nelts; i++)
        add(a, APR_ARRAY_IDX(s->args, i, const char *));
    return a;
}
