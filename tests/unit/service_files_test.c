/* The files berth service installs, as the templates make them
 * (service/service_files.c): the placeholders, the escapes, the units and
 * the plist, and the starter config. */
#include <string.h>

#include <apr_strings.h>

#include "test_util.h"

#include "backend.h"
#include "config.h"
#include "service_files.h"

#ifndef _WIN32
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* A unit or plist is written rw-r--r--: the user manager (systemd --user,
 * launchd) reads it as its owner, and 0644 given to APR as if it were an
 * octal mode made it --x-w-r--, which its owner cannot read. */
static void test_written_file_mode(void **state)
{
    (void)state;
    char dir[] = "/tmp/berth-svc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *path = apr_pstrcat(test_pool, dir, "/sub/berth.service", NULL);
    berth_svc_t svc;
    memset(&svc, 0, sizeof svc);
    svc.out = fopen("/dev/null", "w");
    svc.err = stderr;
    assert_int_equal(berth_svc_write_file(&svc, path, "[Unit]\n",
                                          BERTH_SVC_FILE_PERMS, test_pool),
                     APR_SUCCESS);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    fclose(svc.out);
    unlink(path);
    rmdir(apr_pstrcat(test_pool, dir, "/sub", NULL));
    rmdir(dir);
}
#endif

static void test_fill(void **state)
{
    (void)state;
    const char *missing = "x";
    const char *pairs[] = { "A", "1", "B_2", "two", NULL };
    assert_string_equal(berth_svc_fill("@A@-@B_2@-@A@", pairs, &missing,
                                       test_pool),
                        "1-two-1");
    assert_null(missing);
    /* an "@" that opens no key is text: mail addresses, "a@b" */
    assert_string_equal(berth_svc_fill("me@host, @ @, a@b@A@", pairs,
                                       &missing, test_pool),
                        "me@host, @ @, a@b1");
    assert_null(berth_svc_fill("x @C@ y", pairs, &missing, test_pool));
    assert_string_equal(missing, "C");
}

