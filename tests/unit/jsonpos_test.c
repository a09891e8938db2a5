#include <string.h>

#include "test_util.h"

#include "jsonpos.h"

static berth_jsonpos_t *index_of(const char *text)
{
    return berth_jsonpos_index(text, strlen(text), test_pool);
}

static void assert_pos(const berth_jsonpos_t *idx, const char *path, int key,
                       unsigned line, unsigned col)
{
    berth_textpos_t p;
    int found = key ? berth_jsonpos_key(idx, path, &p)
                    : berth_jsonpos_value(idx, path, &p);
    if (!found)
        fail_msg("path %s not indexed", path);
    if (p.line != line || p.column != col)
        fail_msg("%s %s at %u:%u, expected %u:%u", path, key ? "key" : "value",
                 p.line, p.column, line, col);
}

static void test_positions_nested(void **state)
{
    (void)state;
    const char *text = "{\n"
                       "  \"mcpServers\": {\n"
                       "    \"fetch\": { \"command\": \"uvx\",\n"
                       "      \"args\": [\"a\", 2, {\"k\": null}] }\n"
                       "  }\n"
                       "}\n";
    berth_jsonpos_t *idx = index_of(text);
    assert_pos(idx, "", 0, 1, 1);
    assert_pos(idx, "mcpServers", 1, 2, 3);
    assert_pos(idx, "mcpServers", 0, 2, 17);
    assert_pos(idx, "mcpServers.fetch", 1, 3, 5);
    assert_pos(idx, "mcpServers.fetch.command", 0, 3, 27);
    assert_pos(idx, "mcpServers.fetch.args", 1, 4, 7);
    assert_pos(idx, "mcpServers.fetch.args[0]", 0, 4, 16);
    assert_pos(idx, "mcpServers.fetch.args[1]", 0, 4, 21);
    assert_pos(idx, "mcpServers.fetch.args[2].k", 1, 4, 25);
    assert_pos(idx, "mcpServers.fetch.args[2].k", 0, 4, 30);
    berth_textpos_t p;
    assert_false(berth_jsonpos_value(idx, "mcpServers.nope", &p));
}

static void test_columns_count_characters(void **state)
{
    (void)state;
    /* "é" and "€" are 2 and 3 bytes; editors count them as one column. */
    const char *text = "{\"\xc3\xa9\xe2\x82\xac\": 1, \"x\": 2}";
    berth_jsonpos_t *idx = index_of(text);
    assert_pos(idx, "x", 1, 1, 11);
    assert_pos(idx, "x", 0, 1, 16);
}

static void test_escaped_keys_and_quoted_paths(void **state)
{
    (void)state;
    const char *text = "{\"a\\u0062\": {\"my server\": {\"q\\\"\": 1}}}";
    berth_jsonpos_t *idx = index_of(text);
    assert_pos(idx, "ab", 1, 1, 2);
    assert_pos(idx, "ab[\"my server\"]", 1, 1, 14);
    assert_pos(idx, "ab[\"my server\"][\"q\\\"\"]", 1, 1, 28);
    assert_string_equal(berth_jsonpath_member(test_pool, "s", "a.b"),
                        "s[\"a.b\"]");
    assert_string_equal(berth_jsonpath_member(test_pool, "", "args"), "args");
    assert_string_equal(berth_jsonpath_index(test_pool, "args", 12),
                        "args[12]");
}

static void test_duplicates_reported_in_order(void **state)
{
    (void)state;
    const char *text = "{\"a\": 1,\n \"b\": {\"x\": 1, \"x\": 2},\n \"a\": 3}";
    berth_jsonpos_t *idx = index_of(text);
    const apr_array_header_t *d = berth_jsonpos_dups(idx);
    assert_int_equal(d->nelts, 2);
    const berth_jsonpos_dup_t *x = &APR_ARRAY_IDX(d, 0, berth_jsonpos_dup_t);
    const berth_jsonpos_dup_t *a = &APR_ARRAY_IDX(d, 1, berth_jsonpos_dup_t);
    assert_string_equal(x->path, "b.x");
    assert_string_equal(a->path, "a");
    berth_textpos_t at = berth_jsonpos_at(idx, a->offset);
    berth_textpos_t first = berth_jsonpos_at(idx, a->first_offset);
    assert_int_equal(at.line, 3);
    assert_int_equal(at.column, 2);
    assert_int_equal(first.line, 1);
    assert_int_equal(first.column, 2);
}

static void test_jsonc_blanking_keeps_offsets(void **state)
{
    (void)state;
    char text[] = "{ // note \"quoted\"\n"
                  "  \"url\": \"http://x//y\", /* block\n"
                  " comment */ \"a\": [1, 2,],\n"
                  "}";
    char want[] = "{                 \n"
                  "  \"url\": \"http://x//y\",         \n"
                  "            \"a\": [1, 2 ] \n"
                  "}";
    assert_int_equal(berth_jsonc_blank(text, strlen(text)), 0);
    assert_string_equal(text, want);
}

static void test_jsonc_unterminated_comment(void **state)
{
    (void)state;
    char text[] = "{\"a\": 1 /* never closed }";
    assert_int_equal(berth_jsonc_blank(text, strlen(text)), -1);
}

static void test_jsonc_leaves_strings_alone(void **state)
{
    (void)state;
    char text[] = "[\"a,]\", \"/* x */\", \"\\\",]\"]";
    char copy[sizeof text];
    memcpy(copy, text, sizeof text);
    assert_int_equal(berth_jsonc_blank(text, strlen(text)), 0);
    assert_string_equal(text, copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions_nested),
        cmocka_unit_test(test_columns_count_characters),
        cmocka_unit_test(test_escaped_keys_and_quoted_paths),
        cmocka_unit_test(test_duplicates_reported_in_order),
        cmocka_unit_test(test_jsonc_blanking_keeps_offsets),
        cmocka_unit_test(test_jsonc_unterminated_comment),
        cmocka_unit_test(test_jsonc_leaves_strings_alone),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
