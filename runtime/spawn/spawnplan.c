#include "spawnplan.h"

#include <ctype.h>
#include <string.h>

#include <apr_cstr.h>
#include <apr_strings.h>

#include "envset.h"
#include "errors.h"
#include "isolation.h"
#include "redact.h"
#include "shellquote.h"

const char *berth_plan_mode_name(berth_plan_mode_t mode)
{
    switch (mode) {
    case BERTH_PLAN_ISOLATED: return "docker-isolated";
    case BERTH_PLAN_DOCKER: return "docker";
    default: return "direct";
    }
}

static void reason(berth_plan_t *p, const char *text)
{
    APR_ARRAY_PUSH(p->reasons, const char *) = text;
}

static apr_array_header_t *strings(apr_pool_t *pool)
{
    return apr_array_make(pool, 16, sizeof(const char *));
}

static void add(apr_array_header_t *a, const char *s)
{
    APR_ARRAY_PUSH(a, const char *) = s;
}

static const apr_array_header_t *process_env(const berth_plan_in_t *in)
{
    return in->process_env ? in->process_env : in->facts->env;
}

/* Finds NAME on the child's PATH (Windows: with each PATHEXT extension).
 * *SEARCHED gets the folders looked in, for the error message. */
static const char *search_program(const berth_hostfacts_t *facts,
                                  const apr_array_header_t *env,
                                  const char *name, const char **searched,
                                  apr_pool_t *pool)
{
    apr_array_header_t *dirs = berth_path_split(
        facts, berth_env_get(facts, env, "PATH"), pool);
    apr_array_header_t *exts = strings(pool);
    add(exts, "");
    if (facts->os == BERTH_OS_WINDOWS) {
        const char *pe = berth_env_get(facts, env, "PATHEXT");
        char sep[2] = { ';', '\0' };
        char *last;
        if (!pe || !*pe)
            pe = ".COM;.EXE;.BAT;.CMD";
        /* a name that already has an extension is tried as written first */
        exts = strings(pool);
        if (strchr(berth_path_basename(name), '.'))
            add(exts, "");
        for (char *e = apr_strtok(apr_pstrdup(pool, pe), sep, &last); e;
             e = apr_strtok(NULL, sep, &last))
            add(exts, e);
    }
    *searched = berth_path_join(facts, dirs, pool);
    for (int i = 0; i < dirs->nelts; i++) {
        const char *dir = APR_ARRAY_IDX(dirs, i, const char *);
        if (!berth_path_is_absolute(facts, dir))
            continue;
        for (int k = 0; k < exts->nelts; k++) {
            const char *c = berth_path_child(
                facts, dir,
                apr_pstrcat(pool, name, APR_ARRAY_IDX(exts, k, const char *),
                            NULL),
                pool);
            berth_probe_t pr = facts->probe(facts, c);
            if (pr == BERTH_PROBE_EXEC ||
                (facts->os == BERTH_OS_WINDOWS && pr == BERTH_PROBE_FILE))
                return c;
        }
    }
    return NULL;
}

static int has_dir_sep(const berth_hostfacts_t *facts, const char *s)
{
    return strchr(s, '/') ||
           (facts->os == BERTH_OS_WINDOWS && strchr(s, '\\'));
}

static int is_batch(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && (apr_cstr_casecmp(path + n - 4, ".cmd") == 0 ||
                     apr_cstr_casecmp(path + n - 4, ".bat") == 0);
}

/* The shell that wraps a command on FACTS (*SHELL), and how to quote for
 * it; *KNOWN (optional) says whether berth knows that shell. */
static berth_shell_family_t wrap_shell(const berth_hostfacts_t *facts,
                                       const char **shell, int *known)
{
    const char *sh = facts->login_shell;
    if (!sh || !*sh)
        sh = facts->os == BERTH_OS_WINDOWS ? "cmd.exe" : "/bin/sh";
    berth_shell_family_t fam = berth_shell_family(sh, known);
    if (facts->os != BERTH_OS_WINDOWS && fam == BERTH_SHELL_CMD)
        fam = BERTH_SHELL_POSIX;
    *shell = sh;
    return fam;
}

/* NAME="$BERTH_ENV_NAME" for every name the plan carries under an alias
 * (env_flags), each followed by a blank: a POSIX or fish (3.1 and later)
 * shell exports them to the command after them alone. */
