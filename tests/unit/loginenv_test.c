#include <string.h>

#include "test_util.h"
#include "doc_names.h"
#include "fake_facts.h"

#include "loginenv.h"

#define B "__B__"
#define E "__E__"

static const char *parse(const char *out, apr_size_t len,
                         apr_array_header_t **env)
{
    return berth_loginenv_parse(out, len, B, E, env, test_pool);
}

static const char *find(const apr_array_header_t *env, const char *key)
{
    size_t kl = strlen(key);
    for (int i = 0; i < env->nelts; i++) {
        const char *e = APR_ARRAY_IDX(env, i, const char *);
        if (strncmp(e, key, kl) == 0 && e[kl] == '=')
            return e + kl + 1;
    }
    return NULL;
}

static void test_parse_between_markers(void **state)
{
    (void)state;
    static const char out[] =
        "Last login: Mon\nWelcome, ada! FAKE=1\n" B
        "PATH=/a:/b\0MULTI=line one\nline two\0EQ=a=b=c\0"
        "1BAD=x\0BASH_FUNC_f%%=() { :; }\0=nokey\0novalue\0_OK=\0" E
        "\ndirenv: loading .envrc\nLATE=1\0";
    apr_array_header_t *env;
    assert_null(parse(out, sizeof out - 1, &env));
    assert_string_equal(find(env, "PATH"), "/a:/b");
    assert_string_equal(find(env, "MULTI"), "line one\nline two");
    assert_string_equal(find(env, "EQ"), "a=b=c");
    assert_string_equal(find(env, "_OK"), "");
    assert_null(find(env, "1BAD"));
    assert_null(find(env, "BASH_FUNC_f%%"));
    assert_null(find(env, "LATE"));
    assert_null(find(env, "FAKE"));
    assert_int_equal(env->nelts, 4);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    apr_array_header_t *env;
    static const char no_nul[] = B "PATH=/a\nHOME=/h\n" E;
    assert_non_null(strstr(parse(no_nul, sizeof no_nul - 1, &env), "NUL"));
    static const char no_begin[] = "PATH=/a\0" E;
    assert_non_null(parse(no_begin, sizeof no_begin - 1, &env));
    static const char no_end[] = B "PATH=/a\0";
    assert_non_null(parse(no_end, sizeof no_end - 1, &env));
    assert_non_null(parse("", 0, &env));
}

static berth_hostfacts_t *darwin(const char *const *env)
{
    return fake_facts(BERTH_OS_DARWIN, env, test_pool);
}

static void set_login(berth_hostfacts_t *f, const char *env, apr_size_t len)
{
    fk_of(f)->login_env = env;
    fk_of(f)->login_env_len = len;
    fk_of(f)->login_banner = "motd: hello\n";
}

static void test_capture_once(void **state)
{
    (void)state;
    static const char login[] = "PATH=/usr/local/bin:/usr/bin\0X=1\0";
    berth_hostfacts_t *f = darwin(NULL);
    set_login(f, login, sizeof login - 1);
    berth_loginenv_once_t *once = berth_loginenv_once_create(test_pool);
    assert_null(berth_loginenv_peek(once));
    const berth_loginenv_t *a = berth_loginenv_get(once, f);
    const berth_loginenv_t *b = berth_loginenv_get(once, f);
    assert_ptr_equal(a, b);
    assert_int_equal(fk_of(f)->captures, 1);
    assert_true(a->captured);
    assert_string_equal(a->path, "/usr/local/bin:/usr/bin");
    assert_non_null(strstr(fk_of(f)->last_script, "env -0"));
    /* a hung shell: not captured, with the reason */
    berth_hostfacts_t *g = darwin(NULL);
    fk_of(g)->login_timeout = 1;
    berth_loginenv_t *c = berth_loginenv_capture(g, BERTH_LOGIN_SHELL_TIMEOUT,
                                                 test_pool);
    assert_false(c->captured);
    assert_non_null(strstr(c->error, "did not finish within 5 s"));
    /* Windows has no login shell */
    berth_hostfacts_t *w = fake_facts(BERTH_OS_WINDOWS, NULL, test_pool);
    berth_loginenv_t *d = berth_loginenv_capture(w, 1, test_pool);
    assert_false(d->captured);
    assert_int_equal(fk_of(w)->captures, 0);
}

