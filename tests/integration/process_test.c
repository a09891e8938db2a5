/* The spawn primitive with real children, on Unix and (under Wine) Windows:
 * exact argv through the direct line and, on Windows, through
 * cmd.exe /d /s /c; exit codes; pipes; exec errors; the whole tree ended.
 * Usage: process_test PROC_CHILD */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <jansson.h>

#include "test_util.h"

#include "platform.h"
#include "process.h"
#include "shellquote.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

static const char *g_child;

static const char *const hostile[] = {
    "plain", "with space", "it's", "say \"hi\"", "back\\slash", "trailing\\",
    "trail\\\\", "\\\"pre\\\"", "$HOME", "$(id)", "`id`", "%PATH%", "100%",
    "^caret", "a&b", "a|b", "<in>", "a;b", "tab\there", "caf\xc3\xa9",
    "\xe6\x97\xa5\xe6\x9c\xac", "", " ", "'", "\"", "!bang", "#", "*", "~",
    "-e", "KEY=va lue", "(paren)", "a\\\\\"b", "--cidfile",
    "C:\\path with spaces\\cid", NULL
};

static apr_array_header_t *env_now(void)
{
    apr_array_header_t *env = apr_array_make(test_pool, 8,
                                             sizeof(const char *));
    static const char *const keep[] = { "PATH", "SYSTEMROOT", "SystemRoot",
                                        "COMSPEC", "ComSpec", "TEMP", "TMP",
                                        "WINDIR", "windir", NULL };
    for (const char *const *k = keep; *k; k++) {
        const char *v = getenv(*k);
        if (v)
            APR_ARRAY_PUSH(env, const char *) = apr_pstrcat(test_pool, *k, "=",
                                                            v, NULL);
    }
    APR_ARRAY_PUSH(env, const char *) = "BERTH_MARK=from-plan";
    return env;
}

static apr_array_header_t *argv_with(const char *mode, const char *const *rest)
{
    apr_array_header_t *a = apr_array_make(test_pool, 8, sizeof(const char *));
    APR_ARRAY_PUSH(a, const char *) = g_child;
    APR_ARRAY_PUSH(a, const char *) = mode;
    for (; rest && *rest; rest++)
        APR_ARRAY_PUSH(a, const char *) = *rest;
    return a;
}

static const char *read_all(apr_file_t *f)
{
    char buf[4096];
    apr_size_t n;
    const char *all = "";
    for (;;) {
        n = sizeof buf;
        apr_status_t rv = apr_file_read(f, buf, &n);
        if (n)
            all = apr_pstrcat(test_pool, all,
                              apr_pstrmemdup(test_pool, buf, n), NULL);
        if (rv != APR_SUCCESS)
            break;
    }
    return all;
}

static berth_process_t *spawn(const apr_array_header_t *argv,
                              const char *line, apr_pool_t *pool)
{
    berth_process_spec_t spec = { line ? NULL : g_child, argv, line,
                                  env_now(), NULL };
    berth_process_t *p;
    const char *err;
    if (line) {
        /* a cmd.exe wrap: the program is the shell */
        spec.program = getenv("ComSpec") ? getenv("ComSpec")
                                         : "C:\\windows\\system32\\cmd.exe";
    }
    if (berth_process_spawn(&p, &spec, &err, pool) != APR_SUCCESS)
        fail_msg("spawn failed: %s", err);
    return p;
}

/* The child prints what it received as JSON: it must be the planned argv. */
static void check_received(berth_process_t *p, const apr_array_header_t *want)
{
    apr_file_close(berth_process_stdin(p));
    const char *out = read_all(berth_process_stdout(p));
    int code = -1;
    assert_int_equal(berth_process_wait(p, apr_time_from_sec(30), &code),
                     APR_SUCCESS);
    assert_int_equal(code, 0);
    json_error_t jerr;
    json_t *got = json_loads(out, 0, &jerr);
    if (!got)
        fail_msg("child printed no JSON: [%s]", out);
    /* want = [child, "argv", args...]: the child prints args only */
    assert_int_equal((int)json_array_size(got), want->nelts - 2);
    for (int i = 2; i < want->nelts; i++) {
        const char *w = APR_ARRAY_IDX(want, i, const char *);
        const char *g = json_string_value(json_array_get(got, (size_t)i - 2));
        if (!g || strcmp(g, w) != 0)
            fail_msg("argument %d: got [%s], planned [%s]", i - 2,
                     g ? g : "(none)", w);
    }
    json_decref(got);
}

