#include <stdint.h>
#include <string.h>

#include <apr_thread_proc.h>

#include "test_util.h"
#include "fake_facts.h"

#include "dockerpath.h"

static void assert_list(const apr_array_header_t *got,
                        const char *const *want)
{
    int n = 0;
    for (; want[n]; n++) {
        if (n >= got->nelts)
            fail_msg("missing %s", want[n]);
        assert_string_equal(APR_ARRAY_IDX(got, n, const char *), want[n]);
    }
    assert_int_equal(got->nelts, n);
}

static void test_wellknown_lists(void **state)
{
    (void)state;
    const char *const denv[] = { "PATH=/usr/bin:/bin", NULL };
    const char *const darwin[] = {
        "/Applications/Docker.app/Contents/Resources/bin/docker",
        "/usr/local/bin/docker", "/opt/homebrew/bin/docker",
        "/opt/podman/bin/docker", "/Users/ada/.docker/bin/docker",
        "/Users/ada/.orbstack/bin/docker", "/Users/ada/.rd/bin/docker", NULL
    };
    assert_list(berth_dockerpath_wellknown(
                    fake_facts(BERTH_OS_DARWIN, denv, test_pool), test_pool),
                darwin);
    const char *const linux_[] = {
        "/usr/bin/docker", "/usr/local/bin/docker", "/snap/bin/docker",
        "/home/ada/bin/docker", "/home/ada/.docker/bin/docker", NULL
    };
    assert_list(berth_dockerpath_wellknown(
                    fake_facts(BERTH_OS_LINUX, denv, test_pool), test_pool),
                linux_);

    const char *const wenv[] = {
        "ProgramW6432=D:\\Apps", "ProgramFiles=C:\\Program Files",
        "ProgramData=C:\\ProgramData", "LOCALAPPDATA=C:\\Users\\ada\\AppData"
        "\\Local", "USERPROFILE=C:\\Users\\ada", NULL
    };
    const char *const win[] = {
        "D:\\Apps\\Docker\\Docker\\resources\\bin\\docker.exe",
        "C:\\Program Files\\Docker\\Docker\\resources\\bin\\docker.exe",
        "C:\\ProgramData\\DockerDesktop\\version-bin\\docker.exe",
        "C:\\Users\\ada\\AppData\\Local\\Programs\\Rancher Desktop\\resources"
        "\\resources\\win32\\bin\\docker.exe",
        "C:\\Users\\ada\\scoop\\shims\\docker.exe",
        "C:\\ProgramData\\chocolatey\\bin\\docker.exe", NULL
    };
    assert_list(berth_dockerpath_wellknown(
                    fake_facts(BERTH_OS_WINDOWS, wenv, test_pool), test_pool),
                win);
    /* A service running as LocalSystem may have none of the variables: the
     * literal locations remain. */
    const char *const bare[] = {
        "C:\\Program Files\\Docker\\Docker\\resources\\bin\\docker.exe",
        "C:\\ProgramData\\chocolatey\\bin\\docker.exe", NULL
    };
    assert_list(berth_dockerpath_wellknown(
                    fake_facts(BERTH_OS_WINDOWS, NULL, test_pool), test_pool),
                bare);
}

static void test_verified(void **state)
{
    (void)state;
    berth_hostfacts_t *u = fake_facts(BERTH_OS_LINUX, NULL, test_pool);
    fake_path(u, "/x/docker", BERTH_PROBE_EXEC);
    fake_path(u, "/x/plain", BERTH_PROBE_FILE);
    fake_path(u, "/x/dir", BERTH_PROBE_DIR);
    assert_true(berth_dockerpath_verified(u, "/x/docker"));
    assert_false(berth_dockerpath_verified(u, "/x/plain"));
    assert_false(berth_dockerpath_verified(u, "/x/dir"));
    assert_false(berth_dockerpath_verified(u, "/x/missing"));
    assert_false(berth_dockerpath_verified(u, "x/docker"));
    assert_false(berth_dockerpath_verified(u, "docker"));
    assert_false(berth_dockerpath_verified(u, NULL));
    berth_hostfacts_t *w = fake_facts(BERTH_OS_WINDOWS, NULL, test_pool);
    fake_path(w, "C:\\d\\docker.EXE", BERTH_PROBE_FILE);
    fake_path(w, "C:\\d\\docker.cmd", BERTH_PROBE_FILE);
    assert_true(berth_dockerpath_verified(w, "C:\\d\\docker.EXE"));
    assert_false(berth_dockerpath_verified(w, "C:\\d\\docker.cmd"));
    assert_false(berth_dockerpath_verified(w, "d\\docker.EXE"));
}

