#include <string.h>

#include "test_util.h"
#include "fake_facts.h"

#include "config.h"
#include "redact.h"
#include "shellquote.h"
#include "spawnplan.h"
#include "winenv.h"

static berth_config_t *config(const char *text)
{
    berth_config_t *cfg;
    apr_array_header_t *d = apr_array_make(test_pool, 2, sizeof(berth_diag_t));
    if (berth_config_parse("t.json", text, strlen(text), &cfg, d, test_pool) !=
        APR_SUCCESS)
        fail_msg("config rejected: %s",
                 berth_diag_format(&APR_ARRAY_IDX(d, 0, berth_diag_t),
                                   test_pool));
    return cfg;
}

static berth_plan_t *plan_of(const berth_hostfacts_t *f,
                             const berth_config_t *cfg, const char *server,
                             berth_docker_t docker, const char **error)
{
    berth_plan_in_t in = { f, NULL, cfg, docker, NULL,
                           f->os == BERTH_OS_WINDOWS ? "C:\\Users\\ada\\berth "
                                                       "state\\cid"
                                                     : "/run/user/1000/berth/cid",
                           "abc123", "inst1" };
    berth_plan_t *p = NULL;
    const char *why = NULL;
    berth_plan_build(&p, berth_config_find_server(cfg, server), &in, &why,
                     test_pool);
    if (error)
        *error = why;
    else if (!p)
        fail_msg("no plan: %s", why);
    return p;
}

static const char *arg(const apr_array_header_t *a, int i)
{
    if (i >= a->nelts)
        fail_msg("argv has %d elements, wanted index %d", a->nelts, i);
    return APR_ARRAY_IDX(a, i, const char *);
}

static const char *env_of(const berth_plan_t *p, const char *key)
{
    size_t kl = strlen(key);
    for (int i = 0; i < p->env->nelts; i++) {
        const char *e = APR_ARRAY_IDX(p->env, i, const char *);
        if (strncmp(e, key, kl) == 0 && e[kl] == '=')
            return e + kl + 1;
    }
    return NULL;
}

/* NAME=... with NAME a shell identifier: what a shell takes for an
 * assignment, never a docker path. */
