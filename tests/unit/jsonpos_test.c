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
    assert_int_equal(berth_jsonc_blank(text, strlen(text), NULL), 0);
    assert_string_equal(text, want);
}

static void test_jsonc_unterminated_comment(void **state)
{
    (void)state;
    char text[] = "{\"a\": 1 /* never closed }";
    size_t bad = 0;
    assert_int_equal(berth_jsonc_blank(text, strlen(text), &bad), -1);
    assert_int_equal(bad, 8);
}

static void test_jsonc_leaves_strings_alone(void **state)
{
    (void)state;
    char text[] = "[\"a,]\", \"/* x */\", \"\\\",]\"]";
    char copy[sizeof text];
    memcpy(copy, text, sizeof text);
    assert_int_equal(berth_jsonc_blank(text, strlen(text), NULL), 0);
    assert_string_equal(text, copy);
}

/* Each broken document, the offset of the token to blame, and the reason. */
static void test_syntax_check(void **state)
{
    (void)state;
    struct { const char *text; size_t at; const char *why; } cases[] = {
        { "{\"a\": 1 \"b\": 2}", 8, "expected ',' or '}' after an object member" },
        { "[1 2]", 3, "expected ',' or ']' after an array element" },
        { "{\"a\": uvx}", 6, "expected a value: a string in double quotes, "
          "a number, true, false, null, an object or an array" },
        { "{\"a\": True}", 6, "expected a value: a string in double quotes, "
          "a number, true, false, null, an object or an array" },
        { "{'a': 1}", 1, "expected a key in double quotes" },
        { "{\"a\": 'x'}", 6, "strings need double quotes, not single quotes" },
        { "{\"a\" 1}", 5, "expected ':' after the key" },
        { "{\"a\": \"sec\nret\"}", 6, "string not closed before the end of "
          "the line" },
        { "{\"a\": \"se\\qc\"}", 9, "invalid escape in a string; use \\\\ "
          "for a backslash" },
        { "{\"a\": \"s\\u12x4\"}", 8, "invalid \\u escape in a string; it "
          "needs four hex digits" },
        { "{\"a\": \"s\tx\"}", 8, "control character inside a string; "
          "write it as an escape such as \\t" },
        { "{\"a\": 01}", 6, "invalid number" },
        { "{\"a\": 1.}", 6, "invalid number" },
        { "{\"a\": -}", 6, "invalid number" },
        { "{\"a\": [1, 2}", 11, "expected ',' or ']' after an array element" },
        { "{\"a\": [1, 2]", 0, "this object is not closed: '}' missing "
          "before the end of the file" },
        { "{\"a\": 1}}", 8, "unexpected text after the end of the JSON "
          "document" },
        { "  \n ", 4, "the file is empty; a config is a JSON object" },
        { "{\"a\":", 5, "expected a value before the end of the file" },
        { "{\"a\": \"x", 6, "string not closed before the end of the file" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t bad = 99;
        const char *why = berth_json_syntax_check(cases[i].text,
                                                  strlen(cases[i].text), &bad);
        if (!why)
            fail_msg("case %zu accepted", i);
        if (strcmp(why, cases[i].why) != 0 || bad != cases[i].at)
            fail_msg("case %zu: at %zu: %s", i, bad, why);
    }
    const char *good[] = { "{}", "[]", "0", "-1.5e+3", "\"\\u00e9\\n\"",
                           " {\"a\": [true, false, null, {\"b\": []}]} " };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        size_t bad;
        const char *why = berth_json_syntax_check(good[i], strlen(good[i]),
                                                  &bad);
        if (why)
            fail_msg("%s rejected: %s", good[i], why);
    }
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
        cmocka_unit_test(test_syntax_check),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