static const char *assignments(const berth_plan_t *p, apr_pool_t *pool)
{
    const char *line = "";
    for (int i = 0; p->assigned && i < p->assigned->nelts; i++) {
        const char *name = APR_ARRAY_IDX(p->assigned, i, const char *);
        line = apr_pstrcat(pool, line, name, "=\"$" BERTH_PLAN_ALIAS, name,
                           "\" ", NULL);
    }
    return line;
}

/* Wraps ARGV in the login shell (or cmd.exe on Windows) and fills the plan's
 * program, argv and command line. */
static apr_status_t wrap(berth_plan_t *p, const berth_plan_in_t *in,
                         const apr_array_header_t *argv, const char **error,
                         apr_pool_t *pool)
{
    const berth_hostfacts_t *facts = in->facts;
    const char *shell;
    int known = 1;
    berth_shell_family_t fam = wrap_shell(facts, &shell, &known);
    p->wrapped = 1;
    p->shell = shell;
    p->program = shell;
    p->argv = strings(pool);
    if (fam == BERTH_SHELL_CMD) {
        const char *inner;
        if (berth_cmd_wrap(shell, argv, &p->command_line, &inner, pool) !=
            APR_SUCCESS) {
            *error = "an argument contains a line break, which cmd.exe "
                     "cannot pass on";
            return APR_EINVAL;
        }
        add(p->argv, shell);
        add(p->argv, "/d");
        add(p->argv, "/s");
        add(p->argv, "/c");
        add(p->argv, apr_pstrcat(pool, "\"", inner, "\"", NULL));
        return APR_SUCCESS;
    }
    if (!known)
        reason(p, apr_psprintf(pool, "the shell %s is not one berth knows; "
                               "quoted for POSIX shells", shell));
    add(p->argv, shell);
    add(p->argv, "-l");
    add(p->argv, "-c");
    add(p->argv, apr_pstrcat(pool, assignments(p, pool),
                             berth_join_shell(argv, fam, pool), NULL));
    if (facts->os == BERTH_OS_WINDOWS)
        p->command_line = berth_join_windows(p->argv, pool);
    return APR_SUCCESS;
}

static void set_direct(berth_plan_t *p, const berth_plan_in_t *in,
                       const char *program, const apr_array_header_t *rest,
                       apr_pool_t *pool)
{
    p->program = program;
    p->argv = strings(pool);
    add(p->argv, program);
    for (int i = 0; rest && i < rest->nelts; i++)
        add(p->argv, APR_ARRAY_IDX(rest, i, const char *));
    if (in->facts->os == BERTH_OS_WINDOWS)
        p->command_line = berth_join_windows(p->argv, pool);
}

/* DOCKER_HOST or DOCKER_CONTEXT, not empty, in ENV. */
static int daemon_var_set(const berth_hostfacts_t *facts,
                          const apr_array_header_t *env)
{
    const char *host = berth_env_get(facts, env, "DOCKER_HOST");
    const char *ctx = berth_env_get(facts, env, "DOCKER_CONTEXT");
    return (host && *host) || (ctx && *ctx);
}

/* Whether docker will run directly (else a shell wraps it). */
static int docker_direct(const berth_plan_t *p, const berth_plan_in_t *in)
{
    return p->docker.verified &&
           berth_docker_daemon_env_guaranteed(in->facts, process_env(in));
}

