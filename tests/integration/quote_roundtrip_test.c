/* docs/spawn.md's quoting, proven with real shells: the docker argv, with
 * `--cidfile <path>` right after `run`, is quoted by berth_join_shell for the
 * shell that will read it, handed to a REAL /bin/sh, bash, zsh, fish (plain
 * and as login shells, exactly as the plan wraps: `<shell> -l -c LINE`),
 * tcsh and csh (`<shell> -c LINE`, as the plan wraps them) and pwsh where
 * it is installed, and the program that runs (tests/fixtures/argv_dump) must receive
 * exactly the planned arguments. The Windows command line is proven with the
 * project's CommandLineToArgvW and cmd.exe parsers.
 *
 * Usage: quote_roundtrip_test [ARGV_DUMP]  (else $BERTH_ARGV_DUMP). */
#define _XOPEN_SOURCE 700
#include "itest_util.h"

#include "shellquote.h"

static const char *g_dump;  /* the fixture, absolute */
static const char *g_tmp;   /* this run's scratch folder */
static const char *g_prog;  /* the fixture behind a hostile path */

#define CIDFILE_POSIX "/tmp/path with spaces/it's cid"
#define DOCKER_WIN "C:\\Program Files\\Docker\\Docker\\resources\\bin\\docker.exe"
#define CIDFILE_WIN "C:\\path with spaces\\cid"

/* What a user's config can put after `docker run` (or berth's isolation
 * builds): every character class a shell, cmd.exe or CommandLineToArgvW
 * treats specially. Entries with a line break are last (cmd.exe cannot carry
 * them; see N_NO_BREAK). */
static const char *const hostile[] = {
    "-i", "--rm",
    "-e", "KEY=VAL",
    "-e", "SPACED=a b  c",
    "-e", "QUOTED=it's \"x\"",
    "-eGLUED=v", "--env=LONG=v w", "--env", "DOLLAR=$HOME",
    "plain", "with space", "  leading and trailing  ",
    "double\"quote", "single'quote", "both'\"kinds", "'", "\"", "''", "\"\"",
    "'\"'\"'",
    "back\\slash", "trailing\\", "two trailing\\\\", "\\", "\\\\",
    "before\\\"quote", "before\\'squote", "dir with space\\",
    "\\\\server\\share\\", "a\\\\\"b",
    "$", "$HOME", "${HOME}", "$(id)", "`id`", "$((1+1))", "$'x'", "$\"x\"",
    "%PATH%", "%", "100%", "^", "^^", "a^b", "&", "a&b", "&&", "|", "a|b",
    "||", "<>", "<in", ">out", "2>&1", ";", "a;b", "*", "*.txt", "?", "[ab]",
    "{a,b}", "~", "~/x", "~root", "!", "!!", "!$", "a!b", "#", "#comment",
    "a#b", "(", ")", "(sub)", "=", "KEY=", "a=b=c", "@", "+x", "a,b", ":",
    "-", "--", "-c", "--flag=value",
    "", "x",
    "é", "日本", "日本語 テキスト", "😀", "emoji 😀 and é", "\xc3\xa9\xe6\x97\xa5",
    "tab\there", "\t", " ", "mixed 日本 $x 'q' \"d\" \\ ; & | ^ %",
    "ghcr.io/org/image:1.2@sha256:abc",
    /* line breaks last */
    "line1\nline2", "\n", "trailing newline\n", "cr\rlf\r\n",
};
#define N_HOSTILE (sizeof hostile / sizeof hostile[0])
#define N_NO_BREAK (N_HOSTILE - 4)

static apr_array_header_t *docker_argv(const char *program,
                                       const char *cidfile, size_t n_hostile)
{
    apr_array_header_t *a = apr_array_make(test_pool, 64,
                                           sizeof(const char *));
    APR_ARRAY_PUSH(a, const char *) = program;
    APR_ARRAY_PUSH(a, const char *) = "run";
    APR_ARRAY_PUSH(a, const char *) = "--cidfile";
    APR_ARRAY_PUSH(a, const char *) = cidfile;
    for (size_t i = 0; i < n_hostile; i++)
        APR_ARRAY_PUSH(a, const char *) = hostile[i];
    return a;
}

