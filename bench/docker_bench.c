/* Docker isolation's speed (issue 6), against the real daemon and the
 * berth-test/fixture:latest image (tests/docker/build-images):
 *
 *   start     the time from "start" to "initialized" of an isolated fixture
 *             server: berth_supervisor_start() until
 *             berth_supervisor_wait_ready() returns, against the same
 *             container started by hand and initialized directly. Paths:
 *               berth  a new supervisor per start (one spawn context for
 *                      the whole run, as a daemon has one per process)
 *               hand   the plan's program, argv and environment exactly
 *                      (the login-shell wrap and the whole docker run line)
 *                      spawned here; one initialize line written, stdout
 *                      read up to the answer, notifications/initialized
 *                      written: that moment is "initialized"
 *               bare   the same docker run argv executed directly, without
 *                      the shell wrap (what a user types in a terminal that
 *                      already has the login environment)
 *             The paths take turns, the order rotating every round, so
 *             that the daemon's noise and any after-effect of the previous
 *             container spread over all of them alike.
 *   shutdown  berth_daemon_stop() of 8 isolated servers against 1, each
 *             with a 1 s shutdown grace and FIXTURE_IGNORE_EOF (so every
 *             one needs the grace and then docker stop), once with
 *             FIXTURE_TERM_EXITS (SIGTERM ends PID 1) and once without
 *             (docker stop waits a second grace, then SIGKILL). After each
 *             stop, docker ps proves no container of this bench is left.
 *
 * Usage: docker_bench [N] [SECTIONS]
 *   N         start rounds per path (default 20); shutdown runs 3 times
 *   SECTIONS  comma-separated subset of start,shutdown (default both) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <jansson.h>

#include "bench_util.h"
#include "config.h"
#include "daemon.h"
#include "hostfacts.h"
#include "log.h"
#include "process.h"
#include "redact.h"
#include "spawnctx.h"
#include "supervisor.h"

#define IMAGE "berth-test/fixture:latest"
#define SHUTDOWN_RUNS 3
#define GRACE 1 /* seconds, the servers' timeouts.shutdown */

static double now_ms(void)
{
    return bench_now_us() / 1e3;
}

static void die(const char *what)
{
    fprintf(stderr, "docker_bench: %s\n", what);
    exit(1);
}

/* Sorts S and returns its median (the mean of the middle two for an even
 * count). */
static double median(double *s, int n)
{
    qsort(s, (size_t)n, sizeof(double), bench_cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Nearest rank; S sorted. */
static double p90(const double *s, int n)
{
    return s[(n * 9 + 9) / 10 - 1];
}

/* Loads CFGJ through a temporary file, the way berth reads its config. */
static berth_config_t *load_config(json_t *cfgj, apr_pool_t *pool)
{
    char path[] = "/tmp/docker_bench.XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f || json_dumpf(cfgj, f, JSON_INDENT(2)) != 0 || fclose(f) != 0)
        die("cannot write the temporary config");
    json_decref(cfgj);
    berth_config_t *cfg;
    apr_array_header_t *diags = apr_array_make(pool, 4, sizeof(berth_diag_t));
    apr_status_t rv = berth_config_load(path, &cfg, diags, pool);
    unlink(path);
    if (rv != APR_SUCCESS) {
        for (int i = 0; i < diags->nelts; i++)
            fprintf(stderr, "%s\n",
                    berth_diag_format(&APR_ARRAY_IDX(diags, i, berth_diag_t),
                                      pool));
        die("the generated config does not validate");
    }
    return cfg;
}

/* One isolated fixture server; ENV (may be NULL) stolen. */
static json_t *fixture_server(json_t *env)
{
    json_t *s = json_pack("{s:s, s:{s:s}}", "command", "/mcp_fixture",
                          "isolation", "image", IMAGE);
    if (env) {
        json_object_set_new(s, "env", env);
        json_object_set_new(s, "timeouts", json_pack("{s:i}", "shutdown",
                                                     GRACE));
    }
    return s;
}

static json_t *isolated_config(json_t *servers)
{
    return json_pack("{s:{s:s}, s:o}", "docker_isolation", "mode", "docker",
                     "mcpServers", servers);
}

/* How many containers this bench's berth (its instance label) left. */
static int containers_left(berth_spawnctx_t *ctx)
{
    char cmd[512], line[256];
    int n = 0;
    snprintf(cmd, sizeof cmd,
             "docker ps -aq --filter label=io.berth.managed=true "
             "--filter 'label=io.berth.instance=%s'",
             berth_spawnctx_instance(ctx));
    FILE *p = popen(cmd, "r");
    if (!p)
        die("cannot run docker ps");
    while (fgets(line, sizeof line, p))
        n++;
    if (pclose(p) != 0)
        die("docker ps failed");
    return n;
}

/* ---- start: through berth ------------------------------------------------ */

static double berth_start(berth_spawnctx_t *ctx, const berth_config_t *cfg,
                          const berth_server_config_t *srv, apr_pool_t *parent)
{
    apr_pool_t *pool;
    const char *why = NULL;
    berth_supervisor_opts_t o;
    memset(&o, 0, sizeof o); /* no restart, no log file */
    apr_pool_create(&pool, parent);
    berth_supervisor_t *s = berth_supervisor_create(ctx, cfg, srv, &o, pool);
    double t0 = now_ms();
    berth_supervisor_start(s);
    apr_status_t rv = berth_supervisor_wait_ready(s, apr_time_from_sec(60),
                                                  &why, pool);
    double t = now_ms() - t0;
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "docker_bench: berth did not start the server: %s\n",
                why ? why : "timeout");
        exit(1);
    }
    berth_supervisor_stop(s);
    apr_pool_destroy(pool);
    return t;
}

