/* One server entry: the keys MCP clients write (command, args, env, cwd,
 * url, headers, type), the settings it may override (config_schema.c),
 * and the warnings about what would not work as written. */
#include "config_parse.h"

#include <ctype.h>
#include <string.h>

#include <apr_strings.h>

#include "isolation.h"

static const char *const server_keys[] = {
    "command", "args", "env", "cwd", "working_dir", "url", "headers", "type",
    "disabled", "isolation", "timeouts", "namespace", "max_message", NULL
};

/* ---- paths an isolated server cannot see ------------------------------ */

/* A path of this machine: absolute, home-relative or relative. */
static int host_path(const char *a)
{
    return a[0] == '/' || strncmp(a, "~/", 2) == 0 ||
           strncmp(a, "./", 2) == 0 || strncmp(a, "../", 3) == 0 ||
           (isalpha((unsigned char)a[0]) && a[1] == ':' &&
            (a[2] == '\\' || a[2] == '/'));
}

/* The container folders that extra args mount (-v H:C, --volume=H:C,
 * --mount ...,target=C), into TARGETS. */
static void mount_targets(const apr_array_header_t *extra,
                          apr_array_header_t *targets, apr_pool_t *pool)
{
    for (int i = 0; extra && i < extra->nelts; i++) {
        const char *a = APR_ARRAY_IDX(extra, i, const char *);
        const char *val = NULL;
        int mount = 0;
        if ((strcmp(a, "-v") == 0 || strcmp(a, "--volume") == 0 ||
             strcmp(a, "--mount") == 0) && i + 1 < extra->nelts) {
            mount = strcmp(a, "--mount") == 0;
            val = APR_ARRAY_IDX(extra, ++i, const char *);
        } else if (strncmp(a, "-v", 2) == 0 && a[2] != '-') {
            val = a + 2;
        } else if (strncmp(a, "--volume=", 9) == 0) {
            val = a + 9;
        } else if (strncmp(a, "--mount=", 8) == 0) {
            val = a + 8;
            mount = 1;
        }
        if (!val)
            continue;
        if (mount) {
            static const char *const keys[] = { "target=", "dst=",
                                                "destination=", NULL };
            for (const char *const *k = keys; *k; k++) {
                const char *t = strstr(val, *k);
                if (t) {
                    t += strlen(*k);
                    APR_ARRAY_PUSH(targets, const char *) =
                        apr_pstrmemdup(pool, t, strcspn(t, ","));
                }
            }
        } else {
            const char *c = strchr(val, ':');
            /* "C:\x:/y" on Windows hosts: the drive colon is not it */
            if (c && c - val == 1 && strchr(c + 1, ':'))
                c = strchr(c + 1, ':');
            if (c)
                APR_ARRAY_PUSH(targets, const char *) =
                    apr_pstrmemdup(pool, c + 1, strcspn(c + 1, ":"));
        }
    }
}

static int under_target(const char *p, const apr_array_header_t *targets)
{
    for (int i = 0; i < targets->nelts; i++) {
        const char *t = APR_ARRAY_IDX(targets, i, const char *);
        size_t n = strlen(t);
        while (n > 1 && t[n - 1] == '/')
            n--;
        if (n && strncmp(p, t, n) == 0 && (p[n] == '\0' || p[n] == '/'))
            return 1;
    }
    return 0;
}

/* An isolated server runs in a container: a path of this machine in its
 * arguments points at nothing there unless it is mounted. */