/* Compares WANT (const char *) with GOT element by element; FROM skips the
 * first elements of WANT (the program, which argv_dump does not print). */
static void assert_same_argv(const char *what, const char *line,
                             const apr_array_header_t *want, int from,
                             const apr_array_header_t *got)
{
    int nw = want->nelts - from;
    int bad = -1;
    for (int i = 0; i < nw && i < got->nelts && bad < 0; i++)
        if (strcmp(APR_ARRAY_IDX(want, from + i, const char *),
                   APR_ARRAY_IDX(got, i, const char *)) != 0)
            bad = i;
    if (bad < 0 && nw == got->nelts)
        return;
    if (bad < 0)
        bad = nw < got->nelts ? nw : got->nelts;
    fail_msg("%s: argument %d differs (want %d arguments, got %d)\n"
             "  want: %s\n  got:  %s\n  line: %s",
             what, bad, nw, got->nelts,
             bad < nw ? shows(APR_ARRAY_IDX(want, from + bad, const char *))
                      : "(nothing)",
             bad < got->nelts ? shows(APR_ARRAY_IDX(got, bad, const char *))
                              : "(nothing)",
             shows(line));
}

/* argv_dump's output: every argument followed by NUL. */
static apr_array_header_t *split_nul(const char *what, const run_t *r)
{
    apr_array_header_t *a = apr_array_make(test_pool, 64,
                                           sizeof(const char *));
    if (r->out_len && r->out[r->out_len - 1] != '\0')
        fail_msg("%s: output does not end in NUL (noise from the shell?): "
                 "%s", what, show(r->out, r->out_len));
    for (size_t i = 0; i < r->out_len;) {
        size_t n = strlen(r->out + i);
        APR_ARRAY_PUSH(a, const char *) = apr_pstrmemdup(test_pool,
                                                         r->out + i, n);
        i += n + 1;
    }
    return a;
}

/* Runs SHELL FLAGS... LINE with an empty HOME (and XDG dirs) of its own,
 * so no rc file of the machine's user adds noise; returns what argv_dump
 * got. */
static apr_array_header_t *run_shell_flags(const char *shell,
                                           const char *const *flags,
                                           const char *line, const char *what)
{
    const char *home = make_temp_dir("home");
    const char *envp[] = {
        apr_pstrcat(test_pool, "HOME=", home, NULL),
        apr_pstrcat(test_pool, "XDG_CONFIG_HOME=", home, "/.config", NULL),
        apr_pstrcat(test_pool, "XDG_DATA_HOME=", home, "/.local/share", NULL),
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "LANG=C.UTF-8",
        "TERM=dumb",
        NULL
    };
    const char *argv[6];
    int n = 0;
    argv[n++] = shell;
    for (; *flags && n < 4; flags++)
        argv[n++] = *flags;
    argv[n++] = line;
    argv[n] = NULL;
    run_t r;
    run_proc(argv, envp, 30, &r);
    rm_tree(home);
    if (r.timed_out || !r.exited || r.status != 0)
        fail_msg("%s: %s exited %s %d%s\n  stderr: %s\n  line: %s", what,
                 shell, r.exited ? "with status" : "by signal", r.status,
                 r.timed_out ? " (timed out)" : "", shows(r.err), shows(line));
    return split_nul(what, &r);
}

