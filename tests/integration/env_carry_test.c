/* docs/isolation.md ("The server's env"), with real processes: a plan for
 * an isolated server and for a user's docker run is executed as berth
 * executes it, directly and through the real login shells (sh, bash, zsh,
 * fish), whose profiles export the same names with other values. A fake
 * docker records its argv and its environment: the argv has -e NAME and no
 * value, and the environment has each configured value byte for byte
 * (blanks, quotes, $, `, backslashes, line breaks, UTF-8, empty), never the
 * profile's. The fake docker is this program under the name docker (a
 * symlink): a shell script would itself choke on some of the names.
 *
 * Usage: env_carry_test */
#define _XOPEN_SOURCE 700
#include "itest_util.h"

#include "config.h"
#include "hostfacts.h"
#include "spawnplan.h"

static const char *g_tmp;     /* this run's scratch folder */
static const char *g_docker;  /* the fake docker */
static const char *g_home;    /* HOME, with a profile for every shell */

/* The configured values: every character class a shell treats specially. */
static const struct {
    const char *name, *value;
} g_env[] = {
    { "API_KEY", "k-123 with blanks  and 'single' \"double\" quotes" },
    { "DOLLARS", "$HOME ${HOME} $(id) `id` $((1+1)) \\$x" },
    { "BACKSLASH", "trailing\\" },
    { "MULTILINE", "line1\nline2\n" },
    { "UNICODE", "日本 é 😀" },
    { "EMPTY", "" },
    { "GLOB", "* ? [ab] ~ ! # ; & | < >" },
};
#define N_ENV (sizeof g_env / sizeof g_env[0])

/* Names some shell gives a meaning of its own: assigned back they would
 * fail or change; through a shell they go on docker's line instead. */
static const char *const g_special[] = {
    "LINES", "SECONDS", "RANDOM", "UID", "PPID", "SHLVL", "PWD", "OPTIND",
    "status", "path", "BASH_ARGV", "fish_pid", "_", NULL
};

static int setup(void **state)
{
    if (itest_setup(state) != 0)
        return -1;
    g_tmp = make_temp_dir("envcarry");
    g_docker = apr_pstrcat(test_pool, g_tmp, "/docker", NULL);
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        fail_msg("readlink /proc/self/exe: %s", strerror(errno));
    self[n] = '\0';
    if (symlink(self, g_docker) != 0)
        fail_msg("symlink %s: %s", g_docker, strerror(errno));
    g_home = apr_pstrcat(test_pool, g_tmp, "/home", NULL);
    mkdir(g_home, 0700);
    /* every shell's login profile exports the same names, other values */
    const char *sh = "", *fish = "";
    for (size_t i = 0; i < N_ENV; i++) {
        sh = apr_pstrcat(test_pool, sh, "export ", g_env[i].name,
                         "=from-the-profile\n", NULL);
        fish = apr_pstrcat(test_pool, fish, "set -gx ", g_env[i].name,
                           " from-the-profile\n", NULL);
    }
    write_file(apr_pstrcat(test_pool, g_home, "/.profile", NULL), sh, 0644);
    write_file(apr_pstrcat(test_pool, g_home, "/.zprofile", NULL), sh, 0644);
    mkdir(apr_pstrcat(test_pool, g_home, "/.config", NULL), 0700);
    mkdir(apr_pstrcat(test_pool, g_home, "/.config/fish", NULL), 0700);
    write_file(apr_pstrcat(test_pool, g_home, "/.config/fish/config.fish",
                           NULL),
               fish, 0644);
    return 0;
}

static int teardown(void **state)
{
    rm_tree(g_tmp);
    return itest_teardown(state);
}

/* The config: an isolated server and a user's docker run, both with the
 * hostile env. */
static const berth_config_t *config(void)
{
    json_t *env = json_object();
    for (size_t i = 0; i < N_ENV; i++)
        json_object_set_new(env, g_env[i].name, json_string(g_env[i].value));
    for (const char *const *n = g_special; *n; n++)
        json_object_set_new(env, *n, json_string(apr_pstrcat(
                                         test_pool, "v-", *n, " x", NULL)));
    char *env_text = json_dumps(env, 0);
    const char *text = apr_psprintf(
        test_pool,
        "{\"mcpServers\": {"
        "\"iso\": {\"command\": \"uvx\", \"args\": [\"srv\"], \"env\": %s, "
        "\"isolation\": {\"mode\": \"docker\", \"image\": \"img:1\"}},"
        "\"dock\": {\"command\": \"docker\", \"args\": [\"run\", \"-i\", "
        "\"img:1\"], \"env\": %s}}}",
        env_text, env_text);
    free(env_text);
    json_decref(env);
    berth_config_t *cfg;
    apr_array_header_t *diags = apr_array_make(test_pool, 2,
                                               sizeof(berth_diag_t));
    if (berth_config_parse("t.json", text, strlen(text), &cfg, diags,
                           test_pool) != APR_SUCCESS)
        fail_msg("config rejected");
    return cfg;
}

