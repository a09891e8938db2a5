#include <string.h>

#include <apr_strings.h>

#include "test_util.h"

#include "log.h"
#include "redact.h"
#include "shellquote.h"

static const char *red(const char *s)
{
    return berth_redact_text(s, NULL, test_pool);
}

/* Every argument form, alone and inside wrapped command lines. */
static void test_forms(void **state)
{
    (void)state;
    struct { const char *in, *out; } rows[] = {
        { "docker run -e TOKEN=abc img", "docker run -e TOKEN=*** img" },
        { "docker run --env TOKEN=abc img", "docker run --env TOKEN=*** img" },
        { "docker run -eTOKEN=abc img", "docker run -eTOKEN=*** img" },
        { "docker run --env=TOKEN=abc img", "docker run --env=TOKEN=*** img" },
        { "-e A=1 -e B=2", "-e A=*** -e B=***" },
        /* POSIX-quoted (a wrapped command line) */
        { "sh -l -c 'docker run -e TOKEN=abc img'",
          "sh -l -c 'docker run -e TOKEN=*** img'" },
        { "docker run -e 'TOKEN=a b c' img", "docker run -e 'TOKEN=***' img" },
        { "docker run '-e' 'TOKEN=a b' img", "docker run '-e' 'TOKEN=***' img" },
        { "docker run -e 'TOKEN=it'\"'\"'s secret' img",
          "docker run -e 'TOKEN=***' img" },
        { "docker run '--env=TOKEN=a b' img", "docker run '--env=TOKEN=***' img" },
        { "docker run '-eTOKEN=a b' img", "docker run '-eTOKEN=***' img" },
        /* fish */
        { "docker run -e 'TOKEN=it\\'s' img", "docker run -e 'TOKEN=***' img" },
        /* Windows, direct and through cmd.exe */
        { "docker.exe run -e \"TOKEN=a b\" img",
          "docker.exe run -e \"TOKEN=***\" img" },
        { "docker.exe run -e \"TOKEN=a\\\"b c\" img",
          "docker.exe run -e \"TOKEN=***\" img" },
        { "cmd /d /s /c \"docker run -e ^\"TOKEN=a b^\" img\"",
          "cmd /d /s /c \"docker run -e ^\"TOKEN=***\" img\"" },
        { "cmd /c \"docker run -e ^\"TOKEN=a\\^\"b c^\" img\"",
          "cmd /c \"docker run -e ^\"TOKEN=***\" img\"" },
        { "docker.exe run \"--env=TOKEN=a b\" img",
          "docker.exe run \"--env=TOKEN=***\" img" },
        /* URL credentials */
        { "postgresql://ada:pgSecret@db/app", "postgresql://***@db/app" },
        { "connect https://tok@h.example/x now", "connect https://***@h.example/x now" },
        /* left alone */
        { "docker run --entrypoint=sh -it img", "docker run --entrypoint=sh -it img" },
        { "grep -e pattern file", "grep -e pattern file" },
        { "some-e X=1", "some-e X=1" },
        { "plain text", "plain text" },
        { "", "" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *got = red(rows[i].in);
        if (strcmp(got, rows[i].out) != 0)
            fail_msg("row %zu: [%s] -> [%s], want [%s]", i, rows[i].in, got,
                     rows[i].out);
    }
}

/* The value is gone whatever quoting berth's own wrap produced. */
static void test_wrapped_lines_from_quoters(void **state)
{
    (void)state;
    const char *secrets[] = { "s3cr3t", "s3 cr3t", "s3'cr\"3t", "s3\\cr3t\\",
                              "s3$cr3t`x`", "s3%cr3t^&", "s3!cr3t'!'",
                              "s3\ncr3t\n", "s3\xe2\x80\x99" "cr3t''", NULL };
    for (int s = 0; secrets[s]; s++) {
        apr_array_header_t *argv = apr_array_make(test_pool, 8,
                                                  sizeof(const char *));
        APR_ARRAY_PUSH(argv, const char *) = "/usr/bin/docker";
        APR_ARRAY_PUSH(argv, const char *) = "run";
        APR_ARRAY_PUSH(argv, const char *) = "-e";
        APR_ARRAY_PUSH(argv, const char *) =
            apr_pstrcat(test_pool, "TOKEN=", secrets[s], NULL);
        APR_ARRAY_PUSH(argv, const char *) =
            apr_pstrcat(test_pool, "--env=OTHER=", secrets[s], NULL);
        APR_ARRAY_PUSH(argv, const char *) = "img";
        const char *line = "";
        /* cmd.exe refuses line breaks */
        berth_cmd_wrap("cmd.exe", argv, &line, NULL, test_pool);
        const char *lines[] = {
            berth_join_shell(argv, BERTH_SHELL_POSIX, test_pool),
            berth_join_shell(argv, BERTH_SHELL_FISH, test_pool),
            berth_join_shell(argv, BERTH_SHELL_CSH, test_pool),
            berth_join_shell(argv, BERTH_SHELL_PWSH, test_pool),
            berth_join_windows(argv, test_pool), line, NULL
        };
        for (int l = 0; lines[l]; l++) {
            if (!*lines[l])
                continue; /* the cmd.exe line of a refused line break */
            const char *got = red(lines[l]);
            /* the distinctive middle of each secret */
            if (strstr(got, "cr3t") || strstr(got, "cr\"3t"))
                fail_msg("secret %d leaks from [%s]: [%s]", s, lines[l], got);
            if (!strstr(got, "TOKEN=") || !strstr(got, "OTHER="))
                fail_msg("key lost in [%s]", got);
        }
    }
}

static void test_argv_and_literals(void **state)
{
    (void)state;
    const char *list[] = { "run", "-e", "TOKEN=a b", "--env", "K=v", "-e",
                           "NAME_ONLY", "-eX=1", "img", "--flag=cfg-value-9",
                           NULL };
    apr_array_header_t *argv = apr_array_make(test_pool, 8,
                                              sizeof(const char *));
    for (int i = 0; list[i]; i++)
        APR_ARRAY_PUSH(argv, const char *) = list[i];
    apr_array_header_t *secrets = apr_array_make(test_pool, 2,
                                                 sizeof(const char *));
    APR_ARRAY_PUSH(secrets, const char *) = "cfg-value-9";
    APR_ARRAY_PUSH(secrets, const char *) = "ab"; /* short: stands alone */
    apr_array_header_t *r = berth_redact_argv(argv, secrets, test_pool);
    const char *want[] = { "run", "-e", "TOKEN=***", "--env", "K=***", "-e",
                           "NAME_ONLY", "-eX=***", "img", "--flag=***", NULL };
    for (int i = 0; want[i]; i++)
        assert_string_equal(APR_ARRAY_IDX(r, i, const char *), want[i]);
    /* the input is untouched */
    assert_string_equal(APR_ARRAY_IDX(argv, 2, const char *), "TOKEN=a b");
    assert_string_equal(berth_redact_text("x ab cfg-value-9 cfg-value-9 y",
                                          secrets, test_pool),
                        "x *** *** *** y");
}

/* A secret is masked at any length (docs/config.md, "Secrets"): one of 8
 * characters or more wherever it appears, a shorter one where no letter
 * or digit joins it. */
static void test_short_and_long_secrets(void **state)
{
    (void)state;
    apr_array_header_t *secrets = apr_array_make(test_pool, 4,
                                                 sizeof(const char *));
    APR_ARRAY_PUSH(secrets, const char *) = "abc";
    APR_ARRAY_PUSH(secrets, const char *) = "Zq9-long-secret";
    APR_ARRAY_PUSH(secrets, const char *) = "-x1";
    APR_ARRAY_PUSH(secrets, const char *) = "";
    struct { const char *in, *out; } rows[] = {
        { "fatal: abc config", "fatal: *** config" },
        { "abc", "***" },
        { "(abc)", "(***)" },
        { "key=abc;next", "key=***;next" },
        { "/opt/abc/bin", "/opt/***/bin" },
        { "abc_x", "***_x" },
        { "abcdef xabc xabcx abc9 Ã©" "abc", "abcdef xabc xabcx abc9 "
          "Ã©" "abc" },
        { "abcabc abc", "abcabc ***" },
        { "/opt/Zq9-long-secret/bin", "/opt/***/bin" },
        { "xZq9-long-secretx", "x***x" },
        { "run-x1 a-x1b", "run*** a-x1b" },
        { "no secret here", "no secret here" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *got = berth_redact_text(rows[i].in, secrets, test_pool);
        if (strcmp(got, rows[i].out) != 0)
            fail_msg("row %zu: [%s] -> [%s], want [%s]", i, rows[i].in, got,
                     rows[i].out);
    }
}

static char captured[1024];

static void sink(void *baton, berth_log_level_t level, const char *line)
{
    (void)baton;
    (void)level;
    apr_cpystrn(captured, line, sizeof captured);
}

static void test_log_lines(void **state)
{
    (void)state;
    apr_array_header_t *secrets = apr_array_make(test_pool, 1,
                                                 sizeof(const char *));
    APR_ARRAY_PUSH(secrets, const char *) = "configured-secret";
    berth_redact_set_log_secrets(secrets);
    berth_log_set_sink(sink, NULL);
    berth_log_set_style(BERTH_LOG_STYLE_JOURNAL);
    berth_log(BERTH_LOG_WARN, "spawn failed: %s", "/bin/sh -l -c 'docker run "
              "-e API_KEY=abc123 img' saw configured-secret");
    assert_string_equal(captured, "<4>warn: spawn failed: /bin/sh -l -c "
                                  "'docker run -e API_KEY=*** img' saw ***");
    berth_log_set_sink(NULL, NULL);
    berth_log_set_style(BERTH_LOG_STYLE_AUTO);
    berth_redact_set_log_secrets(NULL);
}

int main(void)
{
    assert_int_equal(berth_redact_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_wrapped_lines_from_quoters),
        cmocka_unit_test(test_argv_and_literals),
        cmocka_unit_test(test_short_and_long_secrets),
        cmocka_unit_test(test_log_lines),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