/* Sections 1-3: cidfile after run, then direct exec or wrap. */
static apr_status_t plan_docker(berth_plan_t *p, const berth_plan_in_t *in,
                                apr_array_header_t *dargs, int with_cidfile,
                                const char **error, apr_pool_t *pool)
{
    const berth_hostfacts_t *facts = in->facts;
    berth_docker_t d = p->docker;
    p->daemon_env_guaranteed =
        berth_docker_daemon_env_guaranteed(facts, process_env(in));

    if (with_cidfile && dargs->nelts && strcmp(APR_ARRAY_IDX(dargs, 0,
                                                             const char *),
                                               "run") == 0) {
        /* docker refuses an existing cidfile: a fresh name every start */
        p->cidfile = berth_path_child(
            facts, in->cid_dir,
            apr_pstrcat(pool, p->server ? berth_config_normalize_name(
                                              p->server, pool)
                                        : "docker",
                        "-", in->start_token ? in->start_token : "0", ".cid",
                        NULL),
            pool);
        apr_array_header_t *with = strings(pool);
        add(with, "run");
        add(with, "--cidfile");
        add(with, p->cidfile);
        for (int i = 1; i < dargs->nelts; i++)
            add(with, APR_ARRAY_IDX(dargs, i, const char *));
        dargs = with;
    }
    p->docker_argv = dargs;

    if (d.path)
        reason(p, apr_psprintf(pool, "docker resolved via %s: %s%s",
                               berth_docker_source_name(d.source), d.path,
                               d.verified ? "" : " (not a verified "
                                                 "executable)"));
    else
        reason(p, "docker was not found on PATH, at the well-known "
                  "locations, or by the login shell");

    if (d.verified && p->daemon_env_guaranteed) {
        set_direct(p, in, d.path, dargs, pool);
        reason(p, facts->os == BERTH_OS_DARWIN
                      ? "direct exec: macOS start-up hydration already "
                        "imported the DOCKER_* settings"
                  : facts->os == BERTH_OS_WINDOWS
                      ? "direct exec: Windows has no login shell to inherit "
                        "daemon settings from"
                      : !daemon_var_set(facts, process_env(in))
                      ? apr_psprintf(pool, "direct exec: the login shell %s "
                                     "refuses logins, so no profile can set "
                                     "DOCKER_HOST", facts->login_shell)
                      : "direct exec because DOCKER_HOST or DOCKER_CONTEXT "
                        "is set");
        return APR_SUCCESS;
    }
    apr_array_header_t *line = strings(pool);
    add(line, d.verified ? d.path : "docker");
    for (int i = 0; i < dargs->nelts; i++)
        add(line, APR_ARRAY_IDX(dargs, i, const char *));
    reason(p, d.verified
                  ? "login-shell wrap: neither DOCKER_HOST nor DOCKER_CONTEXT "
                    "is set, and a rootless or remote daemon configured in the "
                    "shell profile would be lost without it"
                  : "login-shell wrap with bare docker: no verified docker "
                    "binary, so the shell must find it");
    return wrap(p, in, line, error, pool);
}

static apr_array_header_t *configured_secrets(const berth_server_config_t *s,
                                              apr_pool_t *pool)
{
    apr_array_header_t *out = strings(pool);
    for (int i = 0; s && s->env && i < s->env->nelts; i++)
        add(out, APR_ARRAY_IDX(s->env, i, berth_kv_t).value);
    for (int i = 0; s && s->headers && i < s->headers->nelts; i++)
        add(out, APR_ARRAY_IDX(s->headers, i, berth_kv_t).value);
    return out;
}

static berth_plan_t *new_plan(const berth_plan_in_t *in, const char *server,
                              apr_pool_t *pool)
{
    berth_plan_t *p = apr_pcalloc(pool, sizeof *p);
    p->server = server;
    p->docker = in->docker;
    p->reasons = strings(pool);
    return p;
}

static const char *dir_of(const berth_docker_t *d, apr_pool_t *pool)
{
    return d->verified ? berth_path_dirname(d->path, pool) : NULL;
}

/* A name a POSIX shell can assign: [A-Za-z_][A-Za-z0-9_]*. */
static int shell_name(const char *s)
{
    if (!(*s == '_' || isalpha((unsigned char)*s)))
        return 0;
    for (; *s; s++)
        if (!(*s == '_' || isalnum((unsigned char)*s)))
            return 0;
    return 1;
}

/* A name sh, bash, zsh or fish gives a meaning of its own (read-only,
 * numeric, tied to an array, or kept by the shell itself): assigning it
 * before docker fails or changes the value. Measured with each shell's
 * `NAME="$V" env`; the shells' own prefixes count whole. */