static void warn_host_paths(cfg_ctx_t *v, const char *path,
                            const berth_config_t *cfg,
                            const berth_server_config_t *s)
{
    apr_array_header_t *targets = apr_array_make(v->pool, 4,
                                                 sizeof(const char *));
    mount_targets(cfg->isolation.extra_args, targets, v->pool);
    mount_targets(s->isolation.extra_args, targets, v->pool);
    for (int i = 0; s->args && i < s->args->nelts; i++) {
        const char *a = APR_ARRAY_IDX(s->args, i, const char *);
        const char *eq = a[0] == '-' ? strchr(a, '=') : NULL;
        const char *p = eq ? eq + 1 : a;
        if (!host_path(p) || under_target(p, targets))
            continue;
        cfg_warn_at(v, berth_jsonpath_index(
                           v->pool,
                           berth_jsonpath_member(v->pool, path, "args"),
                           (size_t)i),
                    "\"%s\" is a path on this machine; the server runs in a "
                    "container where it does not exist unless mounted (add "
                    "\"-v\", \"HOST:CONTAINER\" to isolation.extra_args)",
                    p);
    }
}

/* ---- values on docker's command line ----------------------------------- */

/* The NAME=value of a -e flag at ARGS[I] (-e/--env then NAME=value, or
 * glued), or NULL. */
static const char *env_pair(const apr_array_header_t *args, int i)
{
    const char *a = APR_ARRAY_IDX(args, i, const char *);
    const char *prev = i ? APR_ARRAY_IDX(args, i - 1, const char *) : "";
    const char *pair = strcmp(prev, "-e") == 0 || strcmp(prev, "--env") == 0
                           ? a
                       : strncmp(a, "--env=", 6) == 0 ? a + 6
                       : strncmp(a, "-e", 2) == 0 && a[2] != '-' ? a + 2
                                                                 : NULL;
    return pair && *pair && pair[0] != '=' && strchr(pair, '=') ? pair
                                                                : NULL;
}

void cfg_warn_env_values(cfg_ctx_t *v, const char *path,
                         const apr_array_header_t *args, int extra)
{
    for (int i = 0; args && i < args->nelts; i++) {
        const char *pair = env_pair(args, i);
        if (!pair)
            continue;
        const char *name = apr_pstrmemdup(v->pool, pair,
                                          (apr_size_t)(strchr(pair, '=') -
                                                       pair));
        cfg_warn_at(v, berth_jsonpath_index(v->pool, path, (size_t)i),
                    "-e %s=*** puts the value on docker's command line, "
                    "where every local user can read it while the server "
                    "runs; %s", name,
                    extra ? apr_psprintf(v->pool, "give %s in the server's "
                                         "\"env\" instead (berth passes it "
                                         "as -e %s)", name, name)
                          : apr_psprintf(v->pool, "write \"-e\", \"%s\" "
                                         "here and the value in \"env\"",
                                         name));
    }
}

/* A server's env that goes into a container as -e NAME: one docker reads
 * itself goes with its value on docker's command line instead. */
static void warn_env_docker_reads(cfg_ctx_t *v, const char *path,
                                  const berth_server_config_t *s)
{
    for (int i = 0; s->env && i < s->env->nelts; i++) {
        const char *name = APR_ARRAY_IDX(s->env, i, berth_kv_t).key;
        if (!berth_isolation_docker_reads(name, 0))
            continue;
        cfg_warn_key(v, berth_jsonpath_member(
                            v->pool, berth_jsonpath_member(v->pool, path,
                                                           "env"),
                            name),
                     "the docker client reads %s itself, so this value goes "
                     "on docker's command line (-e %s=***), where every "
                     "local user can read it while the server runs",
                     name, name);
    }
}

/* ---- the entry --------------------------------------------------------- */

/* What a server entry has beside its settings; TYPE and HAS_CWD carry
 * what later keys and checks need. */