/* SHELL [-l] -c LINE */
static apr_array_header_t *run_shell(const char *shell, int login,
                                     const char *line, const char *what)
{
    static const char *const with_l[] = { "-l", "-c", NULL };
    return run_shell_flags(shell, login ? with_l : with_l + 1, line, what);
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

static void roundtrip(const char *shell, int login,
                      berth_shell_family_t family)
{
    apr_array_header_t *want = docker_argv(g_prog, CIDFILE_POSIX, N_HOSTILE);
    const char *line = berth_join_shell(want, family, test_pool);
    const char *what = apr_psprintf(test_pool, "%s%s -c", shell,
                                    login ? " -l" : "");
    apr_array_header_t *got = run_shell(shell, login, line, what);
    /* the cidfile pair sits right after run, before anything else */
    assert_true(got->nelts >= 3);
    assert_string_equal(APR_ARRAY_IDX(got, 0, const char *), "run");
    assert_string_equal(APR_ARRAY_IDX(got, 1, const char *), "--cidfile");
    assert_string_equal(APR_ARRAY_IDX(got, 2, const char *), CIDFILE_POSIX);
    assert_same_argv(what, line, want, 1, got);
}

/* The wrap as a plan makes it for a shell of FAMILY: its own flags
 * (berth_shell_flags: csh and tcsh get -c alone). */
static void roundtrip_as_planned(const char *shell,
                                 berth_shell_family_t family)
{
    apr_array_header_t *want = docker_argv(g_prog, CIDFILE_POSIX, N_HOSTILE);
    const char *line = berth_join_shell(want, family, test_pool);
    const char *what = apr_psprintf(test_pool, "%s (as planned)", shell);
    apr_array_header_t *got = run_shell_flags(
        shell, berth_shell_flags(family), line, what);
    assert_same_argv(what, line, want, 1, got);
}

static void test_tcsh(void **state)
{
    (void)state;
    roundtrip_as_planned(shell_or_skip("tcsh"), BERTH_SHELL_CSH);
}

/* Debian's csh is bsd-csh, OpenBSD's: older rules than tcsh's. */
static void test_csh(void **state)
{
    (void)state;
    roundtrip_as_planned(shell_or_skip("csh"), BERTH_SHELL_CSH);
}

/* csh expands history (!) even in -c, and a bare quote cannot hold a line
 * break: both are what csh quoting is for. */
static void test_csh_history_and_line_breaks(void **state)
{
    (void)state;
    static const char *const names[] = { "tcsh", "csh", NULL };
    static const char *const items[] = { "run", "!x", "a!b", "!!", "!$",
                                         "\\!", "a\\", "x\n", "\n!\n",
                                         "'!'", NULL };
    for (const char *const *n = names; *n; n++) {
        const char *sh = find_binary(*n);
        if (!sh)
            continue;
        apr_array_header_t *full = apr_array_make(test_pool, 8,
                                                  sizeof(const char *));
        APR_ARRAY_PUSH(full, const char *) = g_prog;
        for (const char *const *i = items; *i; i++)
            APR_ARRAY_PUSH(full, const char *) = *i;
        const char *line = berth_join_shell(full, BERTH_SHELL_CSH, test_pool);
        apr_array_header_t *got = run_shell_flags(
            sh, berth_shell_flags(BERTH_SHELL_CSH), line, sh);
        assert_same_argv(sh, line, full, 1, got);
    }
}

/* PowerShell 7 is not in Debian 12 (nor reachable here otherwise): its
 * quoting is proven by its documented rules (shellquote_test.c and
 * test_project_parsers_agree); a machine that has pwsh runs this too. */
static void test_pwsh(void **state)
{
    (void)state;
    const char *pwsh = find_binary("pwsh");
    if (!pwsh) {
        print_message("pwsh is not installed (Debian 12 has no package for "
                      "it): skipped; its rules are tested without it\n");
        skip();
    }
    roundtrip_as_planned(pwsh, BERTH_SHELL_PWSH);
}

static void test_sh(void **state)
{
    (void)state;
    if (access("/bin/sh", X_OK) != 0)
        skip();
    roundtrip("/bin/sh", 0, BERTH_SHELL_POSIX);
}

static void test_bash(void **state)
{
    (void)state;
    roundtrip(shell_or_skip("bash"), 0, BERTH_SHELL_POSIX);
}

static void test_bash_login(void **state)
{
    (void)state;
    roundtrip(shell_or_skip("bash"), 1, BERTH_SHELL_POSIX);
}

static void test_zsh(void **state)
{
    (void)state;
    roundtrip(shell_or_skip("zsh"), 0, BERTH_SHELL_POSIX);
}

static void test_zsh_login(void **state)
{
    (void)state;
    roundtrip(shell_or_skip("zsh"), 1, BERTH_SHELL_POSIX);
}

static void test_fish(void **state)
{
    (void)state;
    roundtrip(shell_or_skip("fish"), 0, BERTH_SHELL_FISH);
}

static void test_fish_login(void **state)
{
    (void)state;
    roundtrip(shell_or_skip("fish"), 1, BERTH_SHELL_FISH);
}

/* The family berth picks from the shell's name is the one that round-trips
 * for that real shell (the plan never passes the family by hand). */
static void test_family_from_real_shell_names(void **state)
{
    (void)state;
    static const char *const names[] = { "sh", "bash", "zsh", "dash", "fish",
                                         "tcsh", "csh", "pwsh", NULL };
    for (const char *const *n = names; *n; n++) {
        const char *p = find_binary(*n);
        if (!p)
            continue;
        int known = 0;
        berth_shell_family_t fam = berth_shell_family(p, &known);
        assert_true(known);
        apr_array_header_t *want = docker_argv(g_prog, CIDFILE_POSIX,
                                               N_HOSTILE);
        const char *line = berth_join_shell(want, fam, test_pool);
        apr_array_header_t *got = run_shell_flags(
            p, berth_shell_flags(fam), line, p);
        assert_same_argv(p, line, want, 1, got);
    }
}

/* Words a POSIX quoter might think harmless but zsh expands when they are
 * unquoted: a leading '=' is EQUALS expansion (=ls becomes /usr/bin/ls, and
 * =nosuchcommand aborts the whole command line). macOS's default login shell
 * is zsh. */
static void test_zsh_leading_equals(void **state)
{
    (void)state;
    const char *zsh = shell_or_skip("zsh");
    static const char *const items[] = { "run", "=ls", "=", "=nosuchcommand",
                                         "a=ls", "==x", NULL };
    apr_array_header_t *full = apr_array_make(test_pool, 8,
                                              sizeof(const char *));
    APR_ARRAY_PUSH(full, const char *) = g_prog;
    for (const char *const *i = items; *i; i++)
        APR_ARRAY_PUSH(full, const char *) = *i;
    const char *line = berth_join_shell(full, BERTH_SHELL_POSIX, test_pool);
    apr_array_header_t *got = run_shell(zsh, 0, line, "zsh -c (leading =)");
    assert_same_argv("zsh -c (leading =)", line, full, 1, got);
    got = run_shell(zsh, 1, line, "zsh -l -c (leading =)");
    assert_same_argv("zsh -l -c (leading =)", line, full, 1, got);
}

/* fish expands an unquoted %self to its own pid. */
static void test_fish_percent_self(void **state)
{
    (void)state;
    const char *fish = shell_or_skip("fish");
    static const char *const items[] = { "run", "%self", "%self/x", "%PATH%",
                                         "100%", NULL };
    apr_array_header_t *full = apr_array_make(test_pool, 8,
                                              sizeof(const char *));
    APR_ARRAY_PUSH(full, const char *) = g_prog;
    for (const char *const *i = items; *i; i++)
        APR_ARRAY_PUSH(full, const char *) = *i;
    const char *line = berth_join_shell(full, BERTH_SHELL_FISH, test_pool);
    apr_array_header_t *got = run_shell(fish, 0, line, "fish -c (%self)");
    assert_same_argv("fish -c (%self)", line, full, 1, got);
}

/* The project's own parsers agree with the real shells on the same lines
 * (they are what the unit tests use as the oracle). */
static void test_project_parsers_agree(void **state)
{
    (void)state;
    apr_array_header_t *want = docker_argv(g_prog, CIDFILE_POSIX, N_HOSTILE);
    apr_array_header_t *got;
    const char *line = berth_join_shell(want, BERTH_SHELL_POSIX, test_pool);
    assert_int_equal(berth_parse_posix(line, &got, test_pool), APR_SUCCESS);
    assert_same_argv("berth_parse_posix", line, want, 0, got);
    line = berth_join_shell(want, BERTH_SHELL_FISH, test_pool);
    assert_int_equal(berth_parse_fish(line, &got, test_pool), APR_SUCCESS);
    assert_same_argv("berth_parse_fish", line, want, 0, got);
    line = berth_join_shell(want, BERTH_SHELL_CSH, test_pool);
    assert_int_equal(berth_parse_csh(line, &got, test_pool), APR_SUCCESS);
    assert_same_argv("berth_parse_csh", line, want, 0, got);
    line = berth_join_shell(want, BERTH_SHELL_PWSH, test_pool);
    assert_int_equal(berth_parse_pwsh(line, &got, test_pool), APR_SUCCESS);
    assert_same_argv("berth_parse_pwsh", line, want, 0, got);
}

/* ---- Windows ---- */

/* CreateProcess line: berth_join_windows, read back by CommandLineToArgvW
 * rules, including the program token and line breaks (which a direct
 * CreateProcess carries fine). */
static void test_windows_join_roundtrip(void **state)
{
    (void)state;
    apr_array_header_t *want = docker_argv(DOCKER_WIN, CIDFILE_WIN, N_HOSTILE);
    const char *line = berth_join_windows(want, test_pool);
    apr_array_header_t *got = berth_parse_msvcrt(line, test_pool);
    assert_same_argv("berth_join_windows -> berth_parse_msvcrt", line, want, 0,
                     got);
    /* the program path with spaces is quoted whole, first */
    assert_true(strncmp(line, "\"" DOCKER_WIN "\" run --cidfile \""
                        CIDFILE_WIN "\" ", strlen("\"" DOCKER_WIN "\" run "
                                                  "--cidfile \"" CIDFILE_WIN
                                                  "\" ")) == 0);
}

/* cmd.exe sees no quoted region in the escaped line (every quote is ^"),
 * so each of its metacharacters must be ^-escaped or cmd acts on it (& runs
 * a second command, | pipes, > redirects, % expands). */
static void assert_cmd_metachars_escaped(const char *inner)
{
    for (const char *c = inner; *c; c++) {
        if (*c == '^') {
            if (!c[1])
                fail_msg("a dangling ^ at the end of %s", shows(inner));
            c++;
            continue;
        }
        if (strchr("()%!^\"<>&|", *c))
            fail_msg("unescaped cmd.exe metacharacter '%c' at offset %d of "
                     "%s", *c, (int)(c - inner), shows(inner));
    }
}

/* cmd.exe: `"<comspec>" /d /s /c "<escaped>"`; the part after "/c " read
 * back by cmd's rules, then by CommandLineToArgvW, is the planned argv. */
static void test_windows_cmd_roundtrip(void **state)
{
    (void)state;
    static const char *const comspecs[] = {
        "C:\\Windows\\system32\\cmd.exe",
        "C:\\Program Files\\Odd Place\\cmd.exe",
        NULL
    };
    apr_array_header_t *want = docker_argv(DOCKER_WIN, CIDFILE_WIN, N_NO_BREAK);
    for (const char *const *cs = comspecs; *cs; cs++) {
        const char *line = NULL, *inner = NULL;
        assert_int_equal(berth_cmd_wrap(*cs, want, &line, &inner, test_pool),
                         APR_SUCCESS);
        const char *c = strstr(line, " /d /s /c ");
        assert_non_null(c);
        /* the comspec comes first, quoted when it has a space */
        const char *head = strchr(*cs, ' ')
                               ? apr_pstrcat(test_pool, "\"", *cs, "\"", NULL)
                               : *cs;
        assert_int_equal((size_t)(c - line), strlen(head));
        assert_memory_equal(line, head, strlen(head));
        const char *after = c + strlen(" /d /s /c ");
        /* INNER is what sits between the outer quotes */
        assert_string_equal(after, apr_pstrcat(test_pool, "\"", inner, "\"",
                                               NULL));
        assert_cmd_metachars_escaped(inner);
        const char *handed = berth_parse_cmd(after, test_pool);
        apr_array_header_t *got = berth_parse_msvcrt(handed, test_pool);
        assert_same_argv(apr_psprintf(test_pool, "cmd_wrap(%s) -> parse_cmd "
                                      "-> parse_msvcrt", *cs),
                         line, want, 0, got);
        /* what cmd hands on is exactly the CreateProcess line */
        assert_string_equal(handed, berth_join_windows(want, test_pool));
    }
}

/* cmd.exe cannot carry a line break: each is refused, nothing stripped. */
static void test_cmd_wrap_refuses_line_breaks(void **state)
{
    (void)state;
    for (size_t i = N_NO_BREAK; i < N_HOSTILE; i++) {
        apr_array_header_t *a = docker_argv(DOCKER_WIN, CIDFILE_WIN, 0);
        APR_ARRAY_PUSH(a, const char *) = hostile[i];
        const char *line = NULL;
        assert_int_equal(berth_cmd_wrap("cmd.exe", a, &line, NULL, test_pool),
                         APR_EINVAL);
    }
    /* a break in the cidfile or the program is refused as well */
    apr_array_header_t *a = docker_argv(DOCKER_WIN, "C:\\x\ny\\cid", 0);
    const char *line = NULL;
    assert_int_equal(berth_cmd_wrap("cmd.exe", a, &line, NULL, test_pool),
                     APR_EINVAL);
    /* and without one the same argv is accepted */
    a = docker_argv(DOCKER_WIN, CIDFILE_WIN, 0);
    assert_int_equal(berth_cmd_wrap("cmd.exe", a, &line, NULL, test_pool),
                     APR_SUCCESS);
}

/* ---- main ---- */

static int group_setup(void **state)
{
    if (itest_setup(state) != 0)
        return -1;
    g_tmp = make_temp_dir("qrt");
    /* the program behind a path that needs quoting itself */
    const char *dir = apr_pstrcat(test_pool, g_tmp,
                                  "/bin dir 'q' $HOME & é;(x)", NULL);
    if (mkdir(dir, 0755) != 0)
        return -1;
    g_prog = apr_pstrcat(test_pool, dir, "/argv dump", NULL);
    if (symlink(g_dump, g_prog) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    rm_tree(g_tmp);
    return itest_teardown(state);
}

int main(int argc, char **argv)
{
    g_dump = argc > 1 ? argv[1] : getenv("BERTH_ARGV_DUMP");
    if (!g_dump || g_dump[0] != '/' || access(g_dump, X_OK) != 0) {
        fprintf(stderr, "usage: %s /abs/path/to/argv_dump (or set "
                "BERTH_ARGV_DUMP)\n", argv[0]);
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sh),
        cmocka_unit_test(test_bash),
        cmocka_unit_test(test_bash_login),
        cmocka_unit_test(test_zsh),
        cmocka_unit_test(test_zsh_login),
        cmocka_unit_test(test_fish),
        cmocka_unit_test(test_fish_login),
        cmocka_unit_test(test_tcsh),
        cmocka_unit_test(test_csh),
        cmocka_unit_test(test_csh_history_and_line_breaks),
        cmocka_unit_test(test_pwsh),
        cmocka_unit_test(test_family_from_real_shell_names),
        cmocka_unit_test(test_zsh_leading_equals),
        cmocka_unit_test(test_fish_percent_self),
        cmocka_unit_test(test_project_parsers_agree),
        cmocka_unit_test(test_windows_join_roundtrip),
        cmocka_unit_test(test_windows_cmd_roundtrip),
        cmocka_unit_test(test_cmd_wrap_refuses_line_breaks),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
