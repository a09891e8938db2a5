#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_thread_proc.h>
#include <apr_strings.h>

#include "test_util.h"

#include "jsonrpc.h"
#include "logfile.h"
#include "mcpver.h"
#include "supervisor.h"

/* A file holding TEXT, opened for reading: the line reader does not care
 * whether it reads a pipe or a file. */
static apr_file_t *file_with(const char *text, apr_size_t len)
{
    const char *dir;
    apr_file_t *f;
    apr_temp_dir_get(&dir, test_pool);
    char *path = apr_pstrcat(test_pool, dir, "/berth-lr-XXXXXX", NULL);
    assert_int_equal(apr_file_mktemp(&f, path, APR_FOPEN_CREATE |
                                                    APR_FOPEN_READ |
                                                    APR_FOPEN_WRITE |
                                                    APR_FOPEN_BINARY |
                                                    APR_FOPEN_DELONCLOSE,
                                     test_pool),
                     APR_SUCCESS);
    apr_size_t w;
    apr_file_write_full(f, text, len, &w);
    apr_off_t zero = 0;
    apr_file_seek(f, APR_SET, &zero);
    return f;
}

static void test_lines_and_limits(void **state)
{
    (void)state;
    /* 10 'x' is over the 8-byte limit; CRLF is accepted; the last line
     * has no newline */
    static const char text[] = "one\r\n\ntwo\nxxxxxxxxxx\nthree\nlast";
    berth_linereader_t *r = berth_linereader_create(
        file_with(text, sizeof text - 1), 8, test_pool);
    const char *line;
    apr_size_t len;
    const char *want[] = { "one", "", "two", NULL, "three", "last" };
    for (int i = 0; i < 6; i++) {
        apr_status_t rv = berth_linereader_next(r, &line, &len);
        if (!want[i]) {
            assert_int_equal(rv, BERTH_ELINE_TOO_LONG);
            assert_int_equal(len, 10);
            continue;
        }
        assert_int_equal(rv, APR_SUCCESS);
        assert_string_equal(line, want[i]);
        assert_int_equal(len, strlen(want[i]));
    }
    assert_int_equal(berth_linereader_next(r, &line, &len), APR_EOF);
}

static void test_long_lines_across_reads(void **state)
{
    (void)state;
    /* larger than the reader's 64 KiB first buffer, both kept and dropped */
    apr_size_t big = 300 * 1024;
    char *text = apr_palloc(test_pool, big * 3 + 16);
    memset(text, 'a', big);
    text[big] = '\n';
    memset(text + big + 1, 'b', big * 2);
    text[big * 3 + 1] = '\n';
    memcpy(text + big * 3 + 2, "ok\n", 3);
    berth_linereader_t *r = berth_linereader_create(
        file_with(text, big * 3 + 5), big, test_pool);
    const char *line;
    apr_size_t len;
    assert_int_equal(berth_linereader_next(r, &line, &len), APR_SUCCESS);
    assert_int_equal(len, big);
    assert_int_equal(line[big - 1], 'a');
    assert_int_equal(berth_linereader_next(r, &line, &len),
                     BERTH_ELINE_TOO_LONG);
    assert_int_equal(len, big * 2);
    assert_int_equal(berth_linereader_next(r, &line, &len), APR_SUCCESS);
    assert_string_equal(line, "ok");
    /* an oversize last line without a newline is reported, then EOF */
    berth_linereader_t *r2 = berth_linereader_create(
        file_with("xxxxxxxxxxxxxxxx", 16), 4, test_pool);
    assert_int_equal(berth_linereader_next(r2, &line, &len),
                     BERTH_ELINE_TOO_LONG);
    assert_int_equal(len, 16);
    assert_int_equal(berth_linereader_next(r2, &line, &len), APR_EOF);
}

/* A line over the limit is dropped unread, but the top-level integer "id"
 * it carries is kept, wherever it stands: a server's answer that is too
 * large can fail its own request at once (docs/supervision.md). */