static void parse_entry_key(cfg_ctx_t *v, const char *key, json_t *val,
                            const char *kp, berth_server_config_t *s,
                            const char **type, int *has_cwd)
{
    if (strcmp(key, "command") == 0) {
        s->command = cfg_get_string(v, val, kp, 1);
        if (s->command)
            cfg_check_placeholder(v, kp, NULL, s->command);
    } else if (strcmp(key, "args") == 0) {
        s->args = cfg_get_string_array(v, val, kp);
    } else if (strcmp(key, "env") == 0) {
        s->env = cfg_get_secret_map(v, val, kp, 0);
    } else if (strcmp(key, "headers") == 0) {
        s->headers = cfg_get_secret_map(v, val, kp, 1);
    } else if (strcmp(key, "cwd") == 0 || strcmp(key, "working_dir") == 0) {
        if ((*has_cwd)++)
            cfg_error_key(v, kp, "\"cwd\" and \"working_dir\" are the same "
                          "setting; keep one");
        else
            s->cwd = cfg_get_string(v, val, kp, 1);
    } else if (strcmp(key, "url") == 0) {
        const char *u = cfg_get_string(v, val, kp, 1);
        if (u && !cfg_url_ok(u))
            cfg_error_at(v, kp, "not an http:// or https:// URL with a host");
        else
            s->url = u;
    } else if (strcmp(key, "type") == 0) {
        const char *t = cfg_get_string(v, val, kp, 0);
        if (t && strcmp(t, "stdio") && strcmp(t, "http") &&
            strcmp(t, "streamable-http") && strcmp(t, "streamableHttp") &&
            strcmp(t, "sse")) {
            cfg_error_at(v, kp, "\"%s\" is not a server type; use "
                         "\"stdio\", \"http\" or \"sse\"", t);
            t = NULL;
        }
        *type = t;
    }
}

static void parse_entry(cfg_ctx_t *v, json_t *j, const char *path,
                        berth_server_config_t *s, const char **type)
{
    const char *key;
    json_t *val;
    int has_cwd = 0;
    cfg_check_keys(v, j, path, server_keys, "a server entry", 1);
    json_object_foreach(j, key, val) {
        const char *kp = berth_jsonpath_member(v->pool, path, key);
        const berth_setting_t *r = cfg_top_setting(key, 1);
        if (r) {
            cfg_parse_setting(v, r, val, kp, s, 1);
        } else if (strcmp(key, "isolation") == 0) {
            cfg_parse_section(v, val, kp, "docker_isolation", 1, s,
                              "a server's isolation");
            cfg_check_isolation(v, kp, &s->isolation);
        } else if (strcmp(key, "timeouts") == 0) {
            cfg_parse_section(v, val, kp, "timeouts", 1, s, "timeouts");
        } else {
            parse_entry_key(v, key, val, kp, s, type, &has_cwd);
        }
    }
}

/* Exactly one of command and url, and a type that agrees. */
static void check_transport(cfg_ctx_t *v, json_t *j, const char *path,
                            berth_server_config_t *s, const char *type)
{
    int has_command = json_object_get(j, "command") != NULL;
    int has_url = json_object_get(j, "url") != NULL;
    if (has_command && has_url)
        cfg_error_key(v, path, "has both \"command\" and \"url\"; a server "
                      "is either a local command or a remote URL, keep one");
    else if (!has_command && !has_url)
        cfg_error_key(v, path, "needs \"command\" (a local server) or "
                      "\"url\" (a remote server)");

    s->transport = has_url && !has_command ? BERTH_TRANSPORT_HTTP
                                           : BERTH_TRANSPORT_STDIO;
    if (!type)
        return;
    int remote = strcmp(type, "stdio") != 0;
    const char *tp = berth_jsonpath_member(v->pool, path, "type");
    if (remote && has_command && !has_url)
        cfg_error_at(v, tp, "type \"%s\" is for remote servers and needs "
                     "\"url\"; a \"command\" server is \"stdio\"", type);
    else if (!remote && has_url && !has_command)
        cfg_error_at(v, tp, "type \"stdio\" needs \"command\"; a \"url\" "
                     "server is \"http\" or \"sse\"");
    else if (strcmp(type, "sse") == 0)
        s->transport = BERTH_TRANSPORT_SSE;
}