static void test_exact_argv_direct(void **state)
{
    (void)state;
    apr_pool_t *pool;
    apr_pool_create(&pool, test_pool);
    apr_array_header_t *argv = argv_with("argv", hostile);
    /* the direct line carries line breaks (cmd.exe cannot: refused there) */
    APR_ARRAY_PUSH(argv, const char *) = "line\nbreak";
    APR_ARRAY_PUSH(argv, const char *) = "trailing newline\n";
    APR_ARRAY_PUSH(argv, const char *) = "\r\n";
    check_received(spawn(argv, NULL, pool), argv);
    apr_pool_destroy(pool);
}

#ifdef _WIN32
static void test_exact_argv_through_cmd(void **state)
{
    (void)state;
    apr_pool_t *pool;
    apr_pool_create(&pool, test_pool);
    /* Wine's cmd.exe removes carets before it expands %VAR%, so a reference
     * to a variable cmd has (%PATH%) cannot be protected there; real
     * cmd.exe expands first, which berth's ^% escaping relies on. The
     * argument set keeps every other '%' form, and a reference to a
     * variable that is not defined. */
    apr_array_header_t *argv = apr_array_make(test_pool, 40,
                                              sizeof(const char *));
    apr_array_header_t *all = argv_with("argv", hostile);
    for (int i = 0; i < all->nelts; i++) {
        const char *a = APR_ARRAY_IDX(all, i, const char *);
        APR_ARRAY_PUSH(argv, const char *) =
            strcmp(a, "%PATH%") == 0 ? "%BERTH_NOT_DEFINED%" : a;
    }
    APR_ARRAY_PUSH(argv, const char *) = "%";
    APR_ARRAY_PUSH(argv, const char *) = "a%b%c";
    const char *comspec = getenv("ComSpec") ? getenv("ComSpec")
                                            : "C:\\windows\\system32\\cmd.exe";
    const char *line;
    assert_int_equal(berth_cmd_wrap(comspec, argv, &line, NULL, pool),
                     APR_SUCCESS);
    check_received(spawn(argv, line, pool), argv);
    apr_pool_destroy(pool);
}
#endif

static void test_exit_code_env_and_pipes(void **state)
{
    (void)state;
    apr_pool_t *pool;
    apr_pool_create(&pool, test_pool);
    const char *seven[] = { "7", NULL };
    berth_process_t *p = spawn(argv_with("exit", seven), NULL, pool);
    int code = -1;
    assert_int_equal(berth_process_wait(p, apr_time_from_sec(30), &code),
                     APR_SUCCESS);
    assert_int_equal(code, 7);

    const char *name[] = { "BERTH_MARK", NULL };
    p = spawn(argv_with("env", name), NULL, pool);
    assert_string_equal(read_all(berth_process_stdout(p)), "from-plan\n");
    /* nothing of the test's own environment beyond what the plan passed */
    const char *home[] = { "HOME", NULL };
    p = spawn(argv_with("env", home), NULL, pool);
    assert_string_equal(read_all(berth_process_stdout(p)), "(unset)\n");

    p = spawn(argv_with("echo", NULL), NULL, pool);
    apr_size_t n = 12;
    assert_int_equal(apr_file_write(berth_process_stdin(p), "hello\nworld\n",
                                    &n),
                     APR_SUCCESS);
    apr_file_close(berth_process_stdin(p));
    assert_string_equal(read_all(berth_process_stdout(p)), "hello\nworld\n");
    assert_int_equal(berth_process_wait(p, apr_time_from_sec(30), &code),
                     APR_SUCCESS);
    apr_pool_destroy(pool);
}

