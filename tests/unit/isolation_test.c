#include <string.h>

#include <apr_strings.h>

#include "test_util.h"

#include "config.h"
#include "daemon.h"
#include "isolation.h"

/* The precedence of docs/config.md, one row per rule. */
static void test_precedence(void **state)
{
    (void)state;
    struct {
        const char *global;  /* docker_isolation body */
        const char *server;  /* server entry body */
        berth_isolation_mode_t want;
        const char *why;
    } rows[] = {
        { "", "\"command\": \"uvx\"", BERTH_ISOLATION_NONE,
          "docker_isolation is off" },
        { "\"mode\": \"docker\"", "\"command\": \"uvx\"",
          BERTH_ISOLATION_DOCKER, "docker_isolation is on" },
        { "\"enabled\": true", "\"command\": \"uvx\"", BERTH_ISOLATION_DOCKER,
          "docker_isolation is on" },
        { "\"mode\": \"none\"", "\"command\": \"uvx\", \"isolation\": "
          "{\"mode\": \"docker\"}", BERTH_ISOLATION_DOCKER,
          "set by the server's isolation.mode" },
        { "\"mode\": \"docker\"", "\"command\": \"uvx\", \"isolation\": "
          "{\"mode\": \"none\"}", BERTH_ISOLATION_NONE,
          "set by the server's isolation.mode" },
        { "\"mode\": \"none\"", "\"command\": \"uvx\", \"isolation\": "
          "{\"enabled\": true}", BERTH_ISOLATION_NONE,
          "the server's isolation.enabled is ignored because "
          "docker_isolation is off" },
        { "\"mode\": \"docker\"", "\"command\": \"uvx\", \"isolation\": "
          "{\"enabled\": false}", BERTH_ISOLATION_NONE,
          "the server opts out with isolation.enabled: false" },
        { "\"mode\": \"docker\"", "\"command\": \"/usr/bin/docker\", "
          "\"args\": [\"run\", \"-i\", \"img\"]", BERTH_ISOLATION_NONE,
          "the command is docker itself, never isolated again" },
        { "\"mode\": \"docker\"", "\"command\": \"C:\\\\Docker\\\\DOCKER.EXE\"",
          BERTH_ISOLATION_NONE,
          "the command is docker itself, never isolated again" },
        { "\"mode\": \"docker\"", "\"url\": \"https://h/mcp\"",
          BERTH_ISOLATION_NONE, "remote servers are never isolated" },
        /* mode beats the legacy boolean when both are given */
        { "\"mode\": \"none\", \"enabled\": true", "\"command\": \"uvx\"",
          BERTH_ISOLATION_NONE, "docker_isolation is off" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *text = apr_psprintf(
            test_pool, "{\"docker_isolation\": {%s}, \"mcpServers\": "
            "{\"s\": {%s}}}", rows[i].global, rows[i].server);
        berth_config_t *cfg;
        apr_array_header_t *diags = apr_array_make(test_pool, 1,
                                                   sizeof(berth_diag_t));
        if (berth_config_parse("t.json", text, strlen(text), &cfg, diags,
                               test_pool) != APR_SUCCESS)
            fail_msg("row %zu: config rejected", i);
        const char *why;
        berth_isolation_mode_t got = berth_isolation_effective(
            cfg, berth_config_find_server(cfg, "s"), &why);
        if (got != rows[i].want || strcmp(why, rows[i].why) != 0)
            fail_msg("row %zu: got %s (%s)", i,
                     berth_isolation_mode_name(got), why);
    }
}

static const berth_config_t *parse(const char *text)
{
    berth_config_t *cfg;
    apr_array_header_t *diags = apr_array_make(test_pool, 1,
                                               sizeof(berth_diag_t));
    if (berth_config_parse("t.json", text, strlen(text), &cfg, diags,
                           test_pool) != APR_SUCCESS)
        fail_msg("config rejected: %s", text);
    return cfg;
}

/* A reload restarts a server whose hardening changed, globally or in its
 * own isolation, and keeps one whose settings only moved to the same
 * value. */
static void test_hardening_changes_restart_the_server(void **state)
{
    (void)state;
    const char *fmt = "{\"docker_isolation\": {\"mode\": \"docker\"%s}, "
                      "\"mcpServers\": {\"s\": {\"command\": \"uvx\", "
                      "\"isolation\": {%s}}}}";
    const char *base = apr_psprintf(test_pool, fmt, "", "");
    const berth_config_t *b = parse(base);
    const char *was = berth_daemon_signature(
        b, berth_config_find_server(b, "s"), test_pool);
    struct {
        const char *global, *server;
        int changed;
    } rows[] = {
        { ", \"no_new_privileges\": false", "", 1 },
        { "", "\"cap_drop_all\": false", 1 },
        { ", \"init\": false", "", 1 },
        { "", "\"pids_limit\": 64", 1 },
        { "", "\"pids_limit\": 1024, \"init\": true", 0 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const berth_config_t *c = parse(apr_psprintf(
            test_pool, fmt, rows[i].global, rows[i].server));
        const char *now = berth_daemon_signature(
            c, berth_config_find_server(c, "s"), test_pool);
        if ((strcmp(was, now) != 0) != rows[i].changed)
            fail_msg("row %zu: signature %s", i,
                     rows[i].changed ? "unchanged" : "changed");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_hardening_changes_restart_the_server),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