/* Each OS: PATH beats the well-known list, which beats the login shell. */
static void test_resolution_order(void **state)
{
    (void)state;
    struct {
        berth_os_t os;
        const char *path_env;
        const char *on_path;     /* an executable on PATH, or NULL */
        const char *wellknown;   /* an executable at a well-known place */
        const char *login;       /* the login shell's answer */
        const char *want;
        berth_docker_source_t src;
        int verified;
    } rows[] = {
        { BERTH_OS_LINUX, "PATH=/opt/x:/usr/bin", "/opt/x/docker",
          "/usr/bin/docker", "/l/docker", "/opt/x/docker",
          BERTH_DOCKER_FROM_PATH, 1 },
        { BERTH_OS_LINUX, "PATH=/opt/x", NULL, "/snap/bin/docker",
          "/l/docker", "/snap/bin/docker", BERTH_DOCKER_BUNDLED, 1 },
        { BERTH_OS_LINUX, "PATH=/opt/x", NULL, NULL, "/l/docker", "/l/docker",
          BERTH_DOCKER_LOGIN_SHELL, 1 },
        { BERTH_OS_LINUX, "PATH=/opt/x", NULL, NULL,
          "alias docker='podman'", "alias docker='podman'",
          BERTH_DOCKER_LOGIN_SHELL, 0 },
        { BERTH_OS_LINUX, "PATH=/opt/x", NULL, NULL, NULL, NULL,
          BERTH_DOCKER_ABSENT, 0 },
        { BERTH_OS_DARWIN, "PATH=/usr/bin:/bin", NULL,
          "/Applications/Docker.app/Contents/Resources/bin/docker", NULL,
          "/Applications/Docker.app/Contents/Resources/bin/docker",
          BERTH_DOCKER_BUNDLED, 1 },
        { BERTH_OS_DARWIN, "PATH=/usr/bin:/bin", NULL,
          "/Users/ada/.orbstack/bin/docker", NULL,
          "/Users/ada/.orbstack/bin/docker", BERTH_DOCKER_BUNDLED, 1 },
        { BERTH_OS_WINDOWS, "Path=C:\\bin;C:\\tools", "C:\\tools\\docker.exe",
          "C:\\ProgramData\\chocolatey\\bin\\docker.exe", NULL,
          "C:\\tools\\docker.exe", BERTH_DOCKER_FROM_PATH, 1 },
        { BERTH_OS_WINDOWS, "Path=C:\\bin", NULL,
          "C:\\Program Files\\Docker\\Docker\\resources\\bin\\docker.exe",
          "/should/not/ask", "C:\\Program Files\\Docker\\Docker\\resources"
          "\\bin\\docker.exe", BERTH_DOCKER_BUNDLED, 1 },
        /* Windows never asks a login shell */
        { BERTH_OS_WINDOWS, "Path=C:\\bin", NULL, NULL, "C:\\x\\docker.exe",
          NULL, BERTH_DOCKER_ABSENT, 0 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *env[] = { rows[i].path_env, NULL };
        berth_hostfacts_t *f = fake_facts(rows[i].os, env, test_pool);
        if (rows[i].on_path)
            fake_path(f, rows[i].on_path, BERTH_PROBE_EXEC);
        if (rows[i].wellknown)
            fake_path(f, rows[i].wellknown, BERTH_PROBE_EXEC);
        if (rows[i].login) {
            fake_answer(f, "command -v docker",
                        apr_pstrcat(test_pool, "Welcome to the shell!\n",
                                    rows[i].login, "\n", NULL));
            if (rows[i].login[0] == '/')
                fake_path(f, rows[i].login, BERTH_PROBE_EXEC);
        }
        berth_dockerpath_t *r = berth_dockerpath_create(
            BERTH_DOCKER_FAILURE_TTL, test_pool);
        berth_docker_t d = berth_dockerpath_resolve(r, f);
        if (rows[i].want) {
            if (!d.path || strcmp(d.path, rows[i].want) != 0)
                fail_msg("row %zu: got %s", i, d.path ? d.path : "(none)");
        } else if (d.path) {
            fail_msg("row %zu: got %s, want none", i, d.path);
        }
        if (d.source != rows[i].src || d.verified != rows[i].verified)
            fail_msg("row %zu: source %s verified %d", i,
                     berth_docker_source_name(d.source), d.verified);
    }
}

static void test_windows_pathext(void **state)
{
    (void)state;
    const char *env[] = { "PATH=C:\\a;C:\\b", "PATHEXT=.COM;.EXE;.BAT;.CMD",
                          NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_WINDOWS, env, test_pool);
    fake_path(f, "C:\\a\\docker.cmd", BERTH_PROBE_FILE); /* never docker */
    fake_path(f, "C:\\a\\docker.bat", BERTH_PROBE_FILE);
    fake_path(f, "C:\\a\\docker", BERTH_PROBE_FILE);
    fake_path(f, "C:\\b\\docker.exe", BERTH_PROBE_FILE);
    assert_string_equal(berth_dockerpath_from_path(f, test_pool),
                        "C:\\b\\docker.exe");
    const char *noexe[] = { "PATH=C:\\b", "PATHEXT=.CMD;.BAT", NULL };
    berth_hostfacts_t *g = fake_facts(BERTH_OS_WINDOWS, noexe, test_pool);
    fake_path(g, "C:\\b\\docker.exe", BERTH_PROBE_FILE);
    assert_null(berth_dockerpath_from_path(g, test_pool));
    /* relative PATH entries depend on the cwd: never used */
    const char *rel[] = { "PATH=bin:/usr/bin", NULL };
    berth_hostfacts_t *u = fake_facts(BERTH_OS_LINUX, rel, test_pool);
    fake_path(u, "bin/docker", BERTH_PROBE_EXEC);
    assert_null(berth_dockerpath_from_path(u, test_pool));
}

static void test_success_cached_forever(void **state)
{
    (void)state;
    const char *env[] = { "PATH=/usr/bin", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
    fake_path(f, "/usr/bin/docker", BERTH_PROBE_EXEC);
    berth_dockerpath_t *r = berth_dockerpath_create(BERTH_DOCKER_FAILURE_TTL,
                                                    test_pool);
    berth_docker_t a = berth_dockerpath_resolve(r, f);
    fake_path(f, "/usr/bin/docker", BERTH_PROBE_MISSING);
    fk_of(f)->clock += 86400 * APR_USEC_PER_SEC;
    berth_docker_t b = berth_dockerpath_resolve(r, f);
    assert_string_equal(b.path, a.path);
    assert_int_equal(b.source, BERTH_DOCKER_FROM_PATH);
    assert_int_equal(berth_dockerpath_resolutions(r), 1);
}

static void test_failure_ttl_with_fake_clock(void **state)
{
    (void)state;
    const char *env[] = { "PATH=/usr/bin", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
    berth_dockerpath_t *r = berth_dockerpath_create(60 * APR_USEC_PER_SEC,
                                                    test_pool);
    berth_docker_t a = berth_dockerpath_resolve(r, f);
    assert_null(a.path);
    assert_int_equal(a.source, BERTH_DOCKER_ABSENT);
    int captures = fk_of(f)->captures;
    assert_int_equal(captures, 1); /* the login shell was asked once */

    /* On PATH now, but the failure is still live: only well-known paths are
     * re-probed, no resolution, no shell. */
    fake_path(f, "/usr/bin/docker", BERTH_PROBE_EXEC);
    fk_of(f)->clock += 59 * APR_USEC_PER_SEC;
    berth_docker_t b = berth_dockerpath_resolve(r, f);
    /* /usr/bin/docker is on the linux well-known list too: found by stat */
    assert_string_equal(b.path, "/usr/bin/docker");
    assert_int_equal(b.source, BERTH_DOCKER_BUNDLED);
    assert_int_equal(fk_of(f)->captures, captures);
    assert_int_equal(berth_dockerpath_resolutions(r), 1);

    /* A docker somewhere else on PATH appears only after the TTL. */
    berth_hostfacts_t *g = fake_facts(BERTH_OS_LINUX, (const char *[]){
                                          "PATH=/opt/d", NULL }, test_pool);
    berth_dockerpath_t *r2 = berth_dockerpath_create(60 * APR_USEC_PER_SEC,
                                                     test_pool);
    assert_null(berth_dockerpath_resolve(r2, g).path);
    fake_path(g, "/opt/d/docker", BERTH_PROBE_EXEC);
    fk_of(g)->clock += 59 * APR_USEC_PER_SEC;
    assert_null(berth_dockerpath_resolve(r2, g).path);
    assert_int_equal(berth_dockerpath_resolutions(r2), 1);
    fk_of(g)->clock += 2 * APR_USEC_PER_SEC;
    berth_docker_t c = berth_dockerpath_resolve(r2, g);
    assert_string_equal(c.path, "/opt/d/docker");
    assert_int_equal(c.source, BERTH_DOCKER_FROM_PATH);
    assert_int_equal(berth_dockerpath_resolutions(r2), 2);
}

/* The regression of the reference thread: a failure cached because the
 * login-shell leg failed must not hide a docker a stat finds now. */
static void test_stat_probe_overrides_live_failure(void **state)
{
    (void)state;
    const char *env[] = { "PATH=/usr/bin:/bin", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_DARWIN, env, test_pool);
    berth_dockerpath_t *r = berth_dockerpath_create(BERTH_DOCKER_FAILURE_TTL,
                                                    test_pool);
    assert_null(berth_dockerpath_resolve(r, f).path);
    fake_path(f, "/Applications/Docker.app/Contents/Resources/bin/docker",
              BERTH_PROBE_EXEC);
    fk_of(f)->clock += 1 * APR_USEC_PER_SEC; /* far inside the TTL */
    int captures = fk_of(f)->captures;
    berth_docker_t d = berth_dockerpath_resolve(r, f);
    assert_string_equal(d.path,
                        "/Applications/Docker.app/Contents/Resources/bin/"
                        "docker");
    assert_int_equal(d.source, BERTH_DOCKER_BUNDLED);
    assert_true(d.verified);
    assert_int_equal(fk_of(f)->captures, captures);
    /* and it is now a success, kept even when the file vanishes */
    fake_path(f, "/Applications/Docker.app/Contents/Resources/bin/docker",
              BERTH_PROBE_MISSING);
    fk_of(f)->clock += 3600 * APR_USEC_PER_SEC;
    assert_non_null(berth_dockerpath_resolve(r, f).path);
}

typedef struct {
    berth_dockerpath_t *r;
    const berth_hostfacts_t *f;
    const char *got[8];
} race_t;

static race_t race;

static void *APR_THREAD_FUNC resolver_thread(apr_thread_t *t, void *arg)
{
    intptr_t i = (intptr_t)arg;
    for (int k = 0; k < 200; k++)
        race.got[i] = berth_dockerpath_resolve(race.r, race.f).path;
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void test_thread_safety(void **state)
{
    (void)state;
    const char *env[] = { "PATH=/usr/bin", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
    fake_path(f, "/usr/bin/docker", BERTH_PROBE_EXEC);
    race.r = berth_dockerpath_create(BERTH_DOCKER_FAILURE_TTL, test_pool);
    race.f = f;
    apr_thread_t *t[8];
    for (intptr_t i = 0; i < 8; i++)
        assert_int_equal(apr_thread_create(&t[i], NULL, resolver_thread,
                                           (void *)i, test_pool),
                         APR_SUCCESS);
    for (int i = 0; i < 8; i++) {
        apr_status_t rv;
        apr_thread_join(&rv, t[i]);
        assert_string_equal(race.got[i], "/usr/bin/docker");
    }
    assert_int_equal(berth_dockerpath_resolutions(race.r), 1);
}

static void test_daemon_env_guaranteed(void **state)
{
    (void)state;
    struct { berth_os_t os; const char *var; int want; } rows[] = {
        { BERTH_OS_LINUX, NULL, 0 },
        { BERTH_OS_LINUX, "DOCKER_HOST=unix:///run/user/1000/docker.sock", 1 },
        { BERTH_OS_LINUX, "DOCKER_CONTEXT=colima", 1 },
        { BERTH_OS_LINUX, "DOCKER_HOST=", 0 },
        { BERTH_OS_LINUX, "DOCKER_CONFIG=/x", 0 },
        { BERTH_OS_OTHER, "DOCKER_HOST=tcp://h:2376", 1 },
        { BERTH_OS_OTHER, NULL, 0 },
        { BERTH_OS_DARWIN, NULL, 1 },
        { BERTH_OS_WINDOWS, NULL, 1 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *env[] = { rows[i].var, NULL };
        berth_hostfacts_t *f = fake_facts(rows[i].os, env, test_pool);
        if (berth_docker_daemon_env_guaranteed(f, f->env) != rows[i].want)
            fail_msg("row %zu", i);
    }
    /* an account whose shell refuses logins has no profile to set them */
    const char *shells[] = { "/usr/sbin/nologin", "/sbin/nologin",
                             "/bin/false", "/bin/bash", "/usr/bin/nologin.sh" };
    int want[] = { 1, 1, 1, 0, 0 };
    for (size_t i = 0; i < sizeof shells / sizeof shells[0]; i++) {
        const char *env[] = { NULL };
        berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
        f->login_shell = shells[i];
        if (berth_docker_daemon_env_guaranteed(f, f->env) != want[i])
            fail_msg("login shell %s", shells[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wellknown_lists),
        cmocka_unit_test(test_verified),
        cmocka_unit_test(test_resolution_order),
        cmocka_unit_test(test_windows_pathext),
        cmocka_unit_test(test_success_cached_forever),
        cmocka_unit_test(test_failure_ttl_with_fake_clock),
        cmocka_unit_test(test_stat_probe_overrides_live_failure),
        cmocka_unit_test(test_thread_safety),
        cmocka_unit_test(test_daemon_env_guaranteed),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