static void test_dropped_id(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        int found;
        json_int_t id;
    } k_cases[] = {
        { "{\"jsonrpc\":\"2.0\",\"id\":42,\"result\":{\"t\":\"xxxxxxxx\"}}", 1,
          42 },
        /* last, after a result holding decoys: an "id" in a string, in a
         * nested object, in an array; braces inside strings */
        { "{\"result\":{\"id\":5,\"content\":[{\"id\":6,\"text\":"
          "\"\\\"id\\\":7 }{ ]\"}]},\"jsonrpc\":\"2.0\",\"id\":9}", 1, 9 },
        { "{ \"id\" : 12 , \"result\" : [ ] , \"pad\":\"xxxxxxxxxxxx\" }", 1,
          12 },
        { "{\"id\":-3,\"result\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}", 1, -3 },
        /* no integer id: a notification, a string id, a null id, no
         * object at all, an id too large for berth's */
        { "{\"jsonrpc\":\"2.0\",\"method\":\"n\",\"params\":{\"id\":1,"
          "\"d\":\"xxxxxxxx\"}}", 0, 0 },
        { "{\"id\":\"abc\",\"result\":\"xxxxxxxxxxxxxxxxxxxxxxxxxx\"}", 0, 0 },
        { "{\"id\":null,\"error\":{\"code\":1,\"message\":\"xxxxxxxxxx\"}}",
          0, 0 },
        { "[{\"id\":1},\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"]", 0,
          0 },
        { "{\"id\":123456789012345678901234567890,\"result\":\"xxxxxxxx\"}",
          0, 0 },
        { "{\"id\":1.5,\"result\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}", 0,
          0 },
    };
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) {
        /* the case, then a short line: the reader carries on, and a state
         * left by the case does not leak into the next line */
        const char *text = apr_psprintf(test_pool, "%s\nok\n",
                                        k_cases[i].line);
        berth_linereader_t *r = berth_linereader_create(
            file_with(text, strlen(text)), 8, test_pool);
        const char *line;
        apr_size_t len;
        json_int_t id = 777;
        assert_int_equal(berth_linereader_next(r, &line, &len),
                         BERTH_ELINE_TOO_LONG);
        assert_int_equal(len, strlen(k_cases[i].line));
        if (berth_linereader_dropped_id(r, &id) != k_cases[i].found ||
            (k_cases[i].found && id != k_cases[i].id))
            fail_msg("case %d: %s: found %d, id %" JSON_INTEGER_FORMAT,
                     (int)i, k_cases[i].line,
                     berth_linereader_dropped_id(r, &id), id);
        assert_int_equal(berth_linereader_next(r, &line, &len), APR_SUCCESS);
        assert_string_equal(line, "ok");
    }
    /* across many reads, the id last, then a second dropped line without
     * one: nothing of the first is left */
    apr_size_t big = 300 * 1024;
    char *pad = apr_palloc(test_pool, big + 1);
    memset(pad, 'y', big);
    pad[big] = '\0';
    const char *text = apr_psprintf(
        test_pool, "{\"result\":{\"text\":\"%s\"},\"id\":31}\n"
        "{\"method\":\"m\",\"params\":\"%s\"}\n", pad, pad);
    berth_linereader_t *r = berth_linereader_create(
        file_with(text, strlen(text)), 1024, test_pool);
    const char *line;
    apr_size_t len;
    json_int_t id = 0;
    assert_int_equal(berth_linereader_next(r, &line, &len),
                     BERTH_ELINE_TOO_LONG);
    assert_int_equal(berth_linereader_dropped_id(r, &id), 1);
    assert_int_equal(id, 31);
    assert_int_equal(berth_linereader_next(r, &line, &len),
                     BERTH_ELINE_TOO_LONG);
    assert_int_equal(berth_linereader_dropped_id(r, &id), 0);
    assert_int_equal(berth_linereader_next(r, &line, &len), APR_EOF);
}

/* What an owner of the reader checks before it waits on the pipe: lines
 * read and not yet returned, or the end seen, need no wait. */
