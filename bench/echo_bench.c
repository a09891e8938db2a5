/* The round trip of one tools/call of the MCP fixture's echo tool
 * (tests/fixtures/mcp_fixture.c) through berth's upstream session, against
 * the floor: a minimal stdio client in this file that spawns the same fixture
 * with pipes, writes the JSON-RPC line and reads the reply line, with no
 * JSON work, no thread and no lock.
 *
 * Three modes, each on its own fixture process, after a warm-up:
 *   direct      write(2) the request line, read(2) up to the newline
 *   upstream    berth_upstream_request() on a session held once (the
 *               request as a json_t, the reply parsed by the reader thread)
 *   supervisor  berth_supervisor_call(): acquire + upstream_request + release
 *               (what `berth call` and the daemon do per call)
 * and one without a process, to split the difference:
 *   json        the JSON work of one upstream call alone, no I/O, no thread:
 *               the params and request built and serialised as
 *               upstream.c does, the fixture's reply line parsed and
 *               classified, the result taken and freed
 * The measured calls run in rounds of BLOCK calls per mode, in turn, so that
 * machine noise spreads over every mode alike.
 *
 * Usage: echo_bench MCP_FIXTURE [N] [MODES]
 *   N      calls measured per mode (default 20000)
 *   MODES  comma-separated subset of direct,upstream,supervisor,json
 *          (default all), e.g. "supervisor" alone under perf record */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <jansson.h>

#include "bench_util.h"
#include "config.h"
#include "hostfacts.h"
#include "jsonrpc.h"
#include "log.h"
#include "redact.h"
#include "spawnctx.h"
#include "supervisor.h"
#include "upstream.h"

extern char **environ;

#define WARMUP 2000
#define BLOCK 1000
#define TEXT "hello from the echo bench"

static void die(const char *what)
{
    fprintf(stderr, "echo_bench: %s\n", what);
    exit(1);
}

/* ---- the floor: a minimal stdio client ---------------------------------- */

typedef struct {
    pid_t pid;
    int to;        /* the fixture's stdin */
    int from;      /* its stdout */
    bench_lines_t lines;
} direct_t;

static void direct_spawn(direct_t *d, const char *fixture)
{
    int in[2], out[2];
    posix_spawn_file_actions_t fa;
    char *argv[] = { (char *)fixture, NULL };
    if (pipe(in) || pipe(out))
        die("pipe failed");
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    if (posix_spawn(&d->pid, fixture, &fa, NULL, argv, environ) != 0)
        die("cannot start the fixture");
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    d->to = in[1];
    d->from = out[0];
    d->lines.have = 0;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write to the fixture failed");
        p += w;
        n -= (size_t)w;
    }
}

/* One reply line (without its newline) into LINE, which must hold the
 * buffer's size. Returns its length. */
