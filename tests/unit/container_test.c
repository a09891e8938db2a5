#include <string.h>

#include "test_util.h"
#include "fake_facts.h"

#include <apr_strings.h>

#include "container.h"
#include "platform.h"
#include "spawnctx.h"

/* This process's id names its host, pid and start time; it parses back. */
static void test_instance_self(void **state)
{
    (void)state;
    const char *id = berth_instance_self("abc123", test_pool);
    berth_instance_t in;
    apr_int64_t started;
    assert_true(berth_instance_parse(id, &in, test_pool));
    assert_int_equal(in.pid, berth_platform_pid());
    assert_int_equal(berth_platform_process_started(in.pid, &started),
                     APR_SUCCESS);
    assert_true(in.started - started <= 1 && started - in.started <= 1);
    assert_string_equal(in.token, "abc123");
    assert_true(strlen(in.host) > 0);
    assert_null(strchr(in.host, '/'));
}

static void test_instance_parse_rejects(void **state)
{
    (void)state;
    berth_instance_t in;
    const char *bad[] = { "", "abc123", "h/1/2", "h/0/2/t", "h/x/2/t",
                          "h/1/2x/t", "h/1/2/t/more", "//1/2/t" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (berth_instance_parse(bad[i], &in, test_pool))
            fail_msg("[%s] parsed", bad[i]);
    assert_true(berth_instance_parse("my-host.lan/77/1700000000/ff00", &in,
                                     test_pool));
    assert_string_equal(in.host, "my-host.lan");
    assert_int_equal(in.pid, 77);
    assert_true(in.started == 1700000000);
    assert_string_equal(in.token, "ff00");
}

/* A fake process table: 100 started at 5000, 300 will not say, the rest
 * are gone. */
static apr_status_t fake_started(long pid, apr_int64_t *secs)
{
    if (pid == 100) {
        *secs = 5000;
        return APR_SUCCESS;
    }
    if (pid == 42) {
        *secs = 4000;
        return APR_SUCCESS;
    }
    return pid == 300 ? APR_EACCES : APR_ENOENT;
}

static void test_instance_alive(void **state)
{
    (void)state;
    berth_instance_t self = { "h", 42, 4000, "me" };
    struct {
        const char *id;
        int alive;
        const char *why;
    } cases[] = {
        { "h/42/4000/me", 1, "belongs to this berth" },
        { "h/42/3000/old", 0, "had this process's pid 42 before" },
        { "h/100/5000/x", 1, "(pid 100) is running" },
        { "h/100/5002/x", 1, "(pid 100) is running" },   /* clock rounding */
        { "h/100/4000/x", 0, "started at another time" }, /* pid reused */
        { "h/200/5000/x", 0, "(pid 200) is not running" },
        { "h/300/5000/x", 1, "cannot be checked; kept" },
        { "other/200/5000/x", 1, "host other" },
        { "garbage", 1, "not one berth writes" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *why = NULL;
        int alive = berth_instance_alive(&self, cases[i].id, fake_started,
                                         &why, test_pool);
        if (alive != cases[i].alive || !strstr(why, cases[i].why))
            fail_msg("%s: alive %d (%s), want %d (%s)", cases[i].id, alive,
                     why, cases[i].alive, cases[i].why);
    }
}

/* The sweep lists managed containers through the planned docker (the
 * resolved binary, direct exec here) and removes, in one docker rm -f,
 * exactly those whose berth is gone; a banner line is not a row. */
static void test_sweep_removes_only_dead_owners(void **state)
{
    (void)state;
    const char *env[] = { "PATH=/usr/bin", "DOCKER_HOST=unix:///d.sock",
                          NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
    fake_path(f, "/usr/bin/docker", BERTH_PROBE_EXEC);
    berth_spawnctx_t *ctx = berth_spawnctx_create(f, test_pool);
    berth_instance_t self;
    assert_true(berth_instance_parse(berth_spawnctx_instance(ctx), &self,
                                     test_pool));
    const char *mine = berth_spawnctx_instance(ctx);
    /* a pid no system hands out is as gone as a pid can be */
    const char *dead = apr_psprintf(test_pool, "%s/999999999/1/dead",
                                    self.host);
    const char *elsewhere = "another-host/1/1/x";
    const char *listing = apr_psprintf(
        test_pool,
        "welcome to my shell\n"
        "%s\trunning\tberth-a-1\t%s\ta\n"
        "%s\texited\tberth-b-2\t%s\tb\n"
        "%s\trunning\tberth-c-3\t%s\tc\n"
        "%s\trunning\tberth-d-4\t%s\td\twith a tab\n",
        "aaaaaaaaaaaa1111", mine, "bbbbbbbbbbbb2222", dead,
        "cccccccccccc3333", elsewhere, "dddddddddddd4444", dead);
    fake_answer(f, "--no-trunc", listing);
    fake_answer(f, "bbbbbbbbbbbb", "bbbbbbbbbbbb\ndddddddddddd\n");

    apr_array_header_t *list;
    const char *err = NULL;
    assert_int_equal(berth_container_list(ctx, NULL, NULL, &list, &err,
                                          test_pool), APR_SUCCESS);
    assert_int_equal(list->nelts, 4);
    const berth_container_info_t *c =
        &APR_ARRAY_IDX(list, 3, berth_container_info_t);
    assert_string_equal(c->id, "dddddddddddd");
    assert_string_equal(c->name, "berth-d-4");
    assert_string_equal(c->server, "d\twith a tab");
    assert_false(c->owner_alive);
    assert_true(APR_ARRAY_IDX(list, 0, berth_container_info_t).owner_alive);
    assert_string_equal(APR_ARRAY_IDX(list, 1, berth_container_info_t).state,
                        "exited");

    int removed = -1;
    assert_int_equal(berth_container_sweep(ctx, NULL, NULL, &removed, &err,
                                           test_pool), APR_SUCCESS);
    assert_int_equal(removed, 2);
    assert_string_equal(fk_of(f)->last_argv,
                        "/usr/bin/docker rm -f bbbbbbbbbbbb dddddddddddd");

    /* one server's sweep filters by its label */
    fake_answer(f, "--no-trunc", "");
    assert_int_equal(berth_container_sweep(ctx, NULL, "my srv", &removed,
                                           &err, test_pool), APR_SUCCESS);
    assert_int_equal(removed, 0);
    assert_non_null(strstr(fk_of(f)->last_argv,
                           " --filter label=io.berth.server=my srv "));
    assert_non_null(strstr(fk_of(f)->last_argv,
                           " --filter label=io.berth.managed=true "));

    /* docker that fails: an error, nothing removed */
    fake_answer(f, "--no-trunc", NULL);
    assert_int_not_equal(berth_container_sweep(ctx, NULL, NULL, &removed,
                                               &err, test_pool), APR_SUCCESS);
    assert_non_null(strstr(err, "docker ps failed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instance_self),
        cmocka_unit_test(test_instance_parse_rejects),
        cmocka_unit_test(test_instance_alive),
        cmocka_unit_test(test_sweep_removes_only_dead_owners),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