static void test_buffered(void **state)
{
    (void)state;
    berth_linereader_t *r = berth_linereader_create(file_with("a\nb\n", 4),
                                                    64, test_pool);
    /* before each next(): buffered or not; then the line it returns */
    static const struct { int buffered; const char *line; } steps[] = {
        { 0, "a" }, { 1, "b" }, { 0, NULL }, { 1, NULL },
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const char *line;
        apr_size_t len;
        assert_int_equal(berth_linereader_buffered(r), steps[i].buffered);
        if (i == 3)
            break; /* after the end */
        apr_status_t rv = berth_linereader_next(r, &line, &len);
        if (steps[i].line) {
            assert_int_equal(rv, APR_SUCCESS);
            assert_string_equal(line, steps[i].line);
        } else {
            assert_int_equal(rv, APR_EOF);
        }
    }
}

static void put(apr_file_t *f, const char *text)
{
    apr_size_t n;
    assert_int_equal(apr_file_write_full(f, text, strlen(text), &n),
                     APR_SUCCESS);
}

/* One read at most: a line split across writes comes back whole, and in
 * between the reader says so instead of blocking. */
static void test_next_once(void **state)
{
    (void)state;
    apr_file_t *rd, *wr;
    const char *line;
    apr_size_t len;
    assert_int_equal(apr_file_pipe_create_ex(&rd, &wr, APR_FULL_BLOCK,
                                             test_pool), APR_SUCCESS);
    berth_linereader_t *r = berth_linereader_create(rd, 64, test_pool);
    put(wr, "one\ntw");
    assert_int_equal(berth_linereader_next_once(r, &line, &len),
                     APR_SUCCESS);
    assert_string_equal(line, "one");
    /* "tw" is read but not a line: not buffered (its owner polls before
     * the next read) */
    assert_int_equal(berth_linereader_buffered(r), 0);
    put(wr, "o\nthr");
    assert_int_equal(berth_linereader_next_once(r, &line, &len),
                     APR_SUCCESS);
    assert_string_equal(line, "two");
    /* "thr" read, no newline yet; the one read allowed is spent */
    put(wr, "ee");
    assert_int_equal(berth_linereader_next_once(r, &line, &len), APR_EAGAIN);
    put(wr, "\n");
    assert_int_equal(berth_linereader_next_once(r, &line, &len),
                     APR_SUCCESS);
    assert_string_equal(line, "three");
    apr_file_close(wr);
    assert_int_equal(berth_linereader_next_once(r, &line, &len), APR_EOF);
}

static void test_classify(void **state)
{
    (void)state;
    struct { const char *text; berth_rpc_kind_t want; } rows[] = {
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
          BERTH_RPC_REQUEST },
        { "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"x\",\"params\":{}}",
          BERTH_RPC_REQUEST },
        { "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}",
          BERTH_RPC_NOTIFICATION },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", BERTH_RPC_RESPONSE },
        { "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":1,"
          "\"message\":\"m\"}}", BERTH_RPC_RESPONSE },
        { "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"error\":{}}",
          BERTH_RPC_INVALID },
        { "{\"jsonrpc\":\"1.0\",\"id\":1,\"result\":{}}", BERTH_RPC_INVALID },
        { "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"x\"}",
          BERTH_RPC_INVALID },
        { "{\"jsonrpc\":\"2.0\",\"method\":5}", BERTH_RPC_INVALID },
        { "[1,2]", BERTH_RPC_INVALID },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *j = json_loads(rows[i].text, 0, NULL);
        if (berth_rpc_classify(j) != rows[i].want)
            fail_msg("row %zu: %s", i, rows[i].text);
        json_decref(j);
    }
    assert_int_equal(berth_rpc_classify(NULL), BERTH_RPC_INVALID);
}