static void test_hydration_gates(void **state)
{
    (void)state;
    const char *docker_all[] = {
        "PATH=/usr/local/bin:/usr/bin", "DOCKER_HOST=a", "DOCKER_CONTEXT=b",
        "DOCKER_CONFIG=c", "DOCKER_CERT_PATH=d", "DOCKER_TLS_VERIFY=", NULL };
    struct { berth_os_t os; const char *const *env; int want; } rows[] = {
        { BERTH_OS_DARWIN, (const char *[]){ "PATH=/usr/bin:/bin", NULL }, 1 },
        { BERTH_OS_DARWIN, docker_all, 0 },
        /* one DOCKER_* missing on a full PATH */
        { BERTH_OS_DARWIN, (const char *[]){ "PATH=/opt/homebrew/bin",
          "DOCKER_HOST=a", "DOCKER_CONTEXT=b", "DOCKER_CONFIG=c",
          "DOCKER_CERT_PATH=d", NULL }, 1 },
        { BERTH_OS_LINUX, (const char *[]){ "PATH=/usr/bin", NULL }, 0 },
        { BERTH_OS_WINDOWS, (const char *[]){ "PATH=C:\\x", NULL }, 0 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        berth_hostfacts_t *f = fake_facts(rows[i].os, rows[i].env, test_pool);
        if (berth_hydration_needed(f, NULL) != rows[i].want)
            fail_msg("row %zu", i);
    }
}

static void test_hydrate(void **state)
{
    (void)state;
    static const char login[] =
        "PATH=/opt/homebrew/bin:/usr/local/bin:/usr/bin\0"
        "DOCKER_HOST=unix:///Users/ada/.colima/docker.sock\0"
        "DOCKER_CONTEXT=colima\0DOCKER_CONFIG=\0DOCKER_CERT_PATH=/certs\0"
        "NVM_DIR=/Users/ada/.nvm\0HOME=/elsewhere\0USER=mallory\0"
        "SHELL=/bin/evil\0HTTPS_PROXY=http://p:1\0"
        "AWS_SECRET_ACCESS_KEY=AKIA-login-secret\0GITHUB_TOKEN=ghp_login\0"
        "VOLTA_HOME=/v\0";
    const char *env[] = { "PATH=/usr/bin:/bin:/sbin", "HOME=/Users/ada",
                          "DOCKER_CONTEXT=", /* deliberately empty */
                          "VOLTA_HOME=/mine", NULL };
    berth_hostfacts_t *f = darwin(env);
    set_login(f, login, sizeof login - 1);
    berth_loginenv_t *le = berth_loginenv_capture(f, 1, test_pool);
    assert_true(le->captured);
    berth_hydration_t rep;
    apr_array_header_t *h = berth_hydrate(f, le, &rep, test_pool);
    assert_true(rep.needed);
    assert_true(rep.applied);
    /* login entries first, then ours not already there: never shrinks */
    assert_string_equal(berth_env_get(f, h, "PATH"),
                        "/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin:"
                        "/sbin");
    assert_string_equal(berth_env_get(f, h, "DOCKER_HOST"),
                        "unix:///Users/ada/.colima/docker.sock");
    assert_string_equal(berth_env_get(f, h, "DOCKER_CONTEXT"), "");
    assert_null(berth_env_get(f, h, "DOCKER_CONFIG")); /* empty login value */
    assert_string_equal(berth_env_get(f, h, "DOCKER_CERT_PATH"), "/certs");
    assert_string_equal(berth_env_get(f, h, "NVM_DIR"), "/Users/ada/.nvm");
    assert_string_equal(berth_env_get(f, h, "VOLTA_HOME"), "/mine");
    assert_string_equal(berth_env_get(f, h, "HOME"), "/Users/ada");
    assert_null(berth_env_get(f, h, "USER"));
    assert_null(berth_env_get(f, h, "SHELL"));
    assert_null(berth_env_get(f, h, "HTTPS_PROXY"));
    assert_null(berth_env_get(f, h, "AWS_SECRET_ACCESS_KEY"));
    assert_null(berth_env_get(f, h, "GITHUB_TOKEN"));
    /* the report: names and lengths only */
    const char *names[] = { "PATH", "DOCKER_HOST", "DOCKER_CERT_PATH",
                            "NVM_DIR", NULL };
    assert_int_equal(rep.keys->nelts, 4);
    for (int i = 0; names[i]; i++)
        assert_string_equal(APR_ARRAY_IDX(rep.keys, i,
                                          berth_hydrated_key_t).name,
                            names[i]);
    assert_int_equal(APR_ARRAY_IDX(rep.keys, 1, berth_hydrated_key_t).length,
                     strlen("unix:///Users/ada/.colima/docker.sock"));
    /* the facts themselves are not changed: the caller installs the copy */
    assert_string_equal(berth_env_get(f, f->env, "PATH"), "/usr/bin:/bin:/sbin");
}

static void test_hydrate_full_path_untouched(void **state)
{
    (void)state;
    static const char login[] = "PATH=/login/only\0DOCKER_HOST=tcp://h\0";
    const char *env[] = { "PATH=/usr/local/bin:/usr/bin", NULL };
    berth_hostfacts_t *f = darwin(env);
    set_login(f, login, sizeof login - 1);
    berth_hydration_t rep;
    apr_array_header_t *h = berth_hydrate(
        f, berth_loginenv_capture(f, 1, test_pool), &rep, test_pool);
    assert_string_equal(berth_env_get(f, h, "PATH"),
                        "/usr/local/bin:/usr/bin");
    assert_string_equal(berth_env_get(f, h, "DOCKER_HOST"), "tcp://h");
    /* never on Linux, even with a capture at hand */
    berth_hostfacts_t *l = fake_facts(BERTH_OS_LINUX, env, test_pool);
    set_login(l, login, sizeof login - 1);
    h = berth_hydrate(l, berth_loginenv_capture(l, 1, test_pool), &rep,
                      test_pool);
    assert_false(rep.applied);
    assert_null(berth_env_get(l, h, "DOCKER_HOST"));
}

/* The macOS import, entry by entry (docs/spawn.md): GATE, one whose
 * absence alone makes berth import on a full PATH. */
static const struct {
    const char *name;
    int gate;
} k_import_rows[] = {
    { "DOCKER_HOST", 1 }, { "DOCKER_CONTEXT", 1 }, { "DOCKER_CONFIG", 1 },
    { "DOCKER_CERT_PATH", 1 }, { "DOCKER_TLS_VERIFY", 1 },
    { "NVM_DIR", 0 }, { "ASDF_DIR", 0 }, { "PYENV_ROOT", 0 },
    { "VOLTA_HOME", 0 }, { "HOMEBREW_PREFIX", 0 }, { "COLIMA_HOME", 0 },
};
#define N_IMPORT_ROWS (sizeof k_import_rows / sizeof k_import_rows[0])

/* Each entry is imported when berth lacks it, alone among the others
 * present, and each gate entry's absence alone starts the import. */
static void test_every_import_entry(void **state)
{
    (void)state;
    for (size_t r = 0; r < N_IMPORT_ROWS; r++) {
        const char *name = k_import_rows[r].name;
        apr_array_header_t *env = apr_array_make(test_pool, 16,
                                                 sizeof(const char *));
        APR_ARRAY_PUSH(env, const char *) = "PATH=/usr/local/bin:/usr/bin";
        for (size_t i = 0; i < N_IMPORT_ROWS; i++)
            if (i != r)
                APR_ARRAY_PUSH(env, const char *) = apr_pstrcat(
                    test_pool, k_import_rows[i].name, "=mine", NULL);
        APR_ARRAY_PUSH(env, const char *) = NULL;
        berth_hostfacts_t *f = darwin((const char *const *)env->elts);
        const char *line = apr_pstrcat(test_pool, name, "=login-", name,
                                       NULL);
        apr_size_t n = strlen(line) + 1; /* its NUL ends the record */
        set_login(f, line, n);
        berth_hydration_t rep;
        apr_array_header_t *h = berth_hydrate(
            f, berth_loginenv_capture(f, 1, test_pool), &rep, test_pool);
        if (!!rep.needed != k_import_rows[r].gate)
            fail_msg("without %s on a full PATH: import %s", name,
                     rep.needed ? "needed" : "not needed");
        if (!rep.needed) {
            /* a launchd PATH opens the gate; then the entry is imported */
            APR_ARRAY_IDX(env, 0, const char *) = "PATH=/usr/bin";
            f = darwin((const char *const *)env->elts);
            set_login(f, line, n);
            h = berth_hydrate(f, berth_loginenv_capture(f, 1, test_pool),
                              &rep, test_pool);
        }
        const char *got = berth_env_get(f, h, name);
        if (!got || strcmp(got, line + strlen(name) + 1) != 0)
            fail_msg("%s was not imported (got %s)", name, got ? got : "none");
    }
}

/* berth_hydration_keys is exactly these rows, and docs/spawn.md lists
 * them, the gate ones in its first sentence. */
static void test_import_list_as_documented(void **state)
{
    (void)state;
    size_t n = 0;
    for (const char *const *k = berth_hydration_keys; *k; k++, n++) {
        size_t r = 0;
        while (r < N_IMPORT_ROWS && strcmp(k_import_rows[r].name, *k) != 0)
            r++;
        if (r == N_IMPORT_ROWS)
            fail_msg("%s is imported but not documented", *k);
    }
    assert_int_equal(n, N_IMPORT_ROWS);
    const char *doc = doc_text("spawn.md", test_pool);
    const char *sec = doc_span(doc, "On **macOS only**", "- never anything",
                               test_pool);
    apr_array_header_t *gates = doc_ticked_names(
        doc_span(sec, "On **macOS only**", "is missing:", test_pool),
        test_pool);
    apr_array_header_t *keys = doc_ticked_names(
        doc_span(sec, "- `DOCKER_HOST`", ": each only", test_pool),
        test_pool);
    int ngates = 0;
    for (size_t r = 0; r < N_IMPORT_ROWS; r++) {
        if (!names_have(keys, k_import_rows[r].name))
            fail_msg("spawn.md's import list lacks %s", k_import_rows[r].name);
        if (k_import_rows[r].gate && !names_have(gates, k_import_rows[r].name))
            fail_msg("spawn.md does not say a missing %s starts the import",
                     k_import_rows[r].name);
        ngates += k_import_rows[r].gate;
    }
    assert_int_equal(keys->nelts, (int)N_IMPORT_ROWS);
    assert_int_equal(gates->nelts, ngates + 1); /* and PATH */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_between_markers),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_capture_once),
        cmocka_unit_test(test_hydration_gates),
        cmocka_unit_test(test_hydrate),
        cmocka_unit_test(test_hydrate_full_path_untouched),
        cmocka_unit_test(test_every_import_entry),
        cmocka_unit_test(test_import_list_as_documented),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