static int shell_special(const char *name)
{
    static const char *const names[] = {
        "_", "ARGC", "BASHOPTS", "COLUMNS", "EGID", "ERRNO", "EUID",
        "FISH_VERSION", "FUNCNAME", "GID", "GROUPS", "HISTCMD", "HISTSIZE",
        "KEYTIMEOUT", "LINENO", "LINES", "MAILCHECK", "OPTIND", "PPID", "PWD",
        "RANDOM", "SAVEHIST", "SECONDS", "SHELLOPTS", "SHLVL",
        "TRY_BLOCK_ERROR", "TRY_BLOCK_INTERRUPT", "TTYIDLE", "UID",
        "USERNAME", "ZSH_SUBSHELL", "aliases", "argv", "cdpath", "commands",
        "dirstack", "fpath", "funcfiletrace", "funcstack", "functrace",
        "history", "hostname", "mailpath", "manpath", "module_path",
        "options", "parameters", "path", "pipestatus", "psvar", "status",
        "umask", "version", "watch", "zsh_eval_context", NULL
    };
    for (const char *const *n = names; *n; n++)
        if (strcmp(name, *n) == 0)
            return 1;
    return strncmp(name, "BASH_", 5) == 0 || strncmp(name, "fish_", 5) == 0;
}

/* Why the container's value of NAME cannot ride in docker's own
 * environment (ENV as berth built it for docker), or NULL when it can.
 * ALIASED: a login shell wraps docker and gets the values under aliases. */
static const char *on_the_line(const berth_hostfacts_t *facts,
                               const apr_array_header_t *env,
                               const char *name, int aliased,
                               apr_pool_t *pool)
{
    if (berth_isolation_docker_reads(name, facts->os == BERTH_OS_WINDOWS))
        return apr_psprintf(pool, "docker reads %s itself", name);
    if (berth_env_get(facts, env, name))
        return apr_psprintf(pool, "docker's own environment has %s", name);
    if (aliased && !shell_name(name))
        return "it is no shell variable name, and the login shell that "
               "wraps docker may drop it from the environment (dash does)";
    if (aliased && shell_special(name))
        return apr_psprintf(pool, "the login shell that wraps docker gives "
                            "%s a meaning of its own", name);
    return NULL;
}

/* The -e flags that give the container the server's env (docs/isolation.md
 * "The server's env"): -e NAME, its value in docker's own environment,
 * which other local users cannot read, where they can read any command
 * line. Through a login shell the value goes in as BERTH_ENV_<NAME> and
 * the line assigns it back for docker alone, because the profile that
 * shell reads may export the same name. A value that cannot ride there
 * keeps -e NAME=VALUE, and the plan says why. */
static apr_array_header_t *env_flags(berth_plan_t *p, const berth_plan_in_t *in,
                                     const apr_array_header_t *server_env,
                                     apr_pool_t *pool)
{
    const berth_hostfacts_t *facts = in->facts;
    const char *shell, *riding = "";
    int aliased = !docker_direct(p, in) &&
                  wrap_shell(facts, &shell, NULL) != BERTH_SHELL_CMD;
    const apr_array_header_t *docker_env = apr_array_copy(pool, p->env);
    apr_array_header_t *flags = strings(pool);
    p->assigned = strings(pool);
    for (int i = 0; server_env && i < server_env->nelts; i++) {
        const berth_kv_t *kv = &APR_ARRAY_IDX(server_env, i, berth_kv_t);
        const char *why = on_the_line(facts, docker_env, kv->key, aliased,
                                      pool);
        add(flags, "-e");
        if (why) {
            add(flags, apr_pstrcat(pool, kv->key, "=", kv->value, NULL));
            reason(p, apr_psprintf(pool, "%s goes on docker's command line "
                                   "(-e %s=***): %s, so its value cannot "
                                   "ride in docker's environment; local "
                                   "users can read it in the process list "
                                   "while docker runs", kv->key, kv->key,
                                   why));
            continue;
        }
        add(flags, kv->key);
        riding = apr_pstrcat(pool, riding, *riding ? ", " : "", kv->key, NULL);
        if (aliased)
            add(p->assigned, kv->key);
        berth_env_set(facts, p->env,
                      aliased ? apr_pstrcat(pool, BERTH_PLAN_ALIAS, kv->key,
                                            NULL)
                              : kv->key,
                      kv->value);
    }
    if (*riding)
        reason(p, apr_pstrcat(pool, "the server's env reaches the container "
                              "as -e NAME, each value in docker's own "
                              "environment, on no command line: ", riding,
                              aliased ? "; the login shell gets each as "
                                        BERTH_PLAN_ALIAS "<NAME> and assigns "
                                        "it back for docker alone, so its "
                                        "profile cannot replace it"
                                      : "", NULL));
    return flags;
}