static void test_exec_failure_is_an_error(void **state)
{
    (void)state;
    apr_array_header_t *argv = apr_array_make(test_pool, 1,
                                              sizeof(const char *));
#ifdef _WIN32
    const char *missing = "C:\\no\\such\\program.exe";
#else
    const char *missing = "/no/such/program";
#endif
    APR_ARRAY_PUSH(argv, const char *) = missing;
    berth_process_spec_t spec = { missing, argv, NULL, env_now(), NULL };
    berth_process_t *p;
    const char *err = NULL;
    assert_int_not_equal(berth_process_spawn(&p, &spec, &err, test_pool),
                         APR_SUCCESS);
    assert_non_null(err);
    assert_non_null(strstr(err, "cannot run"));
    assert_non_null(strstr(err, missing));
}

#ifndef _WIN32
#include "fd_util.h"

static apr_status_t try_spawn(const char *program, const char *cwd,
                              const char **err, apr_pool_t *pool)
{
    apr_array_header_t *argv = apr_array_make(pool, 3, sizeof(const char *));
    APR_ARRAY_PUSH(argv, const char *) = program;
    APR_ARRAY_PUSH(argv, const char *) = "exit";
    APR_ARRAY_PUSH(argv, const char *) = "0";
    berth_process_spec_t spec = { program, argv, NULL, env_now(), cwd };
    berth_process_t *p = NULL;
    apr_status_t rv = berth_process_spawn(&p, &spec, err, pool);
    if (rv == APR_SUCCESS)
        berth_process_wait(p, apr_time_from_sec(30), NULL);
    return rv;
}

/* A spawn that fails leaves no descriptor open: a missing program, a
 * working folder that is missing or a file, and every point where the
 * pipes run out (a descriptor limit just above those open now). */
static void test_failed_spawn_leaks_no_descriptor(void **state)
{
    (void)state;
    apr_pool_t *pool;
    const char *err;
    char open[1024] = { 0 };
    int before = open_fds(open);
    apr_pool_create(&pool, test_pool);
    assert_int_not_equal(try_spawn("/no/such/program", NULL, &err, pool),
                         APR_SUCCESS);
    assert_non_null(strstr(err, "cannot run /no/such/program"));
    assert_int_equal(open_fds(NULL), before);
    assert_int_equal(try_spawn(g_child, "/no/such/folder", &err, pool),
                     ENOENT);
    assert_non_null(strstr(err, "cannot enter /no/such/folder"));
    assert_int_equal(open_fds(NULL), before);
    /* a file is no folder: the child says which step failed */
    assert_int_equal(try_spawn(g_child, g_child, &err, pool), ENOTDIR);
    if (!strstr(err, "cannot enter"))
        fail_msg("a cwd that is a file: [%s]", err);
    assert_int_equal(open_fds(NULL), before);

    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int failed = 0, started = 0;
    /* a spawn needs eight: four pipes */
    for (int room = 0; room <= 9; room++) {
        apr_pool_t *sub;
        apr_pool_create(&sub, pool);
        struct rlimit low = old;
        low.rlim_cur = limit_with_room(open, room);
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
        apr_status_t rv = try_spawn(g_child, NULL, &err, sub);
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
        if (rv == APR_SUCCESS) {
            started++;
        } else {
            failed++;
            assert_int_equal(rv, EMFILE);
            int now = open_fds(NULL);
            if (now != before)
                fail_msg("%d descriptors open after a spawn that failed "
                         "with room for %d more (%s), %d before", now, room,
                         err, before);
        }
        apr_pool_destroy(sub); /* a started child's pipes close here */
        assert_int_equal(open_fds(NULL), before);
    }
    assert_true(failed > 0);
    assert_true(started > 0);
    apr_pool_destroy(pool);
}
#endif

static long read_pid(const char *file)
{
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(file, "r");
        long pid = 0;
        if (f) {
            int ok = fscanf(f, "%ld", &pid) == 1;
            fclose(f);
            if (ok && pid > 0)
                return pid;
        }
        apr_sleep(apr_time_from_msec(10));
    }
    return 0;
}

static int alive(long pid)
{
#ifdef _WIN32
    HANDLE h = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION,
                           FALSE, (DWORD)pid);
    if (!h)
        return 0;
    DWORD w = WaitForSingleObject(h, 0);
    CloseHandle(h);
    return w == WAIT_TIMEOUT;
