#include <string.h>

#include <apr_strings.h>

#include "test_util.h"

#include "log.h"

typedef struct {
    int count;
    char last[512];
    berth_log_level_t level;
} capture_t;

static void sink(void *baton, berth_log_level_t level, const char *line)
{
    capture_t *c = baton;
    c->count++;
    c->level = level;
    apr_cpystrn(c->last, line, sizeof c->last);
}

static void test_parse_level(void **state)
{
    (void)state;
    berth_log_level_t l;
    assert_int_equal(berth_log_parse_level("error", &l), 0);
    assert_int_equal(l, BERTH_LOG_ERROR);
    assert_int_equal(berth_log_parse_level("warning", &l), 0);
    assert_int_equal(l, BERTH_LOG_WARN);
    assert_int_equal(berth_log_parse_level("debug", &l), 0);
    assert_int_equal(l, BERTH_LOG_DEBUG);
    assert_int_equal(berth_log_parse_level("verbose", &l), -1);
    assert_int_equal(berth_log_parse_level("INFO", &l), -1);
    assert_int_equal(berth_log_parse_level(NULL, &l), -1);
}

static void test_format_human_and_journal(void **state)
{
    (void)state;
    char buf[256];
    /* 2026-11-28T09:54:33.007Z */
    long long ms = 1795859673007LL;
    berth_log_format_line(buf, sizeof buf, BERTH_LOG_STYLE_HUMAN,
                          BERTH_LOG_WARN, ms, "server fetch exited");
    assert_string_equal(buf, "2026-11-28T09:54:33.007Z warn  server fetch "
                             "exited");
    berth_log_format_line(buf, sizeof buf, BERTH_LOG_STYLE_JOURNAL,
                          BERTH_LOG_ERROR, ms, "boom");
    assert_string_equal(buf, "<3>error: boom");
    berth_log_format_line(buf, sizeof buf, BERTH_LOG_STYLE_JOURNAL,
                          BERTH_LOG_DEBUG, ms, "x");
    assert_string_equal(buf, "<7>debug: x");
}

static void test_threshold_and_single_line(void **state)
{
    (void)state;
    capture_t c = { 0 };
    berth_log_set_sink(sink, &c);
    berth_log_set_style(BERTH_LOG_STYLE_JOURNAL);
    berth_log_set_level(BERTH_LOG_WARN);
    berth_log(BERTH_LOG_INFO, "hidden %d", 1);
    berth_log(BERTH_LOG_DEBUG, "hidden %d", 2);
    assert_int_equal(c.count, 0);
    berth_log(BERTH_LOG_WARN, "shown %s", "a\nforged line\r");
    assert_int_equal(c.count, 1);
    assert_int_equal(c.level, BERTH_LOG_WARN);
    assert_string_equal(c.last, "<4>warn: shown a forged line ");
    berth_log_set_level(BERTH_LOG_DEBUG);
    berth_log(BERTH_LOG_DEBUG, "now %d", 3);
    assert_int_equal(c.count, 2);
    assert_string_equal(c.last, "<7>debug: now 3");
    berth_log_set_sink(NULL, NULL);
    berth_log_set_style(BERTH_LOG_STYLE_AUTO);
    berth_log_set_level(BERTH_LOG_INFO);
}

/* A repeated line: the first time, then not within a minute, then again. */
static void test_due_once_a_minute(void **state)
{
    (void)state;
    apr_time_t said = 0, t0 = apr_time_from_sec(1000);
    assert_true(berth_log_due(&said, t0));
    assert_false(berth_log_due(&said, t0 + apr_time_from_sec(1)));
    assert_false(berth_log_due(&said, t0 + apr_time_from_sec(60)));
    assert_true(berth_log_due(&said, t0 + apr_time_from_sec(61)));
    assert_false(berth_log_due(&said, t0 + apr_time_from_sec(62)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_level),
        cmocka_unit_test(test_format_human_and_journal),
        cmocka_unit_test(test_threshold_and_single_line),
        cmocka_unit_test(test_due_once_a_minute),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
