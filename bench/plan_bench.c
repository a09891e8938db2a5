/* How long planning one server takes with a warm resolver cache, and proof
 * that it forks nothing: every capture (the only way the spawn core starts a
 * process) is counted. Usage: plan_bench CONFIG [ITERATIONS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "bench_util.h"
#include "config.h"
#include "redact.h"
#include "spawnctx.h"

static int captures;
static apr_status_t (*real_capture)(const berth_hostfacts_t *,
                                    const char *const *, const char *,
                                    const apr_array_header_t *,
                                    apr_interval_time_t, berth_capture_t *,
                                    apr_pool_t *);

static apr_status_t counting_capture(const berth_hostfacts_t *f,
                                     const char *const *argv,
                                     const char *command_line,
                                     const apr_array_header_t *env,
                                     apr_interval_time_t timeout,
                                     berth_capture_t *out, apr_pool_t *pool)
{
    captures++;
    return real_capture(f, argv, command_line, env, timeout, out, pool);
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *pool;
    berth_config_t *cfg;
    berth_hostfacts_t *facts;
    int n = argc > 2 ? atoi(argv[2]) : 20000;
    if (argc < 2) {
        fprintf(stderr, "usage: plan_bench CONFIG [ITERATIONS]\n");
        return 2;
    }
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&pool, NULL);
    berth_redact_init();
    apr_array_header_t *diags = apr_array_make(pool, 4, sizeof(berth_diag_t));
    if (berth_config_load(argv[1], &cfg, diags, pool) != APR_SUCCESS) {
        fprintf(stderr, "invalid config %s\n", argv[1]);
        return 1;
    }
    berth_hostfacts_real(&facts, pool);
    real_capture = facts->capture;
    facts->capture = counting_capture;
    berth_spawnctx_t *ctx = berth_spawnctx_create(facts, pool);
    double *samples = malloc(sizeof(double) * (size_t)n);

    printf("%-14s %-16s %9s %9s %9s %7s\n", "server", "mode", "median_us",
           "p99_us", "mean_us", "forks");
    for (int s = 0; s < cfg->servers->nelts; s++) {
        const berth_server_config_t *srv =
            APR_ARRAY_IDX(cfg->servers, s, berth_server_config_t *);
        apr_pool_t *iter;
        berth_plan_t *plan;
        const char *err;
        apr_pool_create(&iter, pool);
        /* warm-up: resolves docker and captures the login shell if needed */
        if (berth_spawnctx_plan(ctx, cfg, srv, "warm", &plan, &err, iter) !=
            APR_SUCCESS) {
            printf("%-14s (no plan: %s)\n", srv->name, err);
            continue;
        }
        const char *mode = berth_plan_mode_name(plan->mode);
        int before = captures;
        double total = 0;
        for (int i = 0; i < n; i++) {
            apr_pool_clear(iter);
            double t0 = bench_now_us();
            berth_spawnctx_plan(ctx, cfg, srv, "0123456789ab", &plan, &err,
                                iter);
            samples[i] = bench_now_us() - t0;
            total += samples[i];
        }
        qsort(samples, (size_t)n, sizeof(double), bench_cmp_double);
        printf("%-14s %-16s %9.2f %9.2f %9.2f %7d\n", srv->name, mode,
               samples[n / 2], samples[(size_t)n * 99 / 100], total / n,
               captures - before);
        apr_pool_destroy(iter);
    }
    free(samples);
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}