static void test_builders_one_line(void **state)
{
    (void)state;
    json_t *m = berth_rpc_request(7, "tools/call",
                                  json_pack("{s:s}", "text", "a\nb"));
    apr_size_t len;
    char *line = berth_rpc_line(m, &len);
    assert_string_equal(line, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":"
                              "\"tools/call\",\"params\":{\"text\":\"a\\nb\"}}"
                              "\n");
    assert_int_equal(len, strlen(line));
    assert_null(memchr(line, '\n', len - 1)); /* one message, one line */
    free(line);
    json_decref(m);
    /* the request's line made directly is the same bytes */
    json_t *p = json_pack("{s:s, s:{s:i}}", "name", "ech\"o",
                          "_meta", "progressToken", 3);
    line = berth_rpc_request_line(-12, "tools/\u00e9call", p, &len);
    m = berth_rpc_request(-12, "tools/\u00e9call", json_incref(p));
    char *want = berth_rpc_line(m, NULL);
    assert_string_equal(line, want);
    assert_int_equal(len, strlen(want));
    free(line);
    free(want);
    json_decref(m);
    json_decref(p);
    line = berth_rpc_request_line(1, "ping", NULL, NULL);
    assert_string_equal(line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
                              "\"ping\"}\n");
    free(line);
    json_t *id = json_string("x");
    m = berth_rpc_error(id, BERTH_RPC_METHOD_NOT_FOUND, "nope", NULL);
    line = berth_rpc_line(m, NULL);
    assert_string_equal(line, "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"error\":"
                              "{\"code\":-32601,\"message\":\"nope\"}}\n");
    free(line);
    json_decref(m);
    json_decref(id);
}

static void test_versions(void **state)
{
    (void)state;
    assert_string_equal(berth_mcp_versions[0], BERTH_MCP_LATEST);
    assert_true(berth_mcp_version_supported("2025-06-18"));
    assert_true(berth_mcp_version_supported("2025-03-26"));
    assert_false(berth_mcp_version_supported("2099-01-01"));
    assert_false(berth_mcp_version_supported(NULL));
}

static void test_backoff(void **state)
{
    (void)state;
    apr_interval_time_t s = APR_USEC_PER_SEC, b = 0;
    apr_interval_time_t want[] = { 1, 2, 4, 8, 16, 32, 60, 60 };
    for (int i = 0; i < 8; i++) {
        b = berth_supervisor_next_backoff(b, 5 * s, s, 60 * s, 60 * s);
        assert_int_equal(b, want[i] * s);
    }
    /* 60 s of healthy running resets it */
    assert_int_equal(berth_supervisor_next_backoff(b, 60 * s, s, 60 * s,
                                                   60 * s),
                     s);
}

static void test_logfile_rotation_and_tail(void **state)
{
    (void)state;
    const char *dir;
    apr_temp_dir_get(&dir, test_pool);
    const char *path = apr_psprintf(test_pool, "%s/berth-log-%d.log", dir,
                                    (int)apr_time_now());
    berth_logfile_t *lf;
    assert_int_equal(berth_logfile_open(&lf, path, 100, 3, test_pool),
                     APR_SUCCESS);
    for (int i = 0; i < 30; i++) {
        const char *l = apr_psprintf(test_pool, "line %02d docker run -e "
                                     "TOKEN=s3cret", i);
        berth_logfile_line(lf, l, strlen(l));
    }
    apr_finfo_t fi;
    assert_int_equal(apr_stat(&fi, path, APR_FINFO_SIZE, test_pool),
                     APR_SUCCESS);
    assert_true(fi.size <= 100);
    assert_int_equal(apr_stat(&fi, apr_pstrcat(test_pool, path, ".2", NULL),
                              APR_FINFO_SIZE, test_pool),
                     APR_SUCCESS);
    assert_int_not_equal(apr_stat(&fi, apr_pstrcat(test_pool, path, ".3",
                                                   NULL),
                                  APR_FINFO_SIZE, test_pool),
                         APR_SUCCESS);
    const char *tail = berth_logfile_tail(lf, 2, test_pool);
    assert_string_equal(tail, "line 28 docker run -e TOKEN=***\n"
                              "line 29 docker run -e TOKEN=***");
    for (int i = 0; i < 3; i++)
        apr_file_remove(i ? apr_psprintf(test_pool, "%s.%d", path, i) : path,
                        test_pool);
    assert_int_equal(berth_logfile_parse_size("10m"), 10 * 1024 * 1024);
    assert_int_equal(berth_logfile_parse_size("512KiB"), 512 * 1024);
    assert_int_equal(berth_logfile_parse_size("100"), 100);
    assert_int_equal(berth_logfile_parse_size("lots"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_and_limits),
        cmocka_unit_test(test_long_lines_across_reads),
        cmocka_unit_test(test_dropped_id),
        cmocka_unit_test(test_buffered),
        cmocka_unit_test(test_next_once),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_builders_one_line),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_logfile_rotation_and_tail),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