static size_t read_line(direct_t *d, char *line)
{
    bench_lines_t *b = &d->lines;
    long n;
    while ((n = bench_take_line(b, line)) < 0) {
        if (b->have == sizeof b->buf)
            die("a reply line over 64 KiB");
        ssize_t r = read(d->from, b->buf + b->have, sizeof b->buf - b->have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            die("the fixture closed its stdout");
        b->have += (size_t)r;
    }
    return (size_t)n;
}

static char reply[65536];

/* The measured unit of the floor: format the line, write it, read the
 * reply line, check it answers this id. */
static void direct_call(direct_t *d, long id)
{
    char req[256], want[32];
    int n = snprintf(req, sizeof req,
                     "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"tools/call\","
                     "\"params\":{\"name\":\"echo\",\"arguments\":"
                     "{\"text\":\"" TEXT "\"}}}\n", id);
    write_all(d->to, req, (size_t)n);
    read_line(d, reply);
    snprintf(want, sizeof want, "\"id\":%ld", id);
    if (!strstr(reply, want) || !strstr(reply, TEXT))
        die("the fixture answered something else");
}

static void direct_handshake(direct_t *d)
{
    static const char init[] =
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
        "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
        "\"clientInfo\":{\"name\":\"echo_bench\",\"version\":\"0\"}}}\n";
    static const char inited[] =
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
    write_all(d->to, init, sizeof init - 1);
    read_line(d, reply);
    if (!strstr(reply, "\"result\""))
        die("the fixture refused initialize");
    write_all(d->to, inited, sizeof inited - 1);
}

static void direct_stop(direct_t *d)
{
    int st;
    close(d->to);
    close(d->from);
    waitpid(d->pid, &st, 0);
}

/* ---- through berth -------------------------------------------------------- */

static json_t *echo_params(void)
{
    return json_pack("{s:s, s:{s:s}}", "name", "echo", "arguments", "text",
                     TEXT);
}

static void check_result(apr_status_t rv, json_t *result, json_t *error)
{
    const char *text = json_string_value(json_object_get(
        json_array_get(json_object_get(result, "content"), 0), "text"));
    if (rv != APR_SUCCESS || !text || strcmp(text, TEXT) != 0) {
        fprintf(stderr, "echo_bench: berth call failed: %s\n",
                error ? json_string_value(json_object_get(error, "message"))
                      : "unexpected result");
        exit(1);
    }
    json_decref(result);
    json_decref(error);
}

/* The measured unit through the session: the params built, sent, the reply
 * parsed and matched, the waiting thread woken. */
static void upstream_call(berth_upstream_t *u)
{
    json_t *result = NULL, *error = NULL;
    apr_status_t rv = berth_upstream_request(u, "tools/call", echo_params(),
                                             apr_time_from_sec(10), &result,
                                             &error);
    check_result(rv, result, error);
}

static void supervisor_call(berth_supervisor_t *s)
{
    json_t *result = NULL, *error = NULL;
    apr_status_t rv = berth_supervisor_call(s, "tools/call", echo_params(),
                                            &result, &error);
    check_result(rv, result, error);
}

/* The JSON work of one upstream call, as upstream.c and jsonrpc.c do it:
 * berth_upstream_call_start (berth_rpc_request, berth_rpc_line), the reader
 * (json_loadb, berth_rpc_classify, the result taken), the caller's decref.
 * The reply is the fixture's answer to the echo call, byte for byte. */
static const char echo_reply[] =
    "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"content\":[{\"type\":"
    "\"text\",\"text\":\"" TEXT "\"}]}}";

static void json_work(long id)
{
    apr_size_t len;
    json_t *msg = berth_rpc_request(id, "tools/call", echo_params());
    char *line = berth_rpc_line(msg, &len);
    json_decref(msg);
    if (!line)
        die("berth_rpc_line failed");
    free(line);
    json_t *r = json_loadb(echo_reply, sizeof echo_reply - 1, 0, NULL);
    if (berth_rpc_classify(r) != BERTH_RPC_RESPONSE ||
        !json_is_integer(json_object_get(r, "id")))
        die("the canned reply does not classify as a response");
    json_t *result = json_incref(json_object_get(r, "result"));
    json_decref(r);
    check_result(APR_SUCCESS, result, NULL);
}

/* ---- the run ---------------------------------------------------------------- */

enum { M_DIRECT, M_UPSTREAM, M_SUPERVISOR, M_JSON, M_COUNT };
static const char *const mode_names[M_COUNT] = { "direct", "upstream",
                                                  "supervisor", "json" };
static const char *const mode_what[M_COUNT] = {
    "direct stdio client (floor)", "berth_upstream_request",
    "berth_supervisor_call", "upstream's JSON work, no I/O"
};

typedef struct {
    direct_t direct;
    berth_upstream_t *u;
    berth_supervisor_t *s;
    long next_id;
} bench_t;

static void one_call(bench_t *b, int mode)
{
    if (mode == M_DIRECT)
        direct_call(&b->direct, b->next_id++);
    else if (mode == M_UPSTREAM)
        upstream_call(b->u);
    else if (mode == M_SUPERVISOR)
        supervisor_call(b->s);
    else
        json_work(b->next_id++);
}

static berth_supervisor_t *start_server(berth_spawnctx_t *ctx,
                                        const char *fixture, const char *name,
                                        apr_pool_t *pool)
{
    json_t *cfgj = json_pack("{s:{s:{s:s}}}", "mcpServers", name, "command",
                             fixture);
    char *text = json_dumps(cfgj, 0);
    berth_config_t *cfg;
    apr_array_header_t *diags = apr_array_make(pool, 4, sizeof(berth_diag_t));
    if (berth_config_parse("echo_bench.json", text, strlen(text), &cfg, diags,
                           pool) != APR_SUCCESS)
        die("the generated config does not validate");
    free(text);
    json_decref(cfgj);
    berth_supervisor_opts_t o;
    memset(&o, 0, sizeof o); /* no restart, no log file */
    berth_supervisor_t *s = berth_supervisor_create(
        ctx, cfg, berth_config_find_server(cfg, name), &o, pool);
    const char *why = NULL;
    berth_supervisor_start(s);
    if (berth_supervisor_wait_ready(s, apr_time_from_sec(30), &why, pool) !=
        APR_SUCCESS) {
        fprintf(stderr, "echo_bench: the fixture did not start: %s\n",
                why ? why : "timeout");
        exit(1);
    }
    return s;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *pool;
    int n = argc > 2 ? atoi(argv[2]) : 20000;
    int on[M_COUNT] = { 0 };
    if (argc < 2 || n <= 0) {
        fprintf(stderr, "usage: echo_bench MCP_FIXTURE [N] "
                "[direct,upstream,supervisor,json]\n");
        return 2;
    }
    const char *fixture = argv[1];
    const char *modes = argc > 3 ? argv[3]
                                 : "direct,upstream,supervisor,json";
    for (int m = 0; m < M_COUNT; m++)
        on[m] = strstr(modes, mode_names[m]) != NULL;
    if (access(fixture, X_OK) != 0)
        die("the fixture is not an executable (pass the mcp_fixture path)");

    signal(SIGPIPE, SIG_IGN);
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&pool, NULL);
    berth_redact_init();
    berth_log_set_level(BERTH_LOG_WARN);
    berth_hostfacts_t *facts;
    berth_hostfacts_real(&facts, pool);
    berth_spawnctx_t *ctx = berth_spawnctx_create(facts, pool);

    bench_t b;
    memset(&b, 0, sizeof b);
    b.next_id = 1;
    berth_supervisor_t *su = NULL;
    if (on[M_DIRECT]) {
        direct_spawn(&b.direct, fixture);
        direct_handshake(&b.direct);
    }
    if (on[M_UPSTREAM]) {
        /* a server of its own, its session held for the whole run */
        su = start_server(ctx, fixture, "fixture-upstream", pool);
        b.u = berth_supervisor_acquire(su, NULL, pool);
        if (!b.u)
            die("no session");
    }
    if (on[M_SUPERVISOR])
        b.s = start_server(ctx, fixture, "fixture-supervisor", pool);

    for (int m = 0; m < M_COUNT; m++)
        if (on[m])
            for (int i = 0; i < WARMUP; i++)
                one_call(&b, m);

    double *samples[M_COUNT];
    for (int m = 0; m < M_COUNT; m++)
        samples[m] = malloc(sizeof(double) * (size_t)n);
    for (int done = 0; done < n; done += BLOCK) {
        int k = n - done < BLOCK ? n - done : BLOCK;
        for (int m = 0; m < M_COUNT; m++) {
            if (!on[m])
                continue;
            for (int i = 0; i < k; i++) {
                double t0 = bench_now_us();
                one_call(&b, m);
                samples[m][done + i] = bench_now_us() - t0;
            }
        }
    }

    double median[M_COUNT] = { 0 };
    printf("%-12s %-30s %10s %10s %10s\n", "mode", "path", "median_us",
           "p99_us", "mean_us");
    for (int m = 0; m < M_COUNT; m++) {
        if (!on[m])
            continue;
        double total = 0;
        for (int i = 0; i < n; i++)
            total += samples[m][i];
        qsort(samples[m], (size_t)n, sizeof(double), bench_cmp_double);
        median[m] = samples[m][n / 2];
        printf("%-12s %-30s %10.2f %10.2f %10.2f\n", mode_names[m],
               mode_what[m], median[m], samples[m][(size_t)n * 99 / 100],
               total / n);
    }
    if (on[M_DIRECT])
        for (int m = M_UPSTREAM; m <= M_SUPERVISOR; m++)
            if (on[m])
                printf("berth adds at the median (%s - direct): %.2f us\n",
                       mode_names[m], median[m] - median[M_DIRECT]);
    printf("(%d calls per mode after %d warm-up calls, in rounds of %d)\n",
           n, WARMUP, BLOCK);

    if (b.u)
        berth_supervisor_release(su, b.u);
    if (su)
        berth_supervisor_stop(su);
    if (b.s)
        berth_supervisor_stop(b.s);
    if (on[M_DIRECT])
        direct_stop(&b.direct);
    for (int m = 0; m < M_COUNT; m++)
        free(samples[m]);
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}
