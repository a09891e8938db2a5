#include <string.h>

#include "test_util.h"

#include "shellquote.h"

static const char *const hostile[] = {
    "plain", "with space", "it's", "say \"hi\"", "back\\slash",
    "trailing\\", "trail\\\\", "\\\"pre-escaped\\\"", "$HOME", "$(id)",
    "`id`", "%PATH%", "100%", "^caret", "a&b", "a|b", "<in>", "a;b",
    "line\nbreak", "tab\there", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac",
    "\xf0\x9f\x9a\xa2", "", " ", "'", "\"", "!bang", "#hash", "*", "~",
    "-e", "KEY=va lue", "--cidfile=x", "a\\\\\"b", NULL
};

static apr_array_header_t *argv_of(const char *const *list)
{
    apr_array_header_t *a = apr_array_make(test_pool, 8, sizeof(const char *));
    for (; *list; list++)
        APR_ARRAY_PUSH(a, const char *) = *list;
    return a;
}

static void assert_same(const apr_array_header_t *got,
                        const apr_array_header_t *want)
{
    if (got->nelts != want->nelts)
        fail_msg("%d arguments, expected %d", got->nelts, want->nelts);
    for (int i = 0; i < want->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(got, i, const char *),
                   APR_ARRAY_IDX(want, i, const char *)) != 0)
            fail_msg("argument %d: [%s] expected [%s]", i,
                     APR_ARRAY_IDX(got, i, const char *),
                     APR_ARRAY_IDX(want, i, const char *));
}