#else
    /* reap it if it was reparented to us (we are a subreaper) */
    waitpid((pid_t)pid, NULL, WNOHANG);
    return kill((pid_t)pid, 0) == 0;
#endif
}

static int gone_within(long pid, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        if (!alive(pid))
            return 1;
        apr_sleep(apr_time_from_msec(10));
    }
    return !alive(pid);
}

/* Ending berth's hold on a child ends its children too: the process group
 * on Unix, the Job Object on Windows (here by destroying the pool, which
 * closes the job). */
static void test_whole_tree_ends(void **state)
{
    (void)state;
    for (int how = 0; how < 2; how++) {
        apr_pool_t *pool;
        apr_pool_create(&pool, test_pool);
        char *tmp = NULL;
        apr_temp_dir_get((const char **)&tmp, pool);
        const char *pidfile = apr_psprintf(pool, "%s/berth-tree-%d-%d.pid",
                                           tmp, how, (int)apr_time_now());
        const char *args[] = { pidfile, NULL };
        berth_process_t *p = spawn(argv_with("tree", args), NULL, pool);
        long child = berth_process_pid(p);
        long grandchild = read_pid(pidfile);
        assert_true(grandchild > 0);
        assert_true(alive(grandchild));
        if (how == 0) {
            assert_int_equal(berth_process_kill_tree(p), APR_SUCCESS);
            int code;
            assert_int_equal(berth_process_wait(p, apr_time_from_sec(10),
                                                &code),
                             APR_SUCCESS);
        }
        apr_pool_destroy(pool); /* how 1: only this */
        if (!gone_within(child, 3000))
            fail_msg("child %ld survived", child);
        if (!gone_within(grandchild, 3000))
            fail_msg("grandchild %ld survived (how %d)", grandchild, how);
        remove(pidfile);
    }
}

#ifdef _WIN32
#include "win32_util.h"

/* A job that cannot be set up fails the spawn, and the child never runs:
 * outside its job (or in one without KILL_ON_JOB_CLOSE) its tree would
 * outlive berth. A job handle short of one right makes Windows refuse
 * SetInformationJobObject, then AssignProcessToJobObject, for real. */