/* Keys that mean nothing for this kind of server. */
static void warn_ignored(cfg_ctx_t *v, json_t *j, const char *path,
                         const berth_server_config_t *s)
{
    if (s->transport != BERTH_TRANSPORT_STDIO) {
        if (s->args)
            cfg_warn_key(v, berth_jsonpath_member(v->pool, path, "args"),
                         "ignored for a remote (url) server");
        if (s->env)
            cfg_warn_key(v, berth_jsonpath_member(v->pool, path, "env"),
                         "ignored for a remote (url) server");
        if (json_object_get(j, "isolation"))
            cfg_warn_key(v, berth_jsonpath_member(v->pool, path,
                                                  "isolation"),
                         "remote (url) servers are never isolated; ignored");
    } else if (s->headers) {
        cfg_warn_key(v, berth_jsonpath_member(v->pool, path, "headers"),
                     "ignored for a local (command) server");
    }
}

static int interactive_flag(const char *a)
{
    return strcmp(a, "-i") == 0 || strcmp(a, "--interactive") == 0 ||
           strcmp(a, "--interactive=true") == 0 ||
           (a[0] == '-' && a[1] != '-' && strchr(a, 'i') &&
            strspn(a + 1, "itd") == strlen(a + 1));
}

/* A server whose command is docker itself: "run" needs -i, and berth
 * never isolates it again. */
static void warn_docker_command(cfg_ctx_t *v, const char *path,
                                const berth_server_config_t *s)
{
    int run = s->args && s->args->nelts > 0 &&
              strcmp(APR_ARRAY_IDX(s->args, 0, const char *), "run") == 0;
    int interactive = 0;
    for (int i = 1; s->args && i < s->args->nelts; i++)
        if (interactive_flag(APR_ARRAY_IDX(s->args, i, const char *)))
            interactive = 1;
    if (run) {
        cfg_warn_env_values(v, berth_jsonpath_member(v->pool, path, "args"),
                            s->args, 0);
        warn_env_docker_reads(v, path, s);
    }
    if (run && !interactive)
        cfg_warn_key(v, berth_jsonpath_member(v->pool, path, "args"),
                     "\"docker run\" without \"-i\": the server's stdin "
                     "will not be connected and MCP messages will not reach "
                     "it");
    if (s->isolation.mode == BERTH_ISOLATION_DOCKER ||
        s->isolation.enabled == 1)
        cfg_warn_key(v, berth_jsonpath_member(v->pool, path, "isolation"),
                     "a server whose command is docker is never isolated "
                     "again; ignored");
}

void cfg_parse_server(cfg_ctx_t *v, json_t *j, const char *path,
                      berth_server_config_t *s, const berth_config_t *cfg)
{
    const char *type = NULL;
    parse_entry(v, j, path, s, &type);
    check_transport(v, j, path, s, type);
    warn_ignored(v, j, path, s);

    if (s->command && s->transport == BERTH_TRANSPORT_STDIO &&
        berth_isolation_effective(cfg, s, NULL) == BERTH_ISOLATION_DOCKER) {
        warn_host_paths(v, path, cfg, s);
        warn_env_docker_reads(v, path, s);
    }

    if (s->command && berth_isolation_is_docker_command(s->command)) {
        warn_docker_command(v, path, s);
    } else if (s->transport == BERTH_TRANSPORT_STDIO &&
               s->isolation.mode == BERTH_ISOLATION_UNSET &&
               s->isolation.enabled == 1 &&
               cfg->isolation.mode != BERTH_ISOLATION_DOCKER &&
               cfg->isolation.enabled != 1) {
        cfg_warn_key(v, berth_jsonpath_member(
                            v->pool,
                            berth_jsonpath_member(v->pool, path, "isolation"),
                            "enabled"),
                     "ignored because docker_isolation is off; set "
                     "\"mode\": \"docker\" here to isolate this server "
                     "alone");
    }
}