static void test_systemd_word(void **state)
{
    (void)state;
    struct { const char *in, *out; } rows[] = {
        { "/usr/bin/berth", "\"/usr/bin/berth\"" },
        { "/opt/my tools/berth", "\"/opt/my tools/berth\"" },
        { "/a\"b\\c", "\"/a\\\"b\\\\c\"" },
        /* specifiers and variables are the unit's: doubled, said as is */
        { "/x/100%/$HOME", "\"/x/100%%/$$HOME\"" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_string_equal(berth_svc_systemd_word(rows[i].in, test_pool),
                            rows[i].out);
    assert_null(berth_svc_systemd_word("/a\nb", test_pool));
}

static void test_xml_text(void **state)
{
    (void)state;
    assert_string_equal(berth_svc_xml_text("a & b <c> d", test_pool),
                        "a &amp; b &lt;c&gt; d");
    assert_string_equal(berth_svc_xml_text("", test_pool), "");
    assert_null(berth_svc_xml_text("tab\there", test_pool));
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("\"%s\" not in:\n%s", needle, hay);
}

static void test_system_unit(void **state)
{
    (void)state;
    const char *why = NULL;
    const char *u = berth_svc_systemd_unit(BERTH_SVC_SCOPE_SYSTEM,
                                           "/usr/local/bin/berth",
                                           "/etc/berth/config.json", "docker",
                                           &why, test_pool);
    assert_non_null(u);
    assert_contains(u, "\nExecStart=\"/usr/local/bin/berth\" serve --config "
                       "\"/etc/berth/config.json\"\n");
    assert_contains(u, "\nType=notify\n");
    assert_contains(u, "\nRestart=on-failure\n");
    assert_contains(u, "\nUser=berth\n");
    assert_contains(u, "\nSupplementaryGroups=docker\n");
    assert_contains(u, "\nStateDirectory=berth\n");
    assert_contains(u, "\nConfigurationDirectory=berth\n");
    assert_contains(u, "\nEnvironmentFile=-/etc/berth/environment\n");
    assert_contains(u, "\nEnvironment=BERTH_STATE_DIR=%S/berth\n");
    assert_contains(u, "\nKillMode=mixed\n");
    assert_contains(u, "\nWantedBy=multi-user.target\n");
    assert_null(strstr(u, "MemoryDenyWriteExecute=yes"));
    u = berth_svc_systemd_unit(BERTH_SVC_SCOPE_SYSTEM, "/b", "/c", NULL, &why,
                               test_pool);
    assert_null(strstr(u, "SupplementaryGroups"));
}

static void test_user_unit(void **state)
{
    (void)state;
    const char *why = NULL;
    const char *u = berth_svc_systemd_unit(
        BERTH_SVC_SCOPE_USER, "/home/a b/bin/berth",
        "/home/a b/.config/berth/config.json", "docker", &why, test_pool);
    assert_non_null(u);
    assert_contains(u, "\nExecStart=\"/home/a b/bin/berth\" serve --config "
                       "\"/home/a b/.config/berth/config.json\"\n");
    assert_contains(u, "\nType=notify\n");
    assert_contains(u, "\nEnvironmentFile=-%E/berth/environment\n");
    assert_contains(u, "\nWantedBy=default.target\n");
    /* a user unit has no account, group nor system folders */
    assert_null(strstr(u, "User="));
    assert_null(strstr(u, "SupplementaryGroups"));
    assert_null(strstr(u, "StateDirectory"));
    assert_null(berth_svc_systemd_unit(BERTH_SVC_SCOPE_USER, "/b\n", "/c",
                                       NULL, &why, test_pool));
    assert_string_equal(why, "the program path holds a control character");
}

static void test_plist(void **state)
{
    (void)state;
    const char *why = NULL;
    const char *p = berth_svc_launchd_plist(
        "io.berth", "/Users/a&b/bin/berth",
        "/Users/a&b/Library/Application Support/berth/config.json",
        "/Users/a&b/Library/Logs/berth", &why, test_pool);
    assert_non_null(p);
    assert_contains(p, "<string>io.berth</string>");
    assert_contains(p, "<string>/Users/a&amp;b/bin/berth</string>\n"
                       "    <string>serve</string>\n"
                       "    <string>--config</string>\n"
                       "    <string>/Users/a&amp;b/Library/Application "
                       "Support/berth/config.json</string>");
    assert_contains(p, "<string>/Users/a&amp;b/Library/Logs/berth/berth.log"
                       "</string>");
    assert_null(strstr(p, "@BERTH"));
}

/* The starter config is valid, serves nothing yet, and listens where a
 * berth without a config would. */
static void test_starter_config(void **state)
{
    (void)state;
    berth_config_t *cfg = NULL;
    apr_array_header_t *diags = apr_array_make(test_pool, 2,
                                               sizeof(berth_diag_t));
    const char *text = berth_svc_starter_config();
    assert_int_equal(berth_config_parse("starter.json", text, strlen(text),
                                        &cfg, diags, test_pool),
                     APR_SUCCESS);
    assert_int_equal(diags->nelts, 0);
    assert_int_equal(cfg->servers->nelts, 0);
    const char *host;
    unsigned port;
    berth_config_parse_listen(berth_config_default_text("listen"), &host,
                              &port, NULL, test_pool);
    assert_string_equal(cfg->listen_host, host);
    assert_int_equal(cfg->listen_port, port);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill),
        cmocka_unit_test(test_systemd_word),
        cmocka_unit_test(test_xml_text),
        cmocka_unit_test(test_system_unit),
        cmocka_unit_test(test_user_unit),
        cmocka_unit_test(test_plist),
        cmocka_unit_test(test_starter_config),
#ifndef _WIN32
        cmocka_unit_test(test_written_file_mode),
#endif
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