/* Shape 3's docker argv: the user's, with the -e flags for the server's env
 * (ENV) and berth's labels right after a leading run (the sweeps find this
 * container too when berth dies before it). */
static apr_array_header_t *user_docker_args(const berth_server_config_t *srv,
                                            const berth_plan_in_t *in,
                                            int run,
                                            const apr_array_header_t *env,
                                            apr_pool_t *pool)
{
    apr_array_header_t *dargs = strings(pool);
    for (int i = 0; srv->args && i < srv->args->nelts; i++) {
        add(dargs, APR_ARRAY_IDX(srv->args, i, const char *));
        if (i != 0 || !run)
            continue;
        apr_array_cat(dargs, env);
        add(dargs, "--label");
        add(dargs, "io.berth.managed=true");
        add(dargs, "--label");
        add(dargs, apr_pstrcat(pool, "io.berth.server=", srv->name, NULL));
        add(dargs, "--label");
        add(dargs, apr_pstrcat(pool, "io.berth.instance=",
                               in->instance ? in->instance : "", NULL));
    }
    return dargs;
}

/* Shape 3: the command is docker itself; never isolated again, its env
 * goes in as -e. */
static apr_status_t plan_user_docker(berth_plan_t *p,
                                     const berth_server_config_t *srv,
                                     const berth_plan_in_t *in,
                                     berth_envset_in_t *ei, const char **error,
                                     apr_pool_t *pool)
{
    const berth_hostfacts_t *facts = in->facts;
    int run = srv->args && srv->args->nelts &&
              strcmp(APR_ARRAY_IDX(srv->args, 0, const char *), "run") == 0;
    p->mode = BERTH_PLAN_DOCKER;
    reason(p, run ? "the command is docker run: never isolated again; "
                    "the server's env goes in as -e flags, berth's labels "
                    "as --label"
                  : "the command is docker: run as configured");
    if (berth_path_is_absolute(facts, srv->command) &&
        berth_dockerpath_verified(facts, srv->command) &&
        (!p->docker.path || strcmp(p->docker.path, srv->command) != 0)) {
        p->docker.path = srv->command;
        p->docker.source = BERTH_DOCKER_CONFIG;
        p->docker.verified = 1;
        reason(p, "the config names this docker binary by its absolute "
                  "path; it is used as given");
    }
    ei->server_env = run ? NULL : srv->env;
    ei->docker_dir = dir_of(&p->docker, pool);
    p->env = berth_envset_build(ei, p->reasons, pool);
    apr_array_header_t *env = env_flags(p, in, run ? srv->env : NULL, pool);
    return plan_docker(p, in, user_docker_args(srv, in, run, env, pool), 1,
                       error, pool);
}

/* Shape 2: berth wraps the command in a container. */
static apr_status_t plan_isolated(berth_plan_t *p,
                                  const berth_server_config_t *srv,
                                  const berth_plan_in_t *in,
                                  berth_envset_in_t *ei, const char *why,
                                  const char **error, apr_pool_t *pool)
{
    const char *hardening;
    berth_isolation_hardening(in->cfg, srv, &hardening, pool);
    p->mode = BERTH_PLAN_ISOLATED;
    reason(p, apr_pstrcat(pool, "isolation docker: ", why, NULL));
    reason(p, hardening);
    ei->server_env = NULL; /* inside the container, not for docker */
    ei->docker_dir = dir_of(&p->docker, pool);
    p->env = berth_envset_build(ei, p->reasons, pool);
    apr_array_header_t *dargs = berth_isolation_docker_args(
        in->cfg, srv, in->instance, in->start_token,
        env_flags(p, in, srv->env, pool), pool);
    return plan_docker(p, in, dargs, 1, error, pool);
}

/* The program COMMAND names: as written when it has a folder, else found
 * on the child's PATH (ENV). *SEARCHED gets where it looked. */
static const char *find_command(const berth_hostfacts_t *facts,
                                const apr_array_header_t *env,
                                const char *command, const char **searched,
                                apr_pool_t *pool)
{
    if (!has_dir_sep(facts, command))
        return search_program(facts, env, command, searched, pool);
    berth_probe_t pr = facts->probe(facts, command);
    *searched = command;
    return pr == BERTH_PROBE_EXEC ||
                   (facts->os == BERTH_OS_WINDOWS && pr == BERTH_PROBE_FILE)
               ? command
               : NULL;
}