static int is_assignment(const char *w)
{
    const char *eq = strchr(w, '=');
    if (!eq || eq == w || (w[0] >= '0' && w[0] <= '9'))
        return 0;
    for (const char *c = w; c < eq; c++)
        if (!(*c == '_' || (*c >= 'A' && *c <= 'Z') ||
              (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
            return 0;
    return 1;
}

/* The docker argv a plan really executes, parsed back from whatever shape
 * the plan took (direct, POSIX/fish wrap, cmd wrap, Windows direct line). */
static apr_array_header_t *executed_docker_argv(const berth_hostfacts_t *f,
                                                const berth_plan_t *p)
{
    apr_array_header_t *out;
    if (!p->wrapped) {
        if (f->os == BERTH_OS_WINDOWS)
            return berth_parse_msvcrt(p->command_line, test_pool);
        return p->argv;
    }
    int known;
    berth_shell_family_t fam = berth_shell_family(p->shell, &known);
    if (fam == BERTH_SHELL_CMD) {
        const char *after = strstr(p->command_line, " /c ");
        assert_non_null(after);
        return berth_parse_msvcrt(berth_parse_cmd(after + 4, test_pool),
                                  test_pool);
    }
    assert_string_equal(arg(p->argv, 1), "-l");
    assert_string_equal(arg(p->argv, 2), "-c");
    if (fam == BERTH_SHELL_FISH)
        assert_int_equal(berth_parse_fish(arg(p->argv, 3), &out, test_pool),
                         APR_SUCCESS);
    else
        assert_int_equal(berth_parse_posix(arg(p->argv, 3), &out, test_pool),
                         APR_SUCCESS);
    /* the NAME="$ALIAS" words before docker are the shell's, not docker's */
    int skip = 0;
    while (skip < out->nelts && is_assignment(arg(out, skip)))
        skip++;
    apr_array_header_t *docker = apr_array_make(test_pool, out->nelts,
                                                sizeof(const char *));
    for (int i = skip; i < out->nelts; i++)
        APR_ARRAY_PUSH(docker, const char *) = arg(out, i);
    return docker;
}

/* The words NAME=$ALIAS a wrapped line assigns before docker, parsed back
 * (no expansion), NULL-terminated. */
static const char **assignments_of(const berth_plan_t *p)
{
    apr_array_header_t *out, *got = apr_array_make(test_pool, 4,
                                                   sizeof(const char *));
    if (p->wrapped && p->argv->nelts == 4) {
        assert_int_equal(berth_parse_posix(arg(p->argv, 3), &out, test_pool),
                         APR_SUCCESS);
        for (int i = 0; i < out->nelts && is_assignment(arg(out, i)); i++)
            APR_ARRAY_PUSH(got, const char *) = arg(out, i);
    }
    APR_ARRAY_PUSH(got, const char *) = NULL;
    return (const char **)got->elts;
}

/* Direct exec or wrap, for every OS, verified or not, with and without the
 * daemon variables, and Git Bash as the Windows shell. */
static void test_direct_or_wrap_matrix(void **state)
{
    (void)state;
    berth_config_t *cfg = config(
        "{\"docker_isolation\": {\"mode\": \"docker\"}, \"mcpServers\": {"
        "\"s\": {\"command\": \"uvx\", \"args\": [\"mcp-server-fetch\"]}}}");
    berth_os_t oses[] = { BERTH_OS_LINUX, BERTH_OS_DARWIN, BERTH_OS_WINDOWS,
                          BERTH_OS_OTHER };
    const char *vars[] = { NULL, "DOCKER_HOST=unix:///x.sock",
                           "DOCKER_CONTEXT=colima", "DOCKER_HOST=" };
    for (size_t o = 0; o < 4; o++) {
        for (int verified = 0; verified < 2; verified++) {
            for (size_t v = 0; v < 4; v++) {
                for (int gitbash = 0; gitbash < 2; gitbash++) {
                    berth_os_t os = oses[o];
                    if (gitbash && os != BERTH_OS_WINDOWS)
                        continue;
                    int win = os == BERTH_OS_WINDOWS;
                    const char *env[] = { win ? "PATH=C:\\Windows"
                                              : "PATH=/usr/local/bin:/usr/bin",
                                          vars[v], NULL };
                    berth_hostfacts_t *f = fake_facts(os, env, test_pool);
                    if (gitbash)
                        f->login_shell = "C:\\Program Files\\Git\\bin\\bash.exe";
                    const char *dpath =
                        win ? "C:\\Program Files\\Docker\\Docker\\resources\\"
                              "bin\\docker.exe"
                            : "/opt/docker bin/docker";
                    berth_docker_t d = { NULL, BERTH_DOCKER_ABSENT, 0 };
                    if (verified) {
                        fake_path(f, dpath, BERTH_PROBE_EXEC);
                        d.path = dpath;
                        d.source = BERTH_DOCKER_BUNDLED;
                        d.verified = 1;
                    }
                    berth_plan_t *p = plan_of(f, cfg, "s", d, NULL);
                    int env_set = v == 1 || v == 2;
                    int want_direct = verified &&
                                      (os == BERTH_OS_DARWIN || win || env_set);
                    if (p->wrapped == want_direct)
                        fail_msg("os %s verified %d var %s gitbash %d: "
                                 "wrapped %d", berth_os_name(os), verified,
                                 vars[v] ? vars[v] : "-", gitbash, p->wrapped);
                    apr_array_header_t *ex = executed_docker_argv(f, p);
                    /* the docker token: absolute when verified, else bare */
                    assert_string_equal(arg(ex, 0), verified ? dpath
                                                             : "docker");
                    assert_string_equal(arg(ex, 1), "run");
                    assert_string_equal(arg(ex, 2), "--cidfile");
                    assert_string_equal(arg(ex, 3), p->cidfile);
                    assert_string_equal(arg(ex, ex->nelts - 1),
                                        "mcp-server-fetch");
                    if (p->wrapped) {
                        if (win && !gitbash)
                            assert_string_equal(p->program, f->login_shell);
                        else
                            assert_string_equal(arg(p->argv, 0),
                                                f->login_shell);
                    } else {
                        assert_string_equal(p->program, dpath);
                    }
                }
            }
        }
    }
}

/* The cidfile goes right after run, before any wrapping, for every shape
 * and shell, with paths that break naive string surgery. */
static void test_cidfile_position_every_shape(void **state)
{
    (void)state;
    const char *shells[] = { "/bin/bash", "/usr/bin/fish", "/bin/zsh",
                             "/bin/dash", "/usr/local/bin/nu" };
    berth_config_t *cfg = config(
        "{\"mcpServers\": {\"gh\": {\"command\": \"docker\", \"args\": "
        "[\"run\", \"-i\", \"--rm\", \"--name\", \"run\", \"img:1\", "
        "\"--cidfile-like\", \"run\"], \"env\": {\"TOKEN\": \"s3cr3t v\"}}}}");
    for (size_t s = 0; s < sizeof shells / sizeof shells[0]; s++) {
        const char *env[] = { "PATH=/usr/bin", NULL };
        berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
        f->login_shell = shells[s];
        berth_docker_t d = { "/usr/bin/docker", BERTH_DOCKER_FROM_PATH, 1 };
        fake_path(f, "/usr/bin/docker", BERTH_PROBE_EXEC);
        berth_plan_t *p = plan_of(f, cfg, "gh", d, NULL);
        assert_true(p->wrapped);
        apr_array_header_t *ex = executed_docker_argv(f, p);
        const char *want[] = { "/usr/bin/docker", "run", "--cidfile",
                               "/run/user/1000/berth/cid/gh-abc123.cid", "-e",
                               "TOKEN", "--label",
                               "io.berth.managed=true", "--label",
                               "io.berth.server=gh", "--label",
                               "io.berth.instance=inst1", "-i", "--rm",
                               "--name", "run", "img:1", "--cidfile-like",
                               "run", NULL };
        for (int i = 0; want[i]; i++)
            assert_string_equal(arg(ex, i), want[i]);
        assert_int_equal(ex->nelts, 19);
        if (s == 4)
            assert_non_null(strstr(arg(p->reasons, p->reasons->nelts - 1),
                                   "not one berth knows"));
    }
    /* Windows, with spaces in both the docker path and the cidfile folder,
     * through cmd.exe and directly */
    for (int direct = 0; direct < 2; direct++) {
        const char *env[] = { "PATH=C:\\Windows", NULL };
        berth_hostfacts_t *f = fake_facts(BERTH_OS_WINDOWS, env, test_pool);
        berth_docker_t d = { NULL, BERTH_DOCKER_ABSENT, 0 };
        if (direct) {
            d.path = "C:\\Program Files\\Docker\\Docker\\resources\\bin\\"
                     "docker.exe";
            d.source = BERTH_DOCKER_BUNDLED;
            d.verified = 1;
            fake_path(f, d.path, BERTH_PROBE_FILE);
        }
        berth_plan_t *p = plan_of(f, cfg, "gh", d, NULL);
        assert_int_equal(p->wrapped, !direct);
        apr_array_header_t *ex = executed_docker_argv(f, p);
        assert_string_equal(arg(ex, 1), "run");
        assert_string_equal(arg(ex, 2), "--cidfile");
        assert_string_equal(arg(ex, 3),
                            "C:\\Users\\ada\\berth state\\cid\\gh-abc123.cid");
        assert_string_equal(arg(ex, 5), "TOKEN");
        assert_string_equal(env_of(p, "TOKEN"), "s3cr3t v");
        assert_string_equal(arg(ex, 11), "io.berth.instance=inst1");
        assert_string_equal(arg(ex, 18), "run");
    }
}

/* 1 when ARGV holds the words WANT (NULL-terminated) one after another. */
static int has_run(const apr_array_header_t *argv, const char *const *want)
{
    int n = 0;
    while (want[n])
        n++;
    for (int i = 0; i + n <= argv->nelts; i++) {
        int k = 0;
        while (k < n && strcmp(arg(argv, i + k), want[k]) == 0)
            k++;
        if (k == n)
            return 1;
    }
    return 0;
}

static int has_word(const apr_array_header_t *argv, const char *word)
{
    const char *one[] = { word, NULL };
    return has_run(argv, one);
}

static const char *reason_with(const berth_plan_t *p, const char *part)
{
    for (int i = 0; i < p->reasons->nelts; i++)
        if (strstr(APR_ARRAY_IDX(p->reasons, i, const char *), part))
            return APR_ARRAY_IDX(p->reasons, i, const char *);
    return NULL;
}

/* No value of a server's env is on any command line a plan runs (the
 * docker client's, or the shell's that wraps it): -e NAME takes it from the
 * client's environment. A wrapping login shell gets it under an alias its
 * profile cannot touch and assigns it back for docker alone. Names docker
 * itself reads, and names the client's environment already has, keep
 * -e NAME=VALUE, with a reason. */
static void test_env_values_stay_off_the_command_line(void **state)
{
    (void)state;
    berth_config_t *cfg = config(
        "{\"docker_isolation\": {\"mode\": \"docker\"}, \"mcpServers\": {"
        "\"iso\": {\"command\": \"uvx\", \"env\": {\"API_KEY\": \"k-123\", "
        "\"A.B\": \"dotted-v\", \"LANG\": \"fr_FR.UTF-8\", \"HOME\": \"/data\", "
        "\"DOCKER_CONFIG\": \"/cfg\", \"https_proxy\": \"http://p:3128\"}},"
        "\"gh\": {\"command\": \"docker\", \"args\": [\"run\", \"-i\", \"-e\", "
        "\"TOKEN\", \"img\"], \"env\": {\"TOKEN\": \"t-456\"}}}}");
    const char *values[] = { "k-123", "t-456", NULL };
    const char *shells[] = { NULL, "/bin/bash", "/bin/dash", "/usr/bin/zsh",
                             "/usr/bin/fish" };
    for (size_t sh = 0; sh < sizeof shells / sizeof shells[0]; sh++) {
        const char *env[] = { "PATH=/usr/bin", "LANG=C.UTF-8", "HOME=/root",
                              shells[sh] ? NULL : "DOCKER_HOST=unix:///d",
                              NULL };
        berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
        if (shells[sh])
            f->login_shell = shells[sh];
        berth_docker_t d = { "/usr/bin/docker", BERTH_DOCKER_FROM_PATH, 1 };
        fake_path(f, d.path, BERTH_PROBE_EXEC);
        for (int s = 0; s < 2; s++) {
            berth_plan_t *p = plan_of(f, cfg, s ? "gh" : "iso", d, NULL);
            assert_int_equal(p->wrapped, shells[sh] != NULL);
            for (int i = 0; i < p->argv->nelts; i++)
                for (int v = 0; values[v]; v++)
                    if (strstr(arg(p->argv, i), values[v]))
                        fail_msg("%s, shell %s: argv[%d] holds %s: %s",
                                 s ? "gh" : "iso", shells[sh], i, values[v],
                                 arg(p->argv, i));
            apr_array_header_t *ex = executed_docker_argv(f, p);
            const char *name = s ? "TOKEN" : "API_KEY";
            const char *value = s ? "t-456" : "k-123";
            const char *flag[] = { "-e", name, NULL };
            assert_true(has_run(ex, flag));
            const char **as = assignments_of(p);
            if (!shells[sh]) {
                /* direct: under its own name */
                assert_string_equal(env_of(p, name), value);
                assert_null(as[0]);
            } else {
                /* wrapped: under an alias, assigned back before docker */
                assert_null(env_of(p, name));
                assert_string_equal(env_of(p, apr_pstrcat(
                                                  test_pool, "BERTH_ENV_",
                                                  name, NULL)),
                                    value);
                assert_string_equal(as[0], apr_pstrcat(test_pool, name,
                                                       "=$BERTH_ENV_", name,
                                                       NULL));
                assert_null(as[1]);
            }
            if (s)
                continue;
            /* what docker reads, or its environment has: on the line */
            const char *kept[] = { "LANG=fr_FR.UTF-8", "HOME=/data",
                                   "DOCKER_CONFIG=/cfg",
                                   "https_proxy=http://p:3128", NULL };
            for (int k = 0; kept[k]; k++) {
                const char *e[] = { "-e", kept[k], NULL };
                if (!has_run(ex, e))
                    fail_msg("shell %s: no -e %s", shells[sh], kept[k]);
            }
            assert_non_null(reason_with(p, "LANG goes on docker's command "
                                           "line (-e LANG=***): docker's own "
                                           "environment has LANG"));
            assert_non_null(reason_with(p, "DOCKER_CONFIG goes on docker's "
                                           "command line (-e "
                                           "DOCKER_CONFIG=***): docker reads "
                                           "DOCKER_CONFIG itself"));
            /* a name no shell can assign: as is when direct, on the line
             * when a shell might drop it (dash does) */
            const char *dotted[] = { "-e", shells[sh] ? "A.B=dotted-v"
                                                      : "A.B", NULL };
            assert_true(has_run(ex, dotted));
            if (!shells[sh])
                assert_string_equal(env_of(p, "A.B"), "dotted-v");
            else
                assert_non_null(reason_with(p, "A.B goes on docker's command "
                                               "line (-e A.B=***): it is no "
                                               "shell variable name"));
        }
    }
    /* Windows, directly and through cmd.exe (which reads no profile with
     * /d): under its own name */
    cfg = config("{\"docker_isolation\": {\"mode\": \"docker\"}, "
                 "\"mcpServers\": {\"iso\": {\"command\": \"uvx\", \"env\": "
                 "{\"API_KEY\": \"k-123\", \"Temp\": \"C:\\\\t\"}}}}");
    for (int direct = 0; direct < 2; direct++) {
        const char *env[] = { "PATH=C:\\Windows", "TEMP=C:\\T", NULL };
        berth_hostfacts_t *f = fake_facts(BERTH_OS_WINDOWS, env, test_pool);
        berth_docker_t d = { NULL, BERTH_DOCKER_ABSENT, 0 };
        if (direct) {
            d.path = "C:\\Docker\\docker.exe";
            d.source = BERTH_DOCKER_BUNDLED;
            d.verified = 1;
            fake_path(f, d.path, BERTH_PROBE_FILE);
        }
        berth_plan_t *p = plan_of(f, cfg, "iso", d, NULL);
        assert_int_equal(p->wrapped, !direct);
        assert_null(strstr(p->command_line, "k-123"));
        assert_string_equal(env_of(p, "API_KEY"), "k-123");
        apr_array_header_t *ex = executed_docker_argv(f, p);
        const char *flag[] = { "-e", "API_KEY", NULL };
        assert_true(has_run(ex, flag));
        /* names compare without case there: Temp is docker's TEMP */
        const char *temp[] = { "-e", "Temp=C:\\t", NULL };
        assert_true(has_run(ex, temp));
        assert_string_equal(env_of(p, "TEMP"), "C:\\T");
    }
}

static void test_docker_dir_prepend(void **state)
{
    (void)state;
    berth_config_t *cfg = config(
        "{\"mcpServers\": {\"d\": {\"command\": \"docker\", \"args\": "
        "[\"run\", \"-i\", \"img\"]}}}");
    struct { const char *path; const char *want; } rows[] = {
        /* absent: prepended */
        { "PATH=/usr/local/bin:/usr/bin",
          "/Applications/Docker.app/Contents/Resources/bin:/usr/local/bin:"
          "/usr/bin" },
        /* present already: unchanged, not moved */
        { "PATH=/usr/local/bin:/Applications/Docker.app/Contents/Resources/"
          "bin", "/usr/local/bin:/Applications/Docker.app/Contents/Resources/"
          "bin" },
    };
    for (size_t i = 0; i < 2; i++) {
        const char *env[] = { rows[i].path, "DOCKER_HOST=unix:///x", NULL };
        berth_hostfacts_t *f = fake_facts(BERTH_OS_DARWIN, env, test_pool);
        berth_docker_t d = { "/Applications/Docker.app/Contents/Resources/bin/"
                             "docker", BERTH_DOCKER_BUNDLED, 1 };
        fake_path(f, d.path, BERTH_PROBE_EXEC);
        berth_plan_t *p = plan_of(f, cfg, "d", d, NULL);
        assert_string_equal(env_of(p, "PATH"), rows[i].want);
    }
    /* empty PATH on linux: the tool folders that exist, then docker's */
    const char *env[] = { "PATH=", "DOCKER_HOST=tcp://h:2376", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
    fake_path(f, "/usr/bin", BERTH_PROBE_DIR);
    berth_docker_t d = { "/opt/docker/bin/docker", BERTH_DOCKER_FROM_PATH, 1 };
    fake_path(f, d.path, BERTH_PROBE_EXEC);
    berth_plan_t *p = plan_of(f, cfg, "d", d, NULL);
    assert_string_equal(env_of(p, "PATH"), "/opt/docker/bin:/usr/bin");
    /* unverified docker: nothing to prepend */
    berth_docker_t u = { "alias docker=podman", BERTH_DOCKER_LOGIN_SHELL, 0 };
    berth_plan_t *q = plan_of(f, cfg, "d", u, NULL);
    assert_string_equal(env_of(q, "PATH"), "/usr/bin");
}

static void test_isolated_env_goes_into_container(void **state)
{
    (void)state;
    berth_config_t *cfg = config(
        "{\"docker_isolation\": {\"mode\": \"docker\", \"images\": "
        "{\"uvx\": \"my/uv:1\"}, \"network_mode\": \"bridge\", "
        "\"memory_limit\": \"512m\", \"extra_args\": [\"--read-only\"], "
        "\"log_max_size\": \"5m\", \"log_max_files\": 2}, "
        "\"mcpServers\": {"
        "\"f\": {\"command\": \"uvx\", \"args\": [\"srv\"], \"env\": "
        "{\"API_KEY\": \"k-123\"}, \"cwd\": \"/work\", \"isolation\": "
        "{\"network_mode\": \"none\", \"cpu_limit\": \"0.5\", "
        "\"extra_args\": [\"--pids-limit\", \"64\"]}},"
        "\"My Server!\": {\"command\": \"npx\", \"args\": [\"-y\", \"pkg\"], "
        "\"isolation\": {\"image\": \"custom/node\"}}}}");
    const char *env[] = { "PATH=/usr/bin", "DOCKER_HOST=unix:///d", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
    berth_docker_t d = { "/usr/bin/docker", BERTH_DOCKER_FROM_PATH, 1 };
    fake_path(f, d.path, BERTH_PROBE_EXEC);
    berth_plan_t *p = plan_of(f, cfg, "f", d, NULL);
    assert_int_equal(p->mode, BERTH_PLAN_ISOLATED);
    /* the order of docs/isolation.md; the server's settings win */
    const char *want[] = {
        "/usr/bin/docker", "run", "--cidfile",
        "/run/user/1000/berth/cid/f-abc123.cid", "--rm", "-i", "--name",
        "berth-f-abc123", "--label", "io.berth.managed=true", "--label",
        "io.berth.server=f", "--label", "io.berth.instance=inst1",
        "--log-driver", "json-file", "--log-opt", "max-size=5m",
        "--log-opt", "max-file=2", "--security-opt", "no-new-privileges",
        "--cap-drop", "ALL", "--init", "--pids-limit", "1024", "--network",
        "none", "--memory", "512m", "--cpus", "0.5", "--workdir", "/work",
        "-e", "API_KEY", "--read-only", "--pids-limit", "64", "my/uv:1",
        "uvx", "srv", NULL };
    int n = 0;
    for (; want[n]; n++)
        assert_string_equal(arg(p->argv, n), want[n]);
    assert_int_equal(p->argv->nelts, n);
    /* the value rides in the docker client's own environment */
    assert_string_equal(env_of(p, "API_KEY"), "k-123");
    berth_plan_t *q = plan_of(f, cfg, "My Server!", d, NULL);
    assert_string_equal(arg(q->argv, 7), "berth-My-Server--abc123");
    assert_string_equal(arg(q->argv, 11), "io.berth.server=My Server!");
    assert_string_equal(arg(q->argv, q->argv->nelts - 4), "custom/node");
    /* the global network applies when the server has none */
    assert_string_equal(arg(q->argv, 28), "bridge");
}

/* An isolated server is hardened by default (no new privileges, no
 * capabilities, docker's init as PID 1, a process limit), right after the
 * labels and log options so extra_args can still add to it; each default is
 * a docker_isolation setting a server's isolation overrides, and the plan
 * says where each came from. */
static void test_isolated_hardening(void **state)
{
    (void)state;
    const char *env[] = { "PATH=/usr/bin", "DOCKER_HOST=unix:///d", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
    berth_docker_t d = { "/usr/bin/docker", BERTH_DOCKER_FROM_PATH, 1 };
    fake_path(f, d.path, BERTH_PROBE_EXEC);

    berth_config_t *cfg = config(
        "{\"docker_isolation\": {\"mode\": \"docker\", \"network_mode\": "
        "\"none\"}, \"mcpServers\": {\"s\": {\"command\": \"uvx\", "
        "\"args\": [\"x\"]}}}");
    berth_plan_t *p = plan_of(f, cfg, "s", d, NULL);
    const char *hardened[] = { "io.berth.instance=inst1", "--security-opt",
                               "no-new-privileges", "--cap-drop", "ALL",
                               "--init", "--pids-limit", "1024", "--network",
                               "none", NULL };
    if (!has_run(p->argv, hardened))
        fail_msg("no hardening after the labels: %s",
                 apr_array_pstrcat(test_pool, p->argv, ' '));
    assert_non_null(reason_with(p, "hardening: --security-opt "
                                   "no-new-privileges (default), --cap-drop "
                                   "ALL (default), --init (default), "
                                   "--pids-limit 1024 (default)"));

    /* each one off for one server, the global values for the other */
    cfg = config(
        "{\"docker_isolation\": {\"mode\": \"docker\", \"pids_limit\": 200, "
        "\"init\": false}, \"mcpServers\": {"
        "\"loose\": {\"command\": \"uvx\", \"isolation\": {"
        "\"no_new_privileges\": false, \"cap_drop_all\": false, "
        "\"pids_limit\": 0}},"
        "\"g\": {\"command\": \"uvx\", \"isolation\": {\"init\": true, "
        "\"pids_limit\": 64}},"
        "\"inherit\": {\"command\": \"uvx\"}}}");
    p = plan_of(f, cfg, "loose", d, NULL);
    assert_false(has_word(p->argv, "--security-opt"));
    assert_false(has_word(p->argv, "--cap-drop"));
    assert_false(has_word(p->argv, "--init"));
    assert_false(has_word(p->argv, "--pids-limit"));
    assert_non_null(reason_with(p, "hardening: none; off: --security-opt "
                                   "(isolation.no_new_privileges), "
                                   "--cap-drop (isolation.cap_drop_all), "
                                   "--init (docker_isolation.init), "
                                   "--pids-limit (isolation.pids_limit)"));
    p = plan_of(f, cfg, "g", d, NULL);
    const char *own[] = { "--security-opt", "no-new-privileges", "--cap-drop",
                          "ALL", "--init", "--pids-limit", "64", NULL };
    assert_true(has_run(p->argv, own));
    assert_non_null(reason_with(p, "--init (isolation.init), --pids-limit "
                                   "64 (isolation.pids_limit)"));
    p = plan_of(f, cfg, "inherit", d, NULL);
    const char *inherited[] = { "--cap-drop", "ALL", "--pids-limit", "200",
                                NULL };
    assert_true(has_run(p->argv, inherited));
    assert_false(has_word(p->argv, "--init"));
    assert_non_null(reason_with(p, "--pids-limit 200 "
                                   "(docker_isolation.pids_limit); off: "
                                   "--init (docker_isolation.init)"));

    /* a user's own docker run is run as written: nothing added */
    cfg = config("{\"mcpServers\": {\"u\": {\"command\": \"docker\", "
                 "\"args\": [\"run\", \"-i\", \"img\"]}}}");
    p = plan_of(f, cfg, "u", d, NULL);
    assert_false(has_word(p->argv, "--cap-drop"));
    assert_false(has_word(p->argv, "--init"));
}

static void test_program_search_and_fallbacks(void **state)
{
    (void)state;
    berth_config_t *cfg = config(
        "{\"mcpServers\": {"
        "\"a\": {\"command\": \"uvx\", \"args\": [\"x y\"]},"
        "\"b\": {\"command\": \"mytool\", \"env\": {\"PATH\": \"/srv/bin\"}},"
        "\"c\": {\"command\": \"nowhere\", \"args\": [\"$HOME\"]},"
        "\"d\": {\"command\": \"./rel/tool\"}}}");
    const char *env[] = { "PATH=/usr/local/bin:/usr/bin", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
    berth_docker_t none = { NULL, BERTH_DOCKER_ABSENT, 0 };
    fake_path(f, "/usr/bin/uvx", BERTH_PROBE_EXEC);
    fake_path(f, "/usr/local/bin/mytool", BERTH_PROBE_EXEC); /* berth's PATH */
    fake_path(f, "/srv/bin/mytool", BERTH_PROBE_EXEC);       /* child's PATH */
    fake_path(f, "/bin/bash", BERTH_PROBE_EXEC);
    berth_plan_t *a = plan_of(f, cfg, "a", none, NULL);
    assert_false(a->wrapped);
    assert_string_equal(a->program, "/usr/bin/uvx");
    assert_string_equal(arg(a->argv, 1), "x y");
    /* searched on the child's PATH, not berth's */
    berth_plan_t *b = plan_of(f, cfg, "b", none, NULL);
    assert_string_equal(b->program, "/srv/bin/mytool");
    /* not found, a login shell exists: it gets a chance */
    berth_plan_t *c = plan_of(f, cfg, "c", none, NULL);
    assert_true(c->wrapped);
    assert_string_equal(arg(c->argv, 3), "nowhere '$HOME'");
    /* not found and no login shell: a clear error */
    f->login_shell = "/bin/nosuchshell";
    const char *error;
    assert_null(plan_of(f, cfg, "c", none, &error));
    assert_string_equal(error, "command not found: nowhere (searched: "
                               "/usr/local/bin:/usr/bin)");
    fake_path(f, "./rel/tool", BERTH_PROBE_EXEC);
    assert_string_equal(plan_of(f, cfg, "d", none, NULL)->program,
                        "./rel/tool");
}

static void test_windows_batch_and_exe(void **state)
{
    (void)state;
    berth_config_t *cfg = config(
        "{\"mcpServers\": {\"n\": {\"command\": \"npx\", \"args\": [\"-y\", "
        "\"@scope/pkg\", \"100%\", \"a&b\"]}, \"u\": {\"command\": \"uvx\", "
        "\"args\": [\"a b\"]}}}");
    const char *env[] = { "Path=C:\\Program Files\\nodejs;C:\\uv",
                          "PATHEXT=.COM;.EXE;.BAT;.CMD",
                          "ComSpec=C:\\Windows\\system32\\cmd.exe", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_WINDOWS, env, test_pool);
    fake_path(f, "C:\\Program Files\\nodejs\\npx.cmd", BERTH_PROBE_FILE);
    fake_path(f, "C:\\uv\\uvx.exe", BERTH_PROBE_FILE);
    berth_docker_t none = { NULL, BERTH_DOCKER_ABSENT, 0 };
    berth_plan_t *n = plan_of(f, cfg, "n", none, NULL);
    assert_true(n->wrapped);
    assert_string_equal(n->program, "C:\\Windows\\system32\\cmd.exe");
    apr_array_header_t *ex = berth_parse_msvcrt(
        berth_parse_cmd(strstr(n->command_line, " /c ") + 4, test_pool),
        test_pool);
    assert_string_equal(arg(ex, 0), "C:\\Program Files\\nodejs\\npx.CMD");
    assert_string_equal(arg(ex, 3), "100%");
    assert_string_equal(arg(ex, 4), "a&b");
    berth_plan_t *u = plan_of(f, cfg, "u", none, NULL);
    assert_false(u->wrapped);
    assert_string_equal(u->command_line, "C:\\uv\\uvx.EXE \"a b\"");
}

static void test_remote_server_has_no_plan(void **state)
{
    (void)state;
    berth_config_t *cfg = config("{\"mcpServers\": {\"r\": {\"url\": "
                                 "\"https://h/mcp\"}}}");
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, NULL, test_pool);
    berth_docker_t none = { NULL, BERTH_DOCKER_ABSENT, 0 };
    const char *error;
    assert_null(plan_of(f, cfg, "r", none, &error));
    assert_non_null(strstr(error, "remote server"));
}

static void test_plan_json_redacts(void **state)
{
    (void)state;
    berth_config_t *cfg = config(
        "{\"env\": {\"allow\": [\"GITHUB_TOKEN\", \"MY_*\"]}, \"mcpServers\": "
        "{\"gh\": {\"command\": \"docker\", \"args\": [\"run\", \"-i\", "
        "\"--env=PASS=pw-inline-1\", \"img\"], \"env\": {\"TOKEN\": "
        "\"ghp_configured_9\"}}, \"l\": {\"command\": \"tool\", \"env\": "
        "{\"DB\": \"postgres://u:pw-db-2@h/x\"}}}}");
    const char *env[] = { "PATH=/usr/bin", "GITHUB_TOKEN=ghp_env_allowed_7",
                          "MY_SETTING=visible-value", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
    berth_docker_t d = { "/usr/bin/docker", BERTH_DOCKER_FROM_PATH, 1 };
    fake_path(f, d.path, BERTH_PROBE_EXEC);
    fake_path(f, "/usr/bin/tool", BERTH_PROBE_EXEC);
    const char *names[] = { "gh", "l" };
    for (int s = 0; s < 2; s++) {
        berth_plan_t *p = plan_of(f, cfg, names[s], d, NULL);
        json_t *j = berth_plan_json(p, test_pool);
        char *text = json_dumps(j, 0);
        assert_null(strstr(text, "ghp_configured_9"));
        assert_null(strstr(text, "pw-inline-1"));
        assert_null(strstr(text, "pw-db-2"));
        /* allowed by the user, but its name says secret */
        assert_null(strstr(text, "ghp_env_allowed_7"));
        assert_non_null(strstr(text, "GITHUB_TOKEN=***"));
        assert_non_null(strstr(text, "MY_SETTING=visible-value"));
        if (s == 0) {
            assert_non_null(strstr(text, "TOKEN=***"));
            assert_non_null(strstr(text, "--env=PASS=***"));
        } else {
            assert_non_null(strstr(text, "\"DB=***\""));
        }
        free(text);
        json_decref(j);
    }
}

static void test_docker_management_command(void **state)
{
    (void)state;
    const char *env[] = { "PATH=/usr/bin", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
    berth_docker_t d = { "/usr/bin/docker", BERTH_DOCKER_FROM_PATH, 1 };
    fake_path(f, d.path, BERTH_PROBE_EXEC);
    berth_plan_in_t in = { f, NULL, NULL, d, NULL, "/c", "t", "i" };
    apr_array_header_t *args = apr_array_make(test_pool, 2,
                                              sizeof(const char *));
    APR_ARRAY_PUSH(args, const char *) = "stop";
    APR_ARRAY_PUSH(args, const char *) = "abc";
    berth_plan_t *p;
    assert_int_equal(berth_plan_docker_command(&p, args, &in, test_pool),
                     APR_SUCCESS);
    /* same wrap rule as a spawn, no cidfile */
    assert_true(p->wrapped);
    assert_null(p->cidfile);
    assert_string_equal(arg(p->argv, 3), "/usr/bin/docker stop abc");
}

/* A service account (the system unit's berth) has /usr/sbin/nologin as its
 * shell: docker runs directly, never through it, and a command that is not
 * on PATH is not looked for by it. */
static void test_shell_that_refuses_logins(void **state)
{
    (void)state;
    berth_config_t *cfg = config(
        "{\"docker_isolation\": {\"mode\": \"docker\"}, \"mcpServers\": {"
        "\"s\": {\"command\": \"uvx\", \"args\": [\"x\"]}, "
        "\"p\": {\"command\": \"nowhere\", \"isolation\": {\"mode\": "
        "\"none\"}}}}");
    const char *env[] = { "PATH=/usr/bin", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
    f->login_shell = "/usr/sbin/nologin";
    fake_path(f, "/usr/sbin/nologin", BERTH_PROBE_EXEC);
    berth_docker_t d = { "/usr/bin/docker", BERTH_DOCKER_FROM_PATH, 1 };
    fake_path(f, d.path, BERTH_PROBE_EXEC);
    berth_plan_t *p = plan_of(f, cfg, "s", d, NULL);
    assert_false(p->wrapped);
    assert_string_equal(p->program, "/usr/bin/docker");
    assert_string_equal(arg(p->argv, 1), "run");
    int said = 0;
    for (int i = 0; i < p->reasons->nelts; i++)
        said |= strstr(APR_ARRAY_IDX(p->reasons, i, const char *),
                       "/usr/sbin/nologin refuses logins") != NULL;
    assert_true(said);
    const char *error = NULL;
    assert_null(plan_of(f, cfg, "p", d, &error));
    assert_non_null(strstr(error, "command not found: nowhere"));
}

/* 1 when the JSON array A holds the string S. */
static int json_has(const json_t *a, const char *s)
{
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v)
        if (strcmp(json_string_value(v), s) == 0)
            return 1;
    return 0;
}

/* berth plan on Windows shows the variables the Windows rules put into a
 * child's environment, each with its reason: a LocalSystem fallback that
 * reached the child, and the variables every Windows program gets under a
 * replaced allow-list. Every shape gets them (here docker run and a
 * program). */
static void test_plan_shows_windows_child_variables(void **state)
{
    (void)state;
    const char *env[] = { "Path=C:\\Windows\\system32;C:\\tools",
                          "SystemRoot=C:\\Windows", "SystemDrive=C:",
                          "windir=C:\\Windows", "TEMP=C:\\Windows\\TEMP",
                          "TMP=C:\\Windows\\TEMP",
                          "ComSpec=C:\\Windows\\system32\\cmd.exe", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_WINDOWS, env, test_pool);
    f->home = NULL;
    f->known_folders.profile = "C:\\Windows\\system32\\config\\systemprofile";
    berth_winenv_fill(f, test_pool);
    fake_path(f, "C:\\tools\\tool.exe", BERTH_PROBE_FILE);
    berth_docker_t d = { "C:\\Docker\\docker.exe", BERTH_DOCKER_BUNDLED, 1 };
    const char *srv = "\"mcpServers\": {\"t\": {\"command\": "
                      "\"C:\\\\tools\\\\tool.exe\"}, "
                      "\"gh\": {\"command\": \"docker\", \"args\": [\"run\", "
                      "\"-i\", \"img\"]}}";
    const char *why_profile =
        "USERPROFILE is not in berth's environment (a service running as "
        "LocalSystem may lack it): C:\\Windows\\system32\\config\\"
        "systemprofile, the folder Windows knows for it (Profile)";
    const char *why_every =
        "SYSTEMROOT, SYSTEMDRIVE, WINDIR, TEMP, TMP from berth's environment: "
        "every Windows program gets SYSTEMROOT, SYSTEMDRIVE, WINDIR, TEMP, TMP "
        "and USERPROFILE";
    const char *names[] = { "t", "gh" };
    for (int s = 0; s < 2; s++) {
        berth_config_t *cfg = config(apr_pstrcat(test_pool, "{", srv, "}",
                                                 NULL));
        json_t *j = berth_plan_json(plan_of(f, cfg, names[s], d, NULL),
                                    test_pool);
        json_t *e = json_object_get(j, "env"), *r = json_object_get(j,
                                                                   "reasons");
        assert_true(json_has(e, "USERPROFILE=C:\\Windows\\system32\\config"
                                "\\systemprofile"));
        assert_true(json_has(e, "SystemDrive=C:"));
        assert_true(json_has(r, why_profile));
        assert_false(json_has(r, why_every));
        json_decref(j);

        /* the allow-list replaced: the six come from the rule instead, but
         * not the LocalSystem fallback */
        cfg = config(apr_pstrcat(test_pool, "{\"env\": {\"allow_defaults\": "
                                 "false}, ", srv, "}", NULL));
        j = berth_plan_json(plan_of(f, cfg, names[s], d, NULL), test_pool);
        e = json_object_get(j, "env");
        r = json_object_get(j, "reasons");
        assert_true(json_has(e, "SYSTEMDRIVE=C:"));
        assert_true(json_has(e, "SYSTEMROOT=C:\\Windows"));
        assert_true(json_has(e, "TEMP=C:\\Windows\\TEMP"));
        assert_false(json_has(e, "USERPROFILE=C:\\Windows\\system32\\"
                                 "config\\systemprofile"));
        assert_true(json_has(r, why_every));
        assert_false(json_has(r, why_profile));
        json_decref(j);
    }
}

int main(void)
{
    berth_redact_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_or_wrap_matrix),
        cmocka_unit_test(test_cidfile_position_every_shape),
        cmocka_unit_test(test_docker_dir_prepend),
        cmocka_unit_test(test_isolated_env_goes_into_container),
        cmocka_unit_test(test_isolated_hardening),
        cmocka_unit_test(test_env_values_stay_off_the_command_line),
        cmocka_unit_test(test_program_search_and_fallbacks),
        cmocka_unit_test(test_windows_batch_and_exe),
        cmocka_unit_test(test_remote_server_has_no_plan),
        cmocka_unit_test(test_plan_json_redacts),
        cmocka_unit_test(test_docker_management_command),
        cmocka_unit_test(test_shell_that_refuses_logins),
        cmocka_unit_test(test_plan_shows_windows_child_variables),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