static void test_posix_quoting(void **state)
{
    (void)state;
    struct { const char *in, *out; } rows[] = {
        { "plain", "plain" },
        { "/usr/bin/docker", "/usr/bin/docker" },
        { "a=b,c:d@e%f+g", "a=b,c:d@e%f+g" },
        { "", "''" },
        { "with space", "'with space'" },
        { "it's", "'it'\"'\"'s'" },
        { "$HOME", "'$HOME'" },
        { "caf\xc3\xa9", "'caf\xc3\xa9'" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_string_equal(berth_quote_posix(rows[i].in, test_pool),
                            rows[i].out);
    assert_string_equal(berth_quote_fish("it's a\\b", test_pool),
                        "'it\\'s a\\\\b'");
}

static void test_msvcrt_quoting(void **state)
{
    (void)state;
    struct { const char *in, *out; } rows[] = {
        { "plain", "plain" },
        { "", "\"\"" },
        { "a b", "\"a b\"" },
        { "a\"b", "\"a\\\"b\"" },
        { "C:\\path with\\", "\"C:\\path with\\\\\"" },
        { "a\\\\\"b", "\"a\\\\\\\\\\\"b\"" },
        { "C:\\no\\spaces\\", "C:\\no\\spaces\\" },
        { "tab\tx", "\"tab\tx\"" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_string_equal(berth_quote_msvcrt(rows[i].in, test_pool),
                            rows[i].out);
    assert_string_equal(berth_cmd_escape("a&b|c<d>e^f%g%!h(i)\"j\"",
                                         test_pool),
                        "a^&b^|c^<d^>e^^f^%g^%^!h^(i^)^\"j^\"");
}

static void test_msvcrt_parser_known_lines(void **state)
{
    (void)state;
    /* The documented CommandLineToArgvW examples. */
    struct { const char *line; const char *want[5]; } rows[] = {
        { "prog \"abc\" d e", { "prog", "abc", "d", "e", NULL } },
        { "prog a\\\\\\b d\"e f\"g h", { "prog", "a\\\\\\b", "de fg", "h",
                                         NULL } },
        { "prog a\\\\\\\"b c d", { "prog", "a\\\"b", "c", "d", NULL } },
        { "prog a\\\\\\\\\"b c\" d e", { "prog", "a\\\\b c", "d", "e", NULL } },
        { "\"C:\\Program Files\\x.exe\" a", { "C:\\Program Files\\x.exe", "a",
                                              NULL } },
        { "C:\\a\\b\\ \"\"", { "C:\\a\\b\\", "", NULL } },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_same(berth_parse_msvcrt(rows[i].line, test_pool),
                    argv_of(rows[i].want));
}

static void test_round_trips(void **state)
{
    (void)state;
    const char *list[64];
    int n = 0;
    list[n++] = "C:\\Program Files\\Docker\\Docker\\resources\\bin\\docker.exe";
    list[n++] = "run";
    list[n++] = "--cidfile";
    list[n++] = "C:\\path with spaces\\cid";
    for (int i = 0; hostile[i]; i++)
        list[n++] = hostile[i];
    list[n] = NULL;
    apr_array_header_t *argv = argv_of(list);

    apr_array_header_t *back;
    assert_int_equal(berth_parse_posix(berth_join_shell(argv, BERTH_SHELL_POSIX,
                                                        test_pool),
                                       &back, test_pool),
                     APR_SUCCESS);
    assert_same(back, argv);
    assert_int_equal(berth_parse_fish(berth_join_shell(argv, BERTH_SHELL_FISH,
                                                       test_pool),
                                      &back, test_pool),
                     APR_SUCCESS);
    assert_same(back, argv);
    assert_int_equal(berth_parse_csh(berth_join_shell(argv, BERTH_SHELL_CSH,
                                                      test_pool),
                                     &back, test_pool),
                     APR_SUCCESS);
    assert_same(back, argv);
    assert_int_equal(berth_parse_pwsh(berth_join_shell(argv, BERTH_SHELL_PWSH,
                                                       test_pool),
                                      &back, test_pool),
                     APR_SUCCESS);
    assert_same(back, argv);
    assert_same(berth_parse_msvcrt(berth_join_windows(argv, test_pool),
                                   test_pool),
                argv);

    /* cmd.exe cannot carry a line break: refused, never stripped */
    const char *line;
    assert_int_equal(berth_cmd_wrap("C:\\Windows\\system32\\cmd.exe", argv,
                                    &line, NULL, test_pool),
                     APR_EINVAL);
    apr_array_header_t *flat = apr_array_make(test_pool, n,
                                              sizeof(const char *));
    for (int i = 0; i < argv->nelts; i++)
        if (!strchr(APR_ARRAY_IDX(argv, i, const char *), '\n'))
            APR_ARRAY_PUSH(flat, const char *) =
                APR_ARRAY_IDX(argv, i, const char *);
    const char *inner;
    assert_int_equal(berth_cmd_wrap("C:\\Windows\\system32\\cmd.exe", flat,
                                    &line, &inner, test_pool),
                     APR_SUCCESS);
    assert_non_null(strstr(line, "C:\\Windows\\system32\\cmd.exe /d /s /c \""));
    const char *after = strstr(line, " /c ") + 4;
    assert_same(berth_parse_msvcrt(berth_parse_cmd(after, test_pool),
                                   test_pool),
                flat);
    /* a ComSpec with a space is quoted */
    assert_int_equal(berth_cmd_wrap("C:\\My Windows\\cmd.exe", flat, &line,
                                    NULL, test_pool),
                     APR_SUCCESS);
    assert_int_equal(strncmp(line, "\"C:\\My Windows\\cmd.exe\" /d /s /c \"",
                             34), 0);
}

/* Shells by their exact basename (docs/spawn.md, "Quoting"): a name that
 * merely contains "sh" is no POSIX shell. */
static void test_shell_family(void **state)
{
    (void)state;
    struct { const char *path; berth_shell_family_t fam; int known; } rows[] = {
        { "/bin/bash", BERTH_SHELL_POSIX, 1 },
        { "/usr/bin/zsh", BERTH_SHELL_POSIX, 1 },
        { "/bin/dash", BERTH_SHELL_POSIX, 1 },
        { "/bin/ksh", BERTH_SHELL_POSIX, 1 },
        { "/bin/mksh", BERTH_SHELL_POSIX, 1 },
        { "/bin/sh", BERTH_SHELL_POSIX, 1 },
        { "/opt/homebrew/bin/fish", BERTH_SHELL_FISH, 1 },
        { "/bin/csh", BERTH_SHELL_CSH, 1 },
        { "/usr/bin/tcsh", BERTH_SHELL_CSH, 1 },
        { "/bin/bsd-csh", BERTH_SHELL_CSH, 1 },
        { "/usr/bin/pwsh", BERTH_SHELL_PWSH, 1 },
        { "/opt/microsoft/powershell/7/pwsh", BERTH_SHELL_PWSH, 1 },
        { "C:\\Program Files\\PowerShell\\7\\pwsh.exe", BERTH_SHELL_PWSH, 1 },
        { "C:\\Windows\\System32\\cmd.exe", BERTH_SHELL_CMD, 1 },
        { "C:\\Windows\\System32\\CMD.EXE", BERTH_SHELL_CMD, 1 },
        { "C:\\Program Files\\Git\\bin\\bash.exe", BERTH_SHELL_POSIX, 1 },
        { "C:\\Program Files\\Git\\bin\\Bash.EXE", BERTH_SHELL_POSIX, 1 },
        { "C:\\msys64\\usr\\bin\\sh.exe", BERTH_SHELL_POSIX, 1 },
        /* unknown: /bin/sh runs the line */
        { "C:\\msys64\\usr\\bin\\msys-sh.exe", BERTH_SHELL_POSIX, 0 },
        { "/usr/bin/nu", BERTH_SHELL_POSIX, 0 },
        { "/usr/bin/xonsh", BERTH_SHELL_POSIX, 0 },
        { "/usr/bin/elvish", BERTH_SHELL_POSIX, 0 },
        { "/usr/local/bin/ssh", BERTH_SHELL_POSIX, 0 },
        { "/bin/Bash", BERTH_SHELL_POSIX, 0 },
        { "/bin/bash5", BERTH_SHELL_POSIX, 0 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int known;
        berth_shell_family_t fam = berth_shell_family(rows[i].path, &known);
        if (fam != rows[i].fam || known != rows[i].known)
            fail_msg("%s: family %d known %d", rows[i].path, fam, known);
    }
    /* how each family is asked to run a line */
    assert_string_equal(berth_shell_flags(BERTH_SHELL_POSIX)[0], "-l");
    assert_string_equal(berth_shell_flags(BERTH_SHELL_PWSH)[0], "-l");
    assert_string_equal(berth_shell_flags(BERTH_SHELL_PWSH)[1], "-c");
    assert_string_equal(berth_shell_flags(BERTH_SHELL_CSH)[0], "-c");
    assert_null(berth_shell_flags(BERTH_SHELL_CSH)[1]);
}

/* csh and PowerShell quoting, row by row, by their documented rules. */
static void test_csh_and_pwsh_quoting(void **state)
{
    (void)state;
    struct { const char *in, *csh, *pwsh; } rows[] = {
        { "plain", "plain", "'plain'" },
        { "", "''", "''" },
        { "with space", "'with space'", "'with space'" },
        { "it's", "'it'\\''s'", "'it''s'" },
        { "!x", "'\\!x'", "'!x'" },
        { "a\\!b", "'a\\\\!b'", "'a\\!b'" },
        { "l1\nl2", "'l1\\\nl2'", "'l1\nl2'" },
        { "$HOME `id`", "'$HOME `id`'", "'$HOME `id`'" },
        /* PowerShell reads U+2018 to U+201B as single quotes too */
        { "a\xe2\x80\x98" "b\xe2\x80\x99" "c",
          "'a\xe2\x80\x98" "b\xe2\x80\x99" "c'",
          "'a\xe2\x80\x98\xe2\x80\x98" "b\xe2\x80\x99\xe2\x80\x99" "c'" },
        { "\xe2\x80\x9a\xe2\x80\x9b", "'\xe2\x80\x9a\xe2\x80\x9b'",
          "'\xe2\x80\x9a\xe2\x80\x9a\xe2\x80\x9b\xe2\x80\x9b'" },
        /* not a quote: U+201C */
        { "\xe2\x80\x9c", "'\xe2\x80\x9c'", "'\xe2\x80\x9c'" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *c = berth_quote_csh(rows[i].in, test_pool);
        const char *p = berth_quote_pwsh(rows[i].in, test_pool);
        if (strcmp(c, rows[i].csh) != 0)
            fail_msg("csh row %zu: [%s] want [%s]", i, c, rows[i].csh);
        if (strcmp(p, rows[i].pwsh) != 0)
            fail_msg("pwsh row %zu: [%s] want [%s]", i, p, rows[i].pwsh);
    }
    /* a PowerShell line calls the program with & */
    apr_array_header_t *a = argv_of((const char *const[]){ "/usr/bin/docker",
                                                           "run", NULL });
    assert_string_equal(berth_join_shell(a, BERTH_SHELL_PWSH, test_pool),
                        "& '/usr/bin/docker' 'run'");
    /* the parser takes only what berth writes */
    apr_array_header_t *back;
    assert_int_equal(berth_parse_pwsh("& 'a''b' 'c'", &back, test_pool),
                     APR_SUCCESS);
    assert_same(back, argv_of((const char *const[]){ "a'b", "c", NULL }));
    assert_int_equal(berth_parse_pwsh("& 'a' $x", &back, test_pool),
                     APR_EINVAL);
    assert_int_equal(berth_parse_pwsh("& 'open", &back, test_pool),
                     APR_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_posix_quoting),
        cmocka_unit_test(test_msvcrt_quoting),
        cmocka_unit_test(test_msvcrt_parser_known_lines),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_shell_family),
        cmocka_unit_test(test_csh_and_pwsh_quoting),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
