#include <string.h>

#include "test_util.h"
#include "fake_facts.h"

#include "spawnctx.h"

/* docker info is asked through the same plan as a spawn and cached: a
 * success for 15 minutes, a failure for 5 (on the facts' clock). */
static void test_docker_info_cache(void **state)
{
    (void)state;
    const char *env[] = { "PATH=/usr/local/bin:/usr/bin",
                          "DOCKER_HOST=unix:///run/docker.sock", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
    fake_path(f, "/usr/bin/docker", BERTH_PROBE_EXEC);
    /* direct exec: argv = [docker, info, --format, {{.ServerVersion}}] */
    fake_answer(f, "{{.ServerVersion}}", "27.0.1\n");
    berth_spawnctx_t *ctx = berth_spawnctx_create(f, test_pool);

    berth_docker_info_t a = berth_spawnctx_docker_info(ctx, NULL);
    assert_true(a.available);
    assert_string_equal(a.server_version, "27.0.1");
    assert_false(a.cached);
    int asked = fk_of(f)->captures;
    fk_of(f)->clock += 14 * 60 * APR_USEC_PER_SEC;
    berth_docker_info_t b = berth_spawnctx_docker_info(ctx, NULL);
    assert_true(b.cached);
    assert_int_equal(fk_of(f)->captures, asked);
    /* after 15 minutes it asks again, and now the daemon is gone */
    fake_answer(f, "{{.ServerVersion}}", NULL);
    fk_of(f)->clock += 2 * 60 * APR_USEC_PER_SEC;
    berth_docker_info_t c = berth_spawnctx_docker_info(ctx, NULL);
    assert_false(c.cached);
    assert_false(c.available);
    assert_non_null(strstr(c.error, "daemon is not reachable"));
    assert_int_equal(fk_of(f)->captures, asked + 1);
    /* a failure is kept 5 minutes */
    fake_answer(f, "{{.ServerVersion}}", "28.0.0\n");
    fk_of(f)->clock += 4 * 60 * APR_USEC_PER_SEC;
    assert_false(berth_spawnctx_docker_info(ctx, NULL).available);
    fk_of(f)->clock += 2 * 60 * APR_USEC_PER_SEC;
    berth_docker_info_t d = berth_spawnctx_docker_info(ctx, NULL);
    assert_true(d.available);
    assert_string_equal(d.server_version, "28.0.0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docker_info_cache),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