static void test_job_setup_failure_fails_spawn(void **state)
{
    (void)state;
    static const struct {
        DWORD access;
        const char *refused;
    } cases[] = {
        { JOB_OBJECT_ALL_ACCESS & ~(DWORD)JOB_OBJECT_SET_ATTRIBUTES,
          "SetInformationJobObject" },
        { JOB_OBJECT_ALL_ACCESS & ~(DWORD)JOB_OBJECT_ASSIGN_PROCESS,
          "AssignProcessToJobObject" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        apr_pool_t *pool;
        apr_pool_create(&pool, test_pool);
        char *tmp = NULL;
        apr_temp_dir_get((const char **)&tmp, pool);
        const char *pidfile = apr_psprintf(pool, "%s/berth-job-%d-%d.pid",
                                           tmp, (int)i, (int)apr_time_now());
        const char *args[] = { pidfile, NULL };
        berth_process_spec_t spec = { g_child, argv_with("tree", args), NULL,
                                      env_now(), NULL };
        berth_process_t *p = NULL;
        const char *err = NULL;
        berth_win_test_job_access(cases[i].access);
        apr_status_t rv = berth_process_spawn(&p, &spec, &err, pool);
        berth_win_test_job_access(0);
        if (rv == APR_SUCCESS) {
            long child = berth_process_pid(p), grandchild = read_pid(pidfile);
            HANDLE h = OpenProcess(PROCESS_TERMINATE, FALSE, (DWORD)child);
            if (h) {
                TerminateProcess(h, 1);
                CloseHandle(h);
            }
            if (grandchild > 0 &&
                (h = OpenProcess(PROCESS_TERMINATE, FALSE,
                                 (DWORD)grandchild))) {
                TerminateProcess(h, 1);
                CloseHandle(h);
            }
            remove(pidfile);
            fail_msg("%s refused, yet the spawn succeeded: child %ld ran "
                     "(its grandchild %ld), outside a job that ends with "
                     "berth", cases[i].refused, child, grandchild);
        }
        if (!err || !strstr(err, "job object") || !strstr(err, g_child))
            fail_msg("%s refused: the error does not say so: [%s]",
                     cases[i].refused, err ? err : "(none)");
        printf("  %s refused: %s\n", cases[i].refused, err);
        /* it was ended before its first instruction: no pid file comes */
        apr_sleep(apr_time_from_msec(500));
        FILE *f = fopen(pidfile, "r");
        if (f) {
            fclose(f);
            remove(pidfile);
            fail_msg("%s refused: the child ran anyway", cases[i].refused);
        }
        apr_pool_destroy(pool);
    }
}
#endif

#ifndef _WIN32
static void put(apr_file_t *f, const char *text)
{
    apr_size_t n;
    assert_int_equal(apr_file_write_full(f, text, strlen(text), &n),
                     APR_SUCCESS);
}

/* One wait: its status and, when it succeeded, whether a kick ended it. */
static void wait_is(apr_file_t *f, apr_file_t *kick,
                    apr_interval_time_t timeout, apr_status_t want,
                    int want_kicked)
{
    int kicked = -1;
    assert_int_equal(berth_process_wait_readable(f, kick, timeout, &kicked),
                     want);
    if (want == APR_SUCCESS)
        assert_int_equal(kicked, want_kicked);
}
#endif

/* The wait an upstream's owner does on the server's stdout and a kick pipe
 * together: a timeout, a kick (drained), data, both at once, the end. */
static void test_wait_readable(void **state)
{
    (void)state;
    apr_file_t *out_r, *out_w, *kick_r, *kick_w;
    assert_int_equal(apr_file_pipe_create_ex(&out_r, &out_w, APR_FULL_BLOCK,
                                             test_pool), APR_SUCCESS);
    assert_int_equal(apr_file_pipe_create_ex(&kick_r, &kick_w,
                                             APR_FULL_NONBLOCK, test_pool),
                     APR_SUCCESS);
#ifdef _WIN32
    /* anonymous pipes are not waited on together: the reader thread reads */
    int kicked = -1;
    assert_int_equal(berth_process_wait_readable(out_r, kick_r, 0, &kicked),
                     APR_ENOTIMPL);
    assert_int_equal(kicked, 0);
#else
    apr_time_t t0 = berth_platform_clock();
    wait_is(out_r, kick_r, 20 * 1000, APR_TIMEUP, 0);
    assert_true(berth_platform_clock() - t0 >= 20 * 1000);
    put(kick_w, "kk");
    wait_is(out_r, kick_r, -1, APR_SUCCESS, 1);
    /* both kicks were drained */
    wait_is(out_r, kick_r, 0, APR_TIMEUP, 0);
    /* data wins over a kick that came with it */
    put(out_w, "x\n");
    put(kick_w, "k");
    wait_is(out_r, kick_r, -1, APR_SUCCESS, 0);
    char buf[4];
    apr_size_t n = sizeof buf;
    assert_int_equal(apr_file_read(out_r, buf, &n), APR_SUCCESS);
    assert_int_equal(n, 2);
    /* without a kick pipe; and the end of the pipe counts as readable */
    wait_is(out_r, NULL, 0, APR_TIMEUP, 0);
    apr_file_close(out_w);
    wait_is(out_r, NULL, -1, APR_SUCCESS, 0);
#endif
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: process_test PROC_CHILD\n");
        return 2;
    }
    g_child = argv[1];
#ifndef _WIN32
    /* grandchildren reparented to us can be reaped and seen gone */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_argv_direct),
#ifdef _WIN32
        cmocka_unit_test(test_exact_argv_through_cmd),
#endif
        cmocka_unit_test(test_exit_code_env_and_pipes),
        cmocka_unit_test(test_exec_failure_is_an_error),
#ifndef _WIN32
        cmocka_unit_test(test_failed_spawn_leaks_no_descriptor),
#endif
        cmocka_unit_test(test_whole_tree_ends),
#ifdef _WIN32
        cmocka_unit_test(test_job_setup_failure_fails_spawn),
#endif
        cmocka_unit_test(test_wait_readable),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
