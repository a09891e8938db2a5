#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "jsonwire.h"

/* The writer makes what json_dumps(JSON_COMPACT) makes, byte for byte. */
static void test_writer_matches_jansson(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{}",
        "[]",
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
        "\"params\":{\"name\":\"fx0__echo\",\"arguments\":{\"text\":\"hi\"}}}",
        "{\"s\":\"quote \\\" backslash \\\\ slash / tab \\t nl \\n cr \\r "
        "bs \\b ff \\f bell \\u0007 us \\u001f del \\u007f\"}",
        "{\"utf8\":\"caf\\u00e9 \\u6f22 \\ud83d\\ude00\",\"k\\u00e9y\":1}",
        "[0,-1,9223372036854775807,-9223372036854775808,1.5,-0.25,1e300,"
        "2.5e-300,100.0,0.1,1e21,123456789012345678.0]",
        "[true,false,null,[[[]]],{\"a\":{\"b\":{\"c\":[1,{\"d\":null}]}}}]",
        "{\"z\":1,\"a\":2,\"m\":3}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_error_t err;
        json_t *v = json_loads(docs[i], 0, &err);
        assert_non_null(v);
        char *want = json_dumps(v, JSON_COMPACT);
        size_t len;
        char *got = berth_json_text(v, &len);
        assert_non_null(got);
        assert_string_equal(got, want);
        assert_int_equal(len, strlen(want));
        free(got);
        free(want);
        json_decref(v);
    }
    /* a string with a NUL inside, and a bare scalar */
    json_t *v = json_pack("{s:s#}", "n", "a\0b", (int)3);
    char *got = berth_json_text(v, NULL);
    assert_string_equal(got, "{\"n\":\"a\\u0000b\"}");
    free(got);
    json_decref(v);
    v = json_integer(-42);
    got = berth_json_text(v, NULL);
    assert_string_equal(got, "-42");
    free(got);
    json_decref(v);
}

static void test_wbuf(void **state)
{
    (void)state;
    berth_wbuf_t b = { 0 };
    size_t len = 99;
    assert_null(berth_wbuf_take(&b, &len)); /* nothing written */
    assert_int_equal(len, 0);
    for (int i = 0; i < 1000; i++)
        berth_wbuf_add(&b, "0123456789", 10);
    char *p = berth_wbuf_take(&b, &len);
    assert_int_equal(len, 10000);
    assert_int_equal(strlen(p), 10000);
    assert_memory_equal(p + 9990, "0123456789", 10);
    free(p);
    assert_null(b.p); /* empty again */
}

/* What a scan finds: SPAN's text in DOC, or NULL when absent. */
static char *span_text(const char *doc, berth_span_t s)
{
    if (!s.len)
        return NULL;
    char *t = malloc(s.len + 1);
    memcpy(t, doc + s.off, s.len);
    t[s.len] = '\0';
    return t;
}

static void expect_span(const char *doc, berth_span_t s, const char *want)
{
    char *got = span_text(doc, s);
    if (!want)
        assert_null(got);
    else
        assert_string_equal(got, want);
    free(got);
}

static void test_scan_spans(void **state)
{
    (void)state;
    berth_rpc_scan_t s;
    const char *doc = " {\"jsonrpc\":\"2.0\", \"id\" : 12 ,\"result\":"
                      "{\"content\":[{\"type\":\"text\",\"text\":\"a}]\"}]},"
                      "\"extra\":[1,2,{\"id\":5}]}\r\n";
    assert_int_equal(berth_rpc_scan(doc, strlen(doc), &s), 0);
    expect_span(doc, s.jsonrpc, "\"2.0\"");
    expect_span(doc, s.id, "12"); /* the top level's, not the nested one */
    expect_span(doc, s.result,
                "{\"content\":[{\"type\":\"text\",\"text\":\"a}]\"}]}");
    expect_span(doc, s.method, NULL);
    expect_span(doc, s.error, NULL);
    assert_int_equal(s.escaped_key, 0);
    json_int_t id = 0;
    assert_int_equal(berth_rpc_scan_is_result(doc, &s, &id), 1);
    assert_int_equal(id, 12);

    /* a repeated key: the last one counts, as in jansson */
    doc = "{\"id\":1,\"jsonrpc\":\"2.0\",\"result\":null,\"id\":-3}";
    assert_int_equal(berth_rpc_scan(doc, strlen(doc), &s), 0);
    expect_span(doc, s.id, "-3");
    expect_span(doc, s.result, "null");
    assert_int_equal(berth_rpc_scan_is_result(doc, &s, &id), 1);
    assert_int_equal(id, -3);
}