/* The plan for SERVER with SHELL as the login shell (NULL: DOCKER_HOST is
 * set, so docker runs directly). */
static berth_plan_t *plan(const berth_config_t *cfg, const char *server,
                          const char *shell)
{
    berth_hostfacts_t *f;
    assert_int_equal(berth_hostfacts_real(&f, test_pool), APR_SUCCESS);
    f->login_shell = shell ? shell : "/bin/sh";
    f->env = apr_array_make(test_pool, 8, sizeof(const char *));
    APR_ARRAY_PUSH(f->env, const char *) = "PATH=/usr/local/bin:/usr/bin:/bin";
    APR_ARRAY_PUSH(f->env, const char *) =
        apr_pstrcat(test_pool, "HOME=", g_home, NULL);
    APR_ARRAY_PUSH(f->env, const char *) = "LANG=C.UTF-8";
    if (!shell)
        APR_ARRAY_PUSH(f->env, const char *) = "DOCKER_HOST=unix:///nowhere";
    berth_plan_in_t in = { f, NULL, cfg,
                           { g_docker, BERTH_DOCKER_FROM_PATH, 1 }, NULL,
                           g_tmp, "t1", "host/1/2/3" };
    berth_plan_t *p;
    const char *error;
    if (berth_plan_build(&p, berth_config_find_server(cfg, server), &in,
                         &error, test_pool) != APR_SUCCESS)
        fail_msg("%s: no plan: %s", server, error);
    assert_int_equal(p->wrapped, shell != NULL);
    return p;
}

/* NUL-separated records of FILE. */
static apr_array_header_t *records(const char *file)
{
    apr_array_header_t *a = apr_array_make(test_pool, 32,
                                           sizeof(const char *));
    FILE *fp = fopen(file, "rb");
    if (!fp)
        fail_msg("the fake docker did not run (no %s)", file);
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getdelim(&buf, &cap, '\0', fp)) > 0)
        APR_ARRAY_PUSH(a, const char *) = apr_pstrmemdup(test_pool, buf,
                                                         (size_t)n - 1);
    free(buf);
    fclose(fp);
    return a;
}

static const char *value_in(const apr_array_header_t *env, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < env->nelts; i++) {
        const char *e = APR_ARRAY_IDX(env, i, const char *);
        if (strncmp(e, name, n) == 0 && e[n] == '=')
            return e + n + 1;
    }
    return NULL;
}