/* ---- start: by hand --------------------------------------------------------- */

typedef struct {
    apr_file_t *out;
    bench_lines_t lines;
} reader_t;

/* One stdout line (NUL-terminated, no newline) into LINE of the buffer's
 * size. */
static void read_line(reader_t *r, char *line)
{
    bench_lines_t *b = &r->lines;
    while (bench_take_line(b, line) < 0) {
        apr_size_t len = sizeof b->buf - b->have;
        if (len == 0)
            die("a line over 64 KiB on the fixture's stdout");
        if (apr_file_read(r->out, b->buf + b->have, &len) != APR_SUCCESS)
            die("the container closed its stdout before initializing");
        b->have += len;
    }
}

static void write_line(apr_file_t *f, const char *line)
{
    if (apr_file_write_full(f, line, strlen(line), NULL) != APR_SUCCESS)
        die("write to the container's stdin failed");
}

static char reply[65536];

/* The plan is made before the clock starts (a user typing docker run plans
 * nothing); BARE runs docker itself instead of the plan's program. */
static double hand_start(berth_spawnctx_t *ctx, const berth_config_t *cfg,
                         const berth_server_config_t *srv, int bare,
                         apr_pool_t *parent)
{
    static const char init[] =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
        "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
        "\"clientInfo\":{\"name\":\"docker_bench\",\"version\":\"0\"}}}\n";
    static const char inited[] =
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
    static reader_t r;
    apr_pool_t *pool;
    berth_plan_t *plan;
    berth_process_t *proc;
    const char *err;
    int code;
    apr_pool_create(&pool, parent);
    if (berth_spawnctx_plan(ctx, cfg, srv, berth_spawnctx_token(pool), &plan,
                            &err, pool) != APR_SUCCESS)
        die(err);
    /* docker refuses a cidfile that exists, and needs its folder */
    apr_dir_make_recursive(berth_path_dirname(plan->cidfile, pool),
                           APR_FPROT_UREAD | APR_FPROT_UWRITE |
                               APR_FPROT_UEXECUTE,
                           pool);
    berth_process_spec_t spec = { plan->program, plan->argv, NULL, plan->env,
                                  plan->cwd };
    if (bare) {
        apr_array_header_t *argv = apr_array_make(pool, 16,
                                                  sizeof(const char *));
        APR_ARRAY_PUSH(argv, const char *) = plan->docker.path;
        apr_array_cat(argv, plan->docker_argv);
        spec.program = plan->docker.path;
        spec.argv = argv;
    }

    double t0 = now_ms();
    if (berth_process_spawn(&proc, &spec, &err, pool) != APR_SUCCESS)
        die(err);
    apr_file_t *in = berth_process_stdin(proc);
    r.out = berth_process_stdout(proc);
    r.lines.have = 0;
    write_line(in, init);
    do
        read_line(&r, reply);
    while (!strstr(reply, "\"id\":1"));
    if (!strstr(reply, "\"result\""))
        die("the fixture refused initialize");
    write_line(in, inited);
    double t = now_ms() - t0;

    /* the fixture exits at the end of stdin, and --rm removes the
     * container before the docker client exits */
    apr_file_close(in);
    if (berth_process_wait(proc, apr_time_from_sec(30), &code) != APR_SUCCESS)
        die("the container did not end after its stdin closed");
    apr_file_remove(plan->cidfile, pool);
    apr_pool_destroy(pool);
    return t;
}