/* Messages that are JSON but not a plain result: the tree decides them. */
static void test_scan_not_plain_results(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1,\"message\":\"x\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":\"7\",\"result\":{}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1.0,\"result\":{}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1e2,\"result\":{}}",
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{}}",
        "{\"jsonrpc\":\"2.0\",\"result\":{}}",
        "{\"jsonrpc\":\"1.0\",\"id\":1,\"result\":{}}",
        "{\"jsonrpc\":\"2\\u002e0\",\"id\":1,\"result\":{}}",
        "{\"id\":1,\"result\":{}}",
        /* an escaped key may hide "error" or "method" */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"\\u0065rror\":{}}",
        /* beyond 64 bits */
        "{\"jsonrpc\":\"2.0\",\"id\":9223372036854775808,\"result\":{}}",
        "{\"jsonrpc\":\"2.0\",\"id\":123456789012345678901,\"result\":{}}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        berth_rpc_scan_t s;
        json_int_t id;
        assert_int_equal(berth_rpc_scan(docs[i], strlen(docs[i]), &s), 0);
        if (berth_rpc_scan_is_result(docs[i], &s, &id))
            fail_msg("taken for a plain result: %s", docs[i]);
    }
    const char *min = "{\"jsonrpc\":\"2.0\",\"id\":-9223372036854775808,"
                      "\"result\":1}";
    berth_rpc_scan_t s;
    json_int_t id;
    assert_int_equal(berth_rpc_scan(min, strlen(min), &s), 0);
    assert_int_equal(berth_rpc_scan_is_result(min, &s, &id), 1);
    assert_true(id == -9223372036854775807LL - 1);
}

/* What the scan refuses; jansson refuses each of them too. */
static void test_scan_refuses(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "",
        "   ",
        "{",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1,}",     /* trailing comma */
        "{\"a\":1 \"b\":2}",
        "{a:1}",
        "{\"a\":[1,]}",
        "{\"a\":[1 2]}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":.5}",
        "{\"a\":1e}",
        "{\"a\":-}",
        "{\"a\":+1}",
        "{\"a\":tru}",
        "{\"a\":nulll}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12g4\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":\"tab\there\"}",  /* a raw control character */
        "{\"a\":\"open}",
        "{\"a\":1}}",
        "{\"a\":1} x",
        "{\"a\":1}{}",
        "{\"a\":[}",
        "{\"a\":{]}",
        "{\"a\":\"\xc3\"}",       /* UTF-8 cut short */
        "{\"a\":\"\xc0\xaf\"}",   /* overlong */
        "{\"a\":\"\xed\xa0\x80\"}", /* a surrogate */
        "{\"a\":\"\xf4\x90\x80\x80\"}", /* over U+10FFFF */
        "{\"a\":\"\xff\"}",
        "// comment\n{}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        berth_rpc_scan_t s;
        if (berth_rpc_scan(docs[i], strlen(docs[i]), &s) == 0)
            fail_msg("accepted: %s", docs[i]);
        json_t *j = json_loads(docs[i], 0, NULL);
        if (j)
            fail_msg("jansson accepts what the scan refuses: %s", docs[i]);
    }
    /* JSON, but not a message: a message is an object */
    berth_rpc_scan_t not_object;
    assert_int_equal(berth_rpc_scan("[]", 2, &not_object), -1);
    assert_int_equal(berth_rpc_scan("\"s\"", 3, &not_object), -1);
    /* the text ends where LEN says, NUL or not */
    const char *doc = "{\"a\":1}";
    berth_rpc_scan_t s;
    assert_int_equal(berth_rpc_scan(doc, strlen(doc) - 1, &s), -1);
    assert_int_equal(berth_rpc_scan("{\"a\":\"x\0\"}", 10, &s), -1);
}

/* Whatever jansson reads, the scan accepts; and nesting is bounded. */
static void test_scan_accepts(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{}",
        " \t\r\n{ } \n",
        "{\"a\":[],\"b\":{},\"c\":[[],{}],\"d\":\"\",\"e\":0,\"f\":-0.0e+5}",
        "{\"u\":\"caf\xc3\xa9 \xe6\xbc\xa2 \xf0\x9f\x98\x80 \\ud83d\\ude00\"}",
        "{\"esc\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"}",
        "{\"n\":[1,-1,1.25,1E3,1e-3,12.5E+2,0.0]}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        berth_rpc_scan_t s;
        json_t *j = json_loads(docs[i], 0, NULL);
        assert_non_null(j);
        json_decref(j);
        if (berth_rpc_scan(docs[i], strlen(docs[i]), &s) != 0)
            fail_msg("refused: %s", docs[i]);
    }
    /* 2048 levels in all are fine, one more is not */
    for (int depth = 2048; depth <= 2049; depth++) {
        size_t n = 6 + 2 * (size_t)(depth - 1);
        char *doc = malloc(n + 1);
        size_t k = 0;
        memcpy(doc + k, "{\"a\":", 5);
        k += 5;
        for (int i = 1; i < depth; i++)
            doc[k++] = '[';
        for (int i = 1; i < depth; i++)
            doc[k++] = ']';
        doc[k++] = '}';
        doc[k] = '\0';
        berth_rpc_scan_t s;
        assert_int_equal(berth_rpc_scan(doc, k, &s), depth == 2048 ? 0 : -1);
        free(doc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_matches_jansson),
        cmocka_unit_test(test_wbuf),
        cmocka_unit_test(test_scan_spans),
        cmocka_unit_test(test_scan_not_plain_results),
        cmocka_unit_test(test_scan_refuses),
        cmocka_unit_test(test_scan_accepts),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
