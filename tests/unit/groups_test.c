/* The process-group records and the rule a later berth judges them by
 * (docs/supervision.md, "berth killed outright"), on fake facts: a record
 * round-trips; every row of the rule, a reused id above all, gives its
 * verdict. The real processes are in tests/integration/orphan_groups_test.sh. */
#include <string.h>

#include "test_util.h"

#include <apr_strings.h>

#include "groups.h"
#include "process.h"

static const berth_group_record_t k_rec = { 4242, 1700000000, 900, "box",
                                            "my server" };

static void test_record_round_trip(void **state)
{
    (void)state;
    const char *text = berth_group_format(&k_rec, test_pool);
    assert_string_equal(text, "4242 1700000000 900 box my server\n");
    berth_group_record_t r;
    assert_true(berth_group_parse(text, &r, test_pool));
    assert_int_equal(r.group, 4242);
    assert_true(r.started == 1700000000);
    assert_int_equal(r.session, 900);
    assert_string_equal(r.host, "box");
    assert_string_equal(r.server, "my server");
    /* an unknown session stays unknown */
    berth_group_record_t u = k_rec;
    u.session = -1;
    assert_true(berth_group_parse(berth_group_format(&u, test_pool), &r,
                                  test_pool));
    assert_int_equal(r.session, -1);
}

/* Not a record: nothing is ever killed for it (group 1 or 0 would be init,
 * or everyone). */
static void test_parse_rejects(void **state)
{
    (void)state;
    berth_group_record_t r;
    const char *bad[] = { "", "\n", "4242", "4242 1700000000 900 box",
                          "4242 1700000000 900 box ", "x 1 2 h s",
                          "4242 1x 900 h s", "4242 1 9x h s", "1 1 2 h s",
                          "0 1 2 h s", "-5 1 2 h s", "4242  1 2 h s" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (berth_group_parse(bad[i], &r, test_pool))
            fail_msg("[%s] parsed as a record", bad[i]);
}

static apr_array_header_t *members(int n, const berth_group_member_t *m)
{
    apr_array_header_t *a = apr_array_make(test_pool, n + 1,
                                           sizeof(berth_group_member_t));
    for (int i = 0; i < n; i++)
        APR_ARRAY_PUSH(a, berth_group_member_t) = m[i];
    return a;
}

typedef struct {
    const char *name;
    const char *host;
    apr_status_t leader;
    apr_int64_t leader_started;
    apr_status_t members_rv;
    int n;
    berth_group_member_t m[3];
    berth_group_verdict_t want;
    const char *why; /* a part of the reason */
} judge_case_t;

#define T 1700000000
static const judge_case_t k_cases[] = {
    /* the leader runs: its start time decides */
    { "leader, same start", "box", APR_SUCCESS, T, 0, 0, { { 0 } },
      BERTH_GROUP_OURS, "leader (pid 4242) still runs" },
    { "leader, 2 s later", "box", APR_SUCCESS, T + 2, 0, 0, { { 0 } },
      BERTH_GROUP_OURS, "still runs" },
    { "leader, 2 s earlier", "box", APR_SUCCESS, T - 2, 0, 0, { { 0 } },
      BERTH_GROUP_OURS, "still runs" },
    { "leader, 3 s later: reused", "box", APR_SUCCESS, T + 3, 0, 0, { { 0 } },
      BERTH_GROUP_REUSED, "another time" },
    { "leader, a day earlier: reused", "box", APR_SUCCESS, T - 86400, 0, 0,
      { { 0 } }, BERTH_GROUP_REUSED, "reused" },
    /* the OS will not say: nothing is done, the record stays */
    { "leader unknown", "box", APR_EACCES, 0, 0, 0, { { 0 } },
      BERTH_GROUP_UNKNOWN, "cannot be checked" },
    { "another host", "other", APR_SUCCESS, T, 0, 0, { { 0 } },
      BERTH_GROUP_UNKNOWN, "host box" },
    /* no leader: the members decide */
    { "no leader, no member", "box", APR_ENOENT, 0, APR_SUCCESS, 0, { { 0 } },
      BERTH_GROUP_ENDED, "nothing of it runs" },
    { "no leader, members cannot be listed", "box", APR_ENOENT, 0,
      APR_ENOTIMPL, 0, { { 0 } }, BERTH_GROUP_UNKNOWN, "cannot be listed" },
    { "no leader, grandchildren", "box", APR_ENOENT, 0, APR_SUCCESS, 2,
      { { 5000, T + 1, 900 }, { 5001, T + 3600, 900 } }, BERTH_GROUP_OURS,
      "2 processes left" },
    { "no leader, one started with it", "box", APR_ENOENT, 0, APR_SUCCESS, 1,
      { { 5000, T - 2, 900 } }, BERTH_GROUP_OURS, "1 process left" },
    { "no leader, a member in another session", "box", APR_ENOENT, 0,
      APR_SUCCESS, 2, { { 5000, T + 1, 900 }, { 5001, T + 5, 901 } },
      BERTH_GROUP_REUSED, "process 5001 is in session 901, not 900" },
    { "no leader, a member older than the leader", "box", APR_ENOENT, 0,
      APR_SUCCESS, 2, { { 5000, T + 1, 900 }, { 5001, T - 3, 900 } },
      BERTH_GROUP_REUSED, "process 5001 started before" },
    { "no leader, a member's start unknown", "box", APR_ENOENT, 0,
      APR_SUCCESS, 1, { { 5000, -1, 900 } }, BERTH_GROUP_UNKNOWN,
      "cannot be read" },
    { "no leader, a member's session unknown", "box", APR_ENOENT, 0,
      APR_SUCCESS, 1, { { 5000, T, -1 } }, BERTH_GROUP_UNKNOWN,
      "cannot be read" },
};

static void test_judge_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) {
        const judge_case_t *c = &k_cases[i];
        berth_group_facts_t f = { c->host, c->leader, c->leader_started,
                                  c->members_rv, members(c->n, c->m) };
        const char *why = NULL;
        berth_group_verdict_t v = berth_group_judge(&k_rec, &f, &why,
                                                    test_pool);
        if (v != c->want || !why || !strstr(why, c->why))
            fail_msg("%s: verdict %d (%s), want %d (... %s ...)", c->name,
                     (int)v, why ? why : "no reason", (int)c->want, c->why);
    }
}

/* A record whose session was not known judges members by their start
 * times alone. */
static void test_unknown_session(void **state)
{
    (void)state;
    berth_group_record_t rec = k_rec;
    rec.session = -1;
    berth_group_member_t m[] = { { 5000, T + 1, 77 } };
    berth_group_facts_t f = { "box", APR_ENOENT, 0, APR_SUCCESS,
                              members(1, m) };
    const char *why;
    assert_int_equal(berth_group_judge(&rec, &f, &why, test_pool),
                     BERTH_GROUP_OURS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_round_trip),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_judge_table),
        cmocka_unit_test(test_unknown_session),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