/* ---- start: the run ------------------------------------------------------- */

enum { P_BERTH, P_HAND, P_BARE, P_COUNT };
static const char *path_what[P_COUNT] = {
    "berth: supervisor start -> ready",
    "by hand: the plan's argv",
    "by hand: docker run, no shell",
};

static double start_once(int path, berth_spawnctx_t *ctx,
                         const berth_config_t *cfg,
                         const berth_server_config_t *srv, apr_pool_t *pool)
{
    return path == P_BERTH ? berth_start(ctx, cfg, srv, pool)
                           : hand_start(ctx, cfg, srv, path == P_BARE, pool);
}

static void bench_start(berth_spawnctx_t *ctx, int n, apr_pool_t *pool)
{
    berth_config_t *cfg = load_config(
        isolated_config(json_pack("{s:o}", "fx", fixture_server(NULL))), pool);
    const berth_server_config_t *srv = berth_config_find_server(cfg, "fx");
    berth_plan_t *plan;
    const char *err;
    if (berth_spawnctx_plan(ctx, cfg, srv, "0123456789ab", &plan, &err,
                            pool) != APR_SUCCESS)
        die(err);
    printf("== start to initialized: %d rounds, the paths in turn (ms) ==\n",
           n);
    printf("plan: %s", plan->program);
    for (int i = 1; i < plan->argv->nelts; i++)
        printf(" %s", APR_ARRAY_IDX(plan->argv, i, const char *));
    printf("\n");
    /* without the wrap, the plan's argv is the bare docker run */
    if (plan->wrapped)
        path_what[P_HAND] = apr_psprintf(pool, "by hand: the plan's argv "
                                         "(%s -l)", plan->shell);

    /* warm-up: the resolver, the image in the page cache, the daemon */
    for (int p = 0; p < P_COUNT; p++)
        start_once(p, ctx, cfg, srv, pool);

    double *samples[P_COUNT];
    for (int p = 0; p < P_COUNT; p++)
        samples[p] = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < P_COUNT; k++) {
            int p = (i + k) % P_COUNT;
            samples[p][i] = start_once(p, ctx, cfg, srv, pool);
        }

    double med[P_COUNT];
    printf("%-40s %9s %9s %9s %9s\n", "path", "median", "p90", "min", "max");
    for (int p = 0; p < P_COUNT; p++) {
        med[p] = median(samples[p], n);
        printf("%-40s %9.1f %9.1f %9.1f %9.1f\n", path_what[p], med[p],
               p90(samples[p], n), samples[p][0], samples[p][n - 1]);
    }
    for (int p = P_HAND; p < P_COUNT; p++)
        printf("berth's overhead at the median against %s: %+.1f ms, "
               "%+.1f %%\n", p == P_HAND ? "the plan's argv" : "bare docker",
               med[P_BERTH] - med[p],
               (med[P_BERTH] - med[p]) / med[p] * 100);
    printf("containers left: %d\n\n", containers_left(ctx));
    for (int p = 0; p < P_COUNT; p++)
        free(samples[p]);
}

