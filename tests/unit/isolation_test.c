#include <string.h>

#include <apr_strings.h>

#include "test_util.h"

#include "config.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