/* Runs P as berth would and checks what the fake docker got. */
static void run_and_check(const berth_plan_t *p, const char *what)
{
    const char **argv = apr_pcalloc(test_pool, sizeof(char *) *
                                               (size_t)(p->argv->nelts + 1));
    for (int i = 0; i < p->argv->nelts; i++)
        argv[i] = APR_ARRAY_IDX(p->argv, i, const char *);
    const char **envp = apr_pcalloc(test_pool, sizeof(char *) *
                                               (size_t)(p->env->nelts + 1));
    for (int i = 0; i < p->env->nelts; i++)
        envp[i] = APR_ARRAY_IDX(p->env, i, const char *);
    unlink(apr_pstrcat(test_pool, g_tmp, "/argv", NULL));
    run_t r;
    run_proc(argv, envp, 30, &r);
    if (!r.exited || r.status != 0)
        fail_msg("%s: exit %d: %s", what, r.status, shows(r.err));
    apr_array_header_t *got = records(apr_pstrcat(test_pool, g_tmp, "/argv",
                                                  NULL));
    apr_array_header_t *env = records(apr_pstrcat(test_pool, g_tmp, "/env",
                                                  NULL));
    for (size_t k = 0; k < N_ENV; k++) {
        int flag = 0;
        for (int i = 0; i + 1 < got->nelts; i++)
            flag |= strcmp(APR_ARRAY_IDX(got, i, const char *), "-e") == 0 &&
                    strcmp(APR_ARRAY_IDX(got, i + 1, const char *),
                           g_env[k].name) == 0;
        if (!flag)
            fail_msg("%s: docker got no -e %s", what, g_env[k].name);
        for (int i = 0; *g_env[k].value && i < got->nelts; i++)
            if (strstr(APR_ARRAY_IDX(got, i, const char *), g_env[k].value))
                fail_msg("%s: docker's argv holds the value of %s", what,
                         g_env[k].name);
        const char *v = value_in(env, g_env[k].name);
        if (!v || strcmp(v, g_env[k].value) != 0)
            fail_msg("%s: docker's %s is %s, want %s", what, g_env[k].name,
                     v ? shows(v) : "(unset)", shows(g_env[k].value));
    }
    /* the specials reach the container too: from docker's environment
     * when it runs directly, else as -e NAME=VALUE */
    for (const char *const *n = g_special; *n; n++) {
        const char *want = apr_pstrcat(test_pool, "v-", *n, " x", NULL);
        const char *pair = apr_pstrcat(test_pool, *n, "=", want, NULL);
        int found = 0;
        for (int i = 0; i + 1 < got->nelts; i++)
            found |= strcmp(APR_ARRAY_IDX(got, i, const char *), "-e") == 0 &&
                     strcmp(APR_ARRAY_IDX(got, i + 1, const char *),
                            p->wrapped ? pair : *n) == 0;
        const char *v = value_in(env, *n);
        if (!found || (!p->wrapped && (!v || strcmp(v, want) != 0)))
            fail_msg("%s: %s does not reach the container (-e %s)", what,
                     *n, p->wrapped ? pair : *n);
    }
    /* and no shell's command line held a value either */
    for (int i = 0; i < p->argv->nelts; i++)
        for (size_t k = 0; k < N_ENV; k++)
            if (*g_env[k].value &&
                strstr(APR_ARRAY_IDX(p->argv, i, const char *),
                       g_env[k].value))
                fail_msg("%s: argv[%d] holds the value of %s", what, i,
                         g_env[k].name);
}

static void check_shell(const char *shell)
{
    const berth_config_t *cfg = config();
    const char *servers[] = { "iso", "dock" };
    for (int s = 0; s < 2; s++)
        run_and_check(plan(cfg, servers[s], shell),
                      apr_psprintf(test_pool, "%s via %s", servers[s],
                                   shell ? shell : "direct exec"));
}

static const char *shell_or_skip(const char *name)
{
    const char *p = find_binary(name);
    if (!p) {
        print_message("%s is not installed: skipped (.ci/setup installs it)\n",
                      name);
        skip();
    }
    return p;
}

static void test_direct(void **state)
{
    (void)state;
    check_shell(NULL);
}

static void test_sh(void **state)
{
    (void)state;
    check_shell("/bin/sh");
}

static void test_bash(void **state)
{
    (void)state;
    check_shell(shell_or_skip("bash"));
}

static void test_zsh(void **state)
{
    (void)state;
    check_shell(shell_or_skip("zsh"));
}

static void test_fish(void **state)
{
    (void)state;
    check_shell(shell_or_skip("fish"));
}

/* As the fake docker: the argv to DIR/argv, the environment to DIR/env,
 * NUL-separated, DIR being where the symlink is. */
extern char **environ;
static int fake_docker(const char *argv0, char **argv)
{
    const char *dir = apr_pstrndup(test_pool, argv0,
                                   (apr_size_t)(strrchr(argv0, '/') - argv0));
    FILE *a = fopen(apr_pstrcat(test_pool, dir, "/argv", NULL), "wb");
    FILE *e = fopen(apr_pstrcat(test_pool, dir, "/env", NULL), "wb");
    if (!a || !e)
        return 2;
    for (char **v = argv + 1; *v; v++)
        fwrite(*v, 1, strlen(*v) + 1, a);
    for (char **v = environ; *v; v++)
        fwrite(*v, 1, strlen(*v) + 1, e);
    return fclose(a) == 0 && fclose(e) == 0 ? 0 : 2;
}

int main(int argc, char **argv)
{
    const char *base = strrchr(argv[0], '/');
    if (argc > 0 && base && strcmp(base, "/docker") == 0) {
        apr_initialize();
        apr_pool_create(&test_pool, NULL);
        return fake_docker(argv[0], argv);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct),
        cmocka_unit_test(test_sh),
        cmocka_unit_test(test_bash),
        cmocka_unit_test(test_zsh),
        cmocka_unit_test(test_fish),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
