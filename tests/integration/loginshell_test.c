/* docs/spawn.md (finding docker, the login shell's environment) with real processes on Linux: the login-shell
 * capture through the real host facts (berth_hostfacts_real), against fake
 * login shells written at test time: markers keep rc-file banners out, values
 * keep their '=' and line breaks, a hung login shell is killed with its whole
 * process group at the real 5 s timeout, and the docker lookup by login shell
 * takes the answer from the last line. */
#define _XOPEN_SOURCE 700
#include "itest_util.h"
#include "fd_util.h"

#include <dirent.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "dockerpath.h"
#include "hostfacts.h"
#include "loginenv.h"

static const char *g_tmp;

static berth_hostfacts_t *real_facts(const char *login_shell)
{
    berth_hostfacts_t *f;
    assert_int_equal(berth_hostfacts_real(&f, test_pool), APR_SUCCESS);
    assert_int_equal(f->os, BERTH_OS_LINUX);
    f->login_shell = login_shell;
    return f;
}

static int valid_key(const char *e)
{
    const char *eq = strchr(e, '=');
    if (!eq || eq == e)
        return 0;
    for (const char *c = e; c < eq; c++) {
        int ok = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                 *c == '_' || (c > e && *c >= '0' && *c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

/* Where a fake login shell of KIND goes: a folder of its own, the file
 * named sh, since berth runs only shells it knows by name. */
static const char *fake_shell_path(const char *kind)
{
    const char *dir = apr_pstrcat(test_pool, g_tmp, "/", kind, NULL);
    mkdir(dir, 0755);
    return apr_pstrcat(test_pool, dir, "/sh", NULL);
}

/* A login shell whose rc files are noisy: banners before and after the
 * command, and a NUL-separated record that looks like env output, all outside
 * what berth asked for; and an env that also prints records whose key is no
 * variable name. Only -l makes it export anything. */
static const char *noisy_login_shell(const char *extra_dir)
{
    const char *path = fake_shell_path("noisy");
    write_file(path, apr_psprintf(test_pool,
        "#!/bin/sh\n"
        "login=0\n"
        "if [ \"$1\" = -l ]; then login=1; shift; fi\n"
        "if [ $login = 1 ]; then\n"
        "  echo 'Welcome to the machine! BANNER_KEY=banner-value'\n"
        "  printf 'LEAK_BEFORE=nul-banner\\0'\n"
        "  FROM_LOGIN=1; export FROM_LOGIN\n"
        "  PATH='%s':\"$PATH\"; export PATH\n"
        "  MULTI='k=v=w\n"
        "second line'; export MULTI\n"
        /* records an env may print that are no variables */
        "  env() { command env \"$@\"; "
        "printf '1BAD=digit\\0BAD-KEY=dash\\0=noname\\0no equals\\0'; }\n"
        "fi\n"
        "rc=0\n"
        "if [ \"$1\" = -c ]; then eval \"$2\"; rc=$?; fi\n"
        "if [ $login = 1 ]; then\n"
        "  printf 'LEAK_AFTER=nul-banner\\0'\n"
        "  echo 'Goodbye banner AFTER_KEY=x'\n"
        "fi\n"
        "exit $rc\n", extra_dir), 0755);
    return path;
}

static void test_capture_takes_only_the_login_env(void **state)
{
    (void)state;
    unsetenv("FROM_LOGIN");
    unsetenv("MULTI");
    setenv("BERTH_ITEST_MARK", "inherited", 1);
    const char *extra = apr_pstrcat(test_pool, g_tmp, "/login bin", NULL);
    const char *sh = noisy_login_shell(extra);
    berth_hostfacts_t *f = real_facts(sh);
    const char *our_path = berth_env_get(f, f->env, "PATH");
    assert_null(berth_env_get(f, f->env, "FROM_LOGIN"));

    berth_loginenv_t *le = berth_loginenv_capture(f, BERTH_LOGIN_SHELL_TIMEOUT,
                                                  test_pool);
    assert_true(le->attempted);
    if (!le->captured)
        fail_msg("not captured: %s", shows(le->error));
    assert_null(le->error);
    assert_string_equal(le->shell, sh);

    assert_string_equal(berth_env_get(f, le->env, "FROM_LOGIN"), "1");
    const char *want_path = apr_pstrcat(test_pool, extra, ":",
                                        our_path ? our_path : "", NULL);
    assert_non_null(le->path);
    assert_string_equal(le->path, want_path);
    assert_string_equal(berth_env_get(f, le->env, "PATH"), want_path);
    /* a value keeps its '=' and its line break */
    assert_string_equal(berth_env_get(f, le->env, "MULTI"),
                        "k=v=w\nsecond line");
    /* the parent's variables are there too (env -0 printed everything) */
    assert_string_equal(berth_env_get(f, le->env, "BERTH_ITEST_MARK"),
                        "inherited");

    /* nothing printed outside the markers becomes a variable */
    assert_null(berth_env_get(f, le->env, "BANNER_KEY"));
    assert_null(berth_env_get(f, le->env, "LEAK_BEFORE"));
    assert_null(berth_env_get(f, le->env, "LEAK_AFTER"));
    assert_null(berth_env_get(f, le->env, "AFTER_KEY"));
    assert_null(berth_env_get(f, le->env, "1BAD"));
    assert_null(berth_env_get(f, le->env, "BAD-KEY"));
    for (int i = 0; i < le->env->nelts; i++) {
        const char *e = APR_ARRAY_IDX(le->env, i, const char *);
        if (!valid_key(e))
            fail_msg("a record with a bad key: %s", shows(e));
        if (strstr(e, "Welcome") || strstr(e, "Goodbye") ||
            strstr(e, "noname") || strstr(e, "no equals") ||
            strstr(e, "banner") || strstr(e, "__BERTH_"))
            fail_msg("banner or marker text in a record: %s", shows(e));
    }
}

/* Whether LEN bytes at HAY hold NEEDLE (output may contain NULs). */
static int has_bytes(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n <= len && i <= len - n; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return 1;
    return 0;
}

/* The fake really gates on -l: run without it, nothing is exported; with it,
 * the same command sees FROM_LOGIN (so the capture above proves berth passes
 * -l). */
static void test_fake_shell_gates_on_login(void **state)
{
    (void)state;
    unsetenv("FROM_LOGIN");
    const char *sh = noisy_login_shell("/nonexistent");
    berth_hostfacts_t *f = real_facts(sh);
    berth_capture_t cap;

    const char *plain[] = { sh, "-c", "env", NULL };
    assert_int_equal(f->capture(f, plain, NULL, NULL, 5 * APR_USEC_PER_SEC, &cap,
                                test_pool),
                     APR_SUCCESS);
    assert_true(cap.exited);
    assert_int_equal(cap.status, 0);
    assert_false(has_bytes(cap.out, cap.out_len, "FROM_LOGIN="));
    assert_false(has_bytes(cap.out, cap.out_len, "Welcome"));
    assert_true(has_bytes(cap.out, cap.out_len, "\nPATH=") ||
                strncmp(cap.out, "PATH=", 5) == 0);

    const char *login[] = { sh, "-l", "-c", "env", NULL };
    assert_int_equal(f->capture(f, login, NULL, NULL, 5 * APR_USEC_PER_SEC, &cap,
                                test_pool),
                     APR_SUCCESS);
    assert_true(cap.exited);
    assert_true(has_bytes(cap.out, cap.out_len, "\nFROM_LOGIN=1\n"));
    assert_true(has_bytes(cap.out, cap.out_len, "Welcome"));
}

/* The capture's env argument is the child's whole environment. */
static void test_capture_uses_given_env(void **state)
{
    (void)state;
    berth_hostfacts_t *f = real_facts("/bin/sh");
    apr_array_header_t *env = apr_array_make(test_pool, 4,
                                             sizeof(const char *));
    APR_ARRAY_PUSH(env, const char *) = "PATH=/usr/bin:/bin";
    APR_ARRAY_PUSH(env, const char *) = "ONLY_THIS=yes";
    const char *argv[] = { "env", NULL }; /* found on ENV's PATH */
    berth_capture_t cap;
    assert_int_equal(f->capture(f, argv, NULL, env, 5 * APR_USEC_PER_SEC, &cap,
                                test_pool),
                     APR_SUCCESS);
    assert_true(cap.exited);
    assert_int_equal(cap.status, 0);
    assert_string_equal(cap.out, "PATH=/usr/bin:/bin\nONLY_THIS=yes\n");
}

/* The capture runs the way a wrap does: csh and tcsh with -c alone (tcsh
 * refuses -l beside -c), reading ~/.cshrc; a shell berth does not know is
 * never run, /bin/sh -l is. */
static void test_capture_through_csh_and_unknown_shells(void **state)
{
    (void)state;
    const char *home = apr_pstrcat(test_pool, g_tmp, "/cshhome", NULL);
    mkdir(home, 0755);
    write_file(apr_pstrcat(test_pool, home, "/.cshrc", NULL),
               "setenv FROM_CSHRC yes\n", 0644);
    static const char *const names[] = { "tcsh", "csh", NULL };
    int ran = 0;
    for (const char *const *n = names; *n; n++) {
        const char *sh = find_binary(*n);
        if (!sh)
            continue;
        berth_hostfacts_t *f = real_facts(sh);
        berth_env_set(f, f->env, "HOME", home);
        berth_loginenv_t *le = berth_loginenv_capture(
            f, 5 * APR_USEC_PER_SEC, test_pool);
        if (!le->captured)
            fail_msg("%s: %s", sh, le->error);
        assert_string_equal(le->shell, sh);
        assert_string_equal(berth_env_get(f, le->env, "FROM_CSHRC"), "yes");
        ran++;
    }
    if (!ran)
        print_message("neither tcsh nor csh is installed (.ci/setup "
                      "installs both)\n");
    const char *odd = fake_shell_path("odd");
    odd = apr_pstrcat(test_pool, odd, "-xonsh", NULL);
    write_file(odd, "#!/bin/sh\necho 'must not be run' >&2\nexit 1\n", 0755);
    berth_loginenv_t *le = berth_loginenv_capture(real_facts(odd),
                                                  5 * APR_USEC_PER_SEC,
                                                  test_pool);
    if (!le->captured)
        fail_msg("%s: %s", odd, le->error);
    assert_string_equal(le->shell, "/bin/sh");
}

/* A capture that cannot start leaves no descriptor open: a program that is
 * not there, and every point where descriptors run out (a limit just above
 * those open now). */
static void test_failed_capture_leaks_no_descriptor(void **state)
{
    (void)state;
    berth_hostfacts_t *f = real_facts("/bin/sh");
    char open[1024] = { 0 };
    int before = open_fds(open);
    const char *missing[] = { "/no/such/program", NULL };
    const char *echo[] = { "/bin/sh", "-c", "echo hi", NULL };
    berth_capture_t cap;
    assert_int_equal(f->capture(f, missing, NULL, NULL, 5 * APR_USEC_PER_SEC,
                                &cap, test_pool),
                     ENOENT);
    assert_int_equal(open_fds(NULL), before);
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int failed = 0, started = 0;
    /* a capture needs four: two pipes */
    for (int room = 0; room <= 5; room++) {
        struct rlimit low = old;
        low.rlim_cur = limit_with_room(open, room);
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
        apr_status_t rv = f->capture(f, echo, NULL, NULL,
                                     5 * APR_USEC_PER_SEC, &cap, test_pool);
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
        if (rv == APR_SUCCESS) {
            started++;
            assert_string_equal(cap.out, "hi\n");
        } else {
            failed++;
            assert_int_equal(rv, EMFILE);
        }
        assert_int_equal(open_fds(NULL), before);
    }
    assert_true(failed > 0);
    assert_true(started > 0);
}

/* 1 when PID is gone: reaped (we are the subreaper of orphans) or never
 * ours; polls up to a second. */
static int gone_within(pid_t pid, double seconds)
{
    double until = mono_seconds() + seconds;
    for (;;) {
        waitpid(pid, NULL, WNOHANG); /* an orphan reparented to us */
        if (kill(pid, 0) != 0 && errno == ESRCH)
            return 1;
        if (mono_seconds() >= until)
            return 0;
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}

static pid_t read_pid(const char *file)
{
    char *s = read_file(file);
    return s ? (pid_t)atol(s) : 0;
}

/* A login shell that hangs (and started a background grandchild): berth
 * gives up at the real 5 s timeout and nothing of it survives. */
static void test_hung_login_shell_is_killed_with_its_group(void **state)
{
    (void)state;
    const char *sh = fake_shell_path("hung");
    const char *gpid_file = apr_pstrcat(test_pool, g_tmp, "/grandchild.pid",
                                        NULL);
    const char *spid_file = apr_pstrcat(test_pool, g_tmp, "/shell.pid", NULL);
    write_file(sh, apr_psprintf(test_pool,
        "#!/bin/sh\n"
        "if [ \"$1\" = -l ]; then\n"
        "  sleep 30 &\n"
        "  echo $! > '%s'\n"
        "  echo $$ > '%s'\n"
        "  sleep 30\n"
        "fi\n"
        "eval \"$3\"\n", gpid_file, spid_file), 0755);
    berth_hostfacts_t *f = real_facts(sh);

    double t0 = mono_seconds();
    berth_loginenv_t *le = berth_loginenv_capture(f, BERTH_LOGIN_SHELL_TIMEOUT,
                                                  test_pool);
    double took = mono_seconds() - t0;
    print_message("capture of a hung login shell returned after %.2f s: %s\n",
                  took, le->error ? le->error : "(no error)");
    assert_true(le->attempted);
    assert_false(le->captured);
    assert_non_null(le->error);
    assert_non_null(strstr(le->error, "5 s"));
    assert_non_null(strstr(le->error, sh));
    if (took < 4.8 || took > 7.0)
        fail_msg("the capture took %.2f s; the timeout is 5 s", took);

    pid_t gpid = read_pid(gpid_file), spid = read_pid(spid_file);
    assert_true(gpid > 1);
    assert_true(spid > 1);
    if (!gone_within(spid, 1.0))
        fail_msg("the login shell (pid %ld) is still alive", (long)spid);
    if (!gone_within(gpid, 1.0)) {
        kill(gpid, SIGKILL);
        fail_msg("the login shell's background child (pid %ld) survived the "
                 "timeout", (long)gpid);
    }
}

/* `command -v docker` asked of a login shell whose rc file prints a banner
 * first: the answer is the last line. */
/* A profile that leaves a background job holding stdout (an agent,
 * "sleep &") must not cost the whole timeout: the shell has exited. */
static void test_background_job_does_not_stall_capture(void **state)
{
    (void)state;
    const char *sh = fake_shell_path("agent");
    const char *gpid_file = apr_pstrcat(test_pool, g_tmp, "/agent.pid", NULL);
    write_file(sh, apr_psprintf(test_pool,
        "#!/bin/sh\n"
        "if [ \"$1\" = -l ]; then\n"
        "  export FROM_PROFILE=yes\n"
        "  sleep 20 &\n"
        "  echo $! > '%s'\n"
        "fi\n"
        "eval \"$3\"\n", gpid_file), 0755);
    berth_hostfacts_t *f = real_facts(sh);
    double t0 = mono_seconds();
    berth_loginenv_t *le = berth_loginenv_capture(f, BERTH_LOGIN_SHELL_TIMEOUT,
                                                  test_pool);
    double took = mono_seconds() - t0;
    if (!le->captured)
        fail_msg("not captured after %.2f s: %s", took, le->error);
    if (took > 2.0)
        fail_msg("the capture took %.2f s although the shell exited at once",
                 took);
    int found = 0;
    for (int i = 0; i < le->env->nelts; i++)
        found |= strcmp(APR_ARRAY_IDX(le->env, i, const char *),
                        "FROM_PROFILE=yes") == 0;
    assert_true(found);
    /* the job was in the shell's process group: it goes too */
    pid_t gpid = read_pid(gpid_file);
    if (gpid > 1 && !gone_within(gpid, 1.0)) {
        kill(gpid, SIGKILL);
        fail_msg("the profile's background job (pid %ld) survived",
                 (long)gpid);
    }
}

static void test_docker_from_login_shell_last_line(void **state)
{
    (void)state;
    const char *bin = apr_pstrcat(test_pool, g_tmp, "/docker bin", NULL);
    assert_int_equal(mkdir(bin, 0755), 0);
    const char *docker = apr_pstrcat(test_pool, bin, "/docker", NULL);
    write_file(docker, "#!/bin/sh\nexit 0\n", 0755);
    const char *sh = fake_shell_path("banner");
    write_file(sh, apr_psprintf(test_pool,
        "#!/bin/sh\n"
        "if [ \"$1\" = -l ]; then\n"
        "  echo 'Last login: Mon Jan  1 00:00:00 on ttys000'\n"
        "  echo '  /not/the/answer  '\n"
        /* only the test's folder: a docker installed on this machine
         * must not answer for it */
        "  PATH='%s'; export PATH\n"
        "  shift\n"
        "fi\n"
        "[ \"$1\" = -c ] && eval \"$2\"\n", bin), 0755);
    berth_hostfacts_t *f = real_facts(sh);
    const char *got = berth_dockerpath_from_login_shell(f, test_pool);
    assert_non_null(got);
    assert_string_equal(got, docker);
    assert_true(berth_dockerpath_verified(f, got));

    /* without a docker the shell's command -v fails: no answer at all (not
     * the banner) */
    assert_int_equal(unlink(docker), 0);
    assert_null(berth_dockerpath_from_login_shell(f, test_pool));
}

/* An answer that is a function or alias name is kept, but not verified. */
static void test_docker_from_login_shell_function_name(void **state)
{
    (void)state;
    const char *sh = fake_shell_path("func");
    write_file(sh,
        "#!/bin/sh\n"
        "if [ \"$1\" = -l ]; then\n"
        "  echo 'motd: have a nice day'\n"
        "  docker() { echo wrapped; }\n"
        "  shift\n"
        "fi\n"
        "[ \"$1\" = -c ] && eval \"$2\"\n", 0755);
    berth_hostfacts_t *f = real_facts(sh);
    const char *got = berth_dockerpath_from_login_shell(f, test_pool);
    assert_non_null(got);
    assert_string_equal(got, "docker");
    assert_false(berth_dockerpath_verified(f, got));
}

static int group_setup(void **state)
{
    if (itest_setup(state) != 0)
        return -1;
    /* orphans (the hung shell's grandchild) come to us, so a dead one is
     * reaped and not left as a zombie of a non-reaping init */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    g_tmp = make_temp_dir("login");
    return 0;
}

static int group_teardown(void **state)
{
    rm_tree(g_tmp);
    return itest_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_takes_only_the_login_env),
        cmocka_unit_test(test_fake_shell_gates_on_login),
        cmocka_unit_test(test_capture_uses_given_env),
        cmocka_unit_test(test_capture_through_csh_and_unknown_shells),
        cmocka_unit_test(test_failed_capture_leaks_no_descriptor),
        cmocka_unit_test(test_hung_login_shell_is_killed_with_its_group),
        cmocka_unit_test(test_background_job_does_not_stall_capture),
        cmocka_unit_test(test_docker_from_login_shell_last_line),
        cmocka_unit_test(test_docker_from_login_shell_function_name),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