/* A Windows batch file runs through cmd.exe: the configured shell when it
 * is a cmd, else cmd.exe itself. */
static apr_status_t wrap_batch(berth_plan_t *p, const berth_plan_in_t *in,
                               apr_array_header_t *line, const char *program,
                               const char **error, apr_pool_t *pool)
{
    const char *shell = in->facts->login_shell;
    berth_hostfacts_t f2 = *in->facts;
    berth_plan_in_t in2 = *in;
    APR_ARRAY_IDX(line, 0, const char *) = program;
    reason(p, apr_pstrcat(pool, "found ", program, "; a batch file runs "
                          "through cmd.exe", NULL));
    f2.login_shell = shell && berth_shell_family(shell, NULL) ==
                                  BERTH_SHELL_CMD
                         ? shell
                         : "cmd.exe";
    in2.facts = &f2;
    return wrap(p, &in2, line, error, pool);
}

/* Shape 1: an ordinary program, found on the child's PATH; the login shell
 * gets a chance when it is on none. */
static apr_status_t plan_program(berth_plan_t *p,
                                 const berth_server_config_t *srv,
                                 const berth_plan_in_t *in,
                                 berth_envset_in_t *ei, const char *why,
                                 const char **error, apr_pool_t *pool)
{
    const berth_hostfacts_t *facts = in->facts;
    const char *searched = "";
    p->mode = BERTH_PLAN_DIRECT;
    p->env = berth_envset_build(ei, p->reasons, pool);
    const char *program = find_command(facts, p->env, srv->command, &searched,
                                       pool);
    apr_array_header_t *line = strings(pool);
    add(line, srv->command);
    for (int i = 0; srv->args && i < srv->args->nelts; i++)
        add(line, APR_ARRAY_IDX(srv->args, i, const char *));

    if (program && facts->os == BERTH_OS_WINDOWS && is_batch(program))
        return wrap_batch(p, in, line, program, error, pool);
    if (program) {
        set_direct(p, in, program, srv->args, pool);
        reason(p, apr_pstrcat(pool, "direct exec of ", program,
                              " (isolation none: ", why, ")", NULL));
        return APR_SUCCESS;
    }
    const char *shell = facts->login_shell;
    if (facts->os != BERTH_OS_WINDOWS && shell &&
        !berth_shell_refuses_login(shell) &&
        facts->probe(facts, shell) == BERTH_PROBE_EXEC) {
        reason(p, apr_pstrcat(pool, srv->command, " is not on the child's "
                              "PATH; the login shell may know it", NULL));
        p->not_found = *searched ? searched : "an empty PATH";
        return wrap(p, in, line, error, pool);
    }
    *error = apr_psprintf(pool, "command not found: %s (searched: %s)",
                          srv->command, *searched ? searched : "an empty PATH");
    return APR_ENOENT;
}

apr_status_t berth_plan_build(berth_plan_t **out,
                              const berth_server_config_t *srv,
                              const berth_plan_in_t *in, const char **error,
                              apr_pool_t *pool)
{
    berth_plan_t *p = new_plan(in, srv->name, pool);
    berth_envset_in_t ei = { in->facts, process_env(in), in->cfg, srv->env,
                             in->login, NULL };
    const char *why;
    apr_status_t rv;

    *out = NULL;
    *error = NULL;
    if (srv->transport != BERTH_TRANSPORT_STDIO) {
        *error = apr_psprintf(pool, "%s is a remote server (%s): berth "
                              "connects to it, there is nothing to start",
                              srv->name, berth_transport_name(srv->transport));
        return APR_EINVAL;
    }
    p->cwd = srv->cwd;
    p->secrets = configured_secrets(srv, pool);
    berth_isolation_mode_t mode = berth_isolation_effective(in->cfg, srv, &why);
    if (berth_isolation_is_docker_command(srv->command))
        rv = plan_user_docker(p, srv, in, &ei, error, pool);
    else if (mode == BERTH_ISOLATION_DOCKER)
        rv = plan_isolated(p, srv, in, &ei, why, error, pool);
    else
        rv = plan_program(p, srv, in, &ei, why, error, pool);
    if (rv == APR_SUCCESS)
        *out = p;
    return rv;
}