/* ---- shutdown --------------------------------------------------------------- */

/* Starts SERVERS isolated fixtures under a daemon, waits for all, and
 * returns how long berth_daemon_stop() took (s); *READY gets the start. */
static double daemon_run(berth_spawnctx_t *ctx, int servers, int term_exits,
                         double *ready, apr_pool_t *parent)
{
    apr_pool_t *pool;
    const char *why = NULL;
    berth_supervisor_opts_t o;
    memset(&o, 0, sizeof o); /* no log files; the daemon sets restart */
    apr_pool_create(&pool, parent);
    json_t *list = json_object();
    for (int i = 1; i <= servers; i++) {
        json_t *env = json_pack("{s:s}", "FIXTURE_IGNORE_EOF", "1");
        if (term_exits)
            json_object_set_new(env, "FIXTURE_TERM_EXITS", json_string("1"));
        json_object_set_new(list, apr_psprintf(pool, "s%d", i),
                            fixture_server(env));
    }
    berth_config_t *cfg = load_config(isolated_config(list), pool);
    berth_daemon_t *d = berth_daemon_create(ctx, cfg, &o, pool);

    double t0 = now_ms();
    berth_daemon_start(d);
    for (int i = 0; i < berth_daemon_count(d); i++)
        if (berth_supervisor_wait_ready(berth_daemon_server(d, i),
                                        apr_time_from_sec(120), &why,
                                        pool) != APR_SUCCESS) {
            fprintf(stderr, "docker_bench: server s%d did not start: %s\n",
                    i + 1, why ? why : "timeout");
            exit(1);
        }
    *ready = (now_ms() - t0) / 1e3;
    t0 = now_ms();
    berth_daemon_stop(d);
    double t = (now_ms() - t0) / 1e3;
    apr_pool_destroy(pool);
    return t;
}

static void bench_shutdown(berth_spawnctx_t *ctx, apr_pool_t *pool)
{
    static const int sizes[] = { 1, 8 };
    printf("== berth_daemon_stop of isolated servers, shutdown grace %d s, "
           "stdin end ignored (s) ==\n", GRACE);
    printf("%-8s %-22s", "servers", "SIGTERM (PID 1)");
    for (int r = 1; r <= SHUTDOWN_RUNS; r++)
        printf("  stop#%d", r);
    printf(" %8s %9s %s\n", "median", "ready_in", "containers left");
    for (int term_exits = 1; term_exits >= 0; term_exits--)
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
            double stop[SHUTDOWN_RUNS], ready[SHUTDOWN_RUNS];
            int left = 0;
            printf("%-8d %-22s", sizes[k],
                   term_exits ? "exits (TERM_EXITS)" : "ignored");
            fflush(stdout);
            for (int r = 0; r < SHUTDOWN_RUNS; r++) {
                stop[r] = daemon_run(ctx, sizes[k], term_exits, &ready[r],
                                     pool);
                left += containers_left(ctx);
                printf("  %6.2f", stop[r]);
                fflush(stdout);
            }
            printf(" %8.2f %9.2f %d\n", median(stop, SHUTDOWN_RUNS),
                   median(ready, SHUTDOWN_RUNS), left);
        }
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *pool;
    int n = argc > 1 ? atoi(argv[1]) : 20;
    const char *sections = argc > 2 ? argv[2] : "start,shutdown";
    if (n <= 0) {
        fprintf(stderr, "usage: docker_bench [N] [start,shutdown]\n");
        return 2;
    }
    /* a closed pipe must fail a write, not end the bench */
    signal(SIGPIPE, SIG_IGN);
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&pool, NULL);
    berth_redact_init();
    berth_log_set_level(BERTH_LOG_WARN);
    berth_hostfacts_t *facts;
    berth_hostfacts_real(&facts, pool);
    /* one per process, as in the daemon: docker resolved once */
    berth_spawnctx_t *ctx = berth_spawnctx_create(facts, pool);

    if (strstr(sections, "start"))
        bench_start(ctx, n, pool);
    if (strstr(sections, "shutdown"))
        bench_shutdown(ctx, pool);
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}