apr_status_t berth_plan_docker_command(berth_plan_t **out,
                                       const apr_array_header_t *docker_args,
                                       const berth_plan_in_t *in,
                                       apr_pool_t *pool)
{
    const char *error;
    berth_plan_t *p = new_plan(in, NULL, pool);
    berth_envset_in_t ei = { in->facts, process_env(in), in->cfg, NULL,
                             in->login, dir_of(&in->docker, pool) };
    p->mode = BERTH_PLAN_DOCKER;
    p->secrets = strings(pool);
    p->env = berth_envset_build(&ei, p->reasons, pool);
    apr_array_header_t *dargs = apr_array_copy(pool, docker_args);
    apr_status_t rv = plan_docker(p, in, dargs, 0, &error, pool);
    *out = rv == APR_SUCCESS ? p : NULL;
    return rv;
}

/* A variable whose name says it holds a secret. */
static int secret_name(const char *key, apr_size_t n)
{
    static const char *const words[] = { "TOKEN", "SECRET", "PASSWORD",
                                         "PASSWD", "CREDENTIAL", "API_KEY",
                                         "APIKEY", "PRIVATE", "AUTH", NULL };
    char up[128];
    if (n >= sizeof up)
        n = sizeof up - 1;
    for (apr_size_t i = 0; i < n; i++)
        up[i] = (char)toupper((unsigned char)key[i]);
    up[n] = '\0';
    for (const char *const *w = words; *w; w++)
        if (strstr(up, *w))
            return 1;
    return 0;
}

json_t *berth_plan_json(const berth_plan_t *p, apr_pool_t *pool)
{
    json_t *o = json_object();
    json_t *argv = json_array(), *env = json_array(), *reasons = json_array();
    apr_array_header_t *ra = berth_redact_argv(p->argv, p->secrets, pool);
    json_object_set_new(o, "server", p->server ? json_string(p->server)
                                               : json_null());
    json_object_set_new(o, "mode", json_string(berth_plan_mode_name(p->mode)));
    json_object_set_new(o, "program", json_string(p->program));
    for (int i = 0; i < ra->nelts; i++)
        json_array_append_new(argv, json_string(APR_ARRAY_IDX(ra, i,
                                                              const char *)));
    json_object_set_new(o, "argv", argv);
    if (p->command_line)
        json_object_set_new(o, "command_line", json_string(berth_redact_text(
                                                   p->command_line, p->secrets,
                                                   pool)));
    for (int i = 0; i < p->env->nelts; i++) {
        const char *e = APR_ARRAY_IDX(p->env, i, const char *);
        apr_size_t kl;
        const char *v = berth_env_value(e, &kl);
        int hide = secret_name(e, kl);
        for (int s = 0; !hide && v && s < p->secrets->nelts; s++)
            hide = strcmp(v, APR_ARRAY_IDX(p->secrets, s, const char *)) == 0;
        json_array_append_new(env, json_string(
            hide ? apr_pstrcat(pool, apr_pstrmemdup(pool, e, kl), "=***", NULL)
                 : berth_redact_text(e, p->secrets, pool)));
    }
    json_object_set_new(o, "env", env);
    json_object_set_new(o, "cwd", p->cwd ? json_string(p->cwd) : json_null());
    json_object_set_new(o, "cidfile", p->cidfile ? json_string(p->cidfile)
                                                 : json_null());
    json_object_set_new(o, "wrapped", json_boolean(p->wrapped));
    json_object_set_new(o, "shell", p->shell ? json_string(p->shell)
                                             : json_null());
    json_t *d = json_object();
    json_object_set_new(d, "path", p->docker.path ? json_string(p->docker.path)
                                                  : json_null());
    json_object_set_new(d, "source", json_string(berth_docker_source_name(
                                         p->docker.source)));
    json_object_set_new(d, "verified", json_boolean(p->docker.verified));
    json_object_set_new(d, "daemon_env_guaranteed",
                        json_boolean(p->daemon_env_guaranteed));
    json_object_set_new(o, "docker", d);
    for (int i = 0; i < p->reasons->nelts; i++)
        json_array_append_new(reasons, json_string(berth_redact_text(
            APR_ARRAY_IDX(p->reasons, i, const char *), p->secrets, pool)));
    json_object_set_new(o, "reasons", reasons);
    return o;
}
