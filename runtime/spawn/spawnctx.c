#include "spawnctx.h"

#include <ctype.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "container.h"
#include "envset.h"
#include "isolation.h"
#include "log.h"
#include "platform.h"

struct berth_spawnctx_t {
    apr_pool_t *pool;
    berth_hostfacts_t *facts;
    berth_loginenv_once_t *login;
    berth_dockerpath_t *resolver;
    berth_hydration_t hydration;
    const char *cid_root;           /* every berth's cidfile folders */
    const char *cid_dir;            /* this process's, below cid_root */
    const char *instance;           /* labels this process's containers */
    apr_thread_mutex_t *lock;       /* guards the docker info cache */
    int info_have;
    apr_time_t info_at;
    berth_docker_info_t info;
};

/* The process's cidfile folder goes with it (only when empty: a container
 * still tracked keeps it, and the next sweep finds it). */
static apr_status_t remove_cid_dir(void *data)
{
    berth_spawnctx_t *c = data;
    apr_pool_t *tmp;
    if (c->cid_dir != c->cid_root &&
        apr_pool_create(&tmp, NULL) == APR_SUCCESS) {
        apr_dir_remove(c->cid_dir, tmp);
        apr_pool_destroy(tmp);
    }
    return APR_SUCCESS;
}

berth_spawnctx_t *berth_spawnctx_create(berth_hostfacts_t *facts,
                                        apr_pool_t *pool)
{
    berth_spawnctx_t *c = apr_pcalloc(pool, sizeof *c);
    apr_pool_create(&c->pool, pool);
    c->facts = facts;
    c->login = berth_loginenv_once_create(pool);
    c->resolver = berth_dockerpath_create(BERTH_DOCKER_FAILURE_TTL, pool);
    apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    const char *why;
    if (berth_hydration_needed(facts, &why)) {
        const berth_loginenv_t *le = berth_loginenv_get(c->login, facts);
        facts->env = berth_hydrate(facts, le, &c->hydration, pool);
        for (int i = 0; i < c->hydration.keys->nelts; i++) {
            const berth_hydrated_key_t *k =
                &APR_ARRAY_IDX(c->hydration.keys, i, berth_hydrated_key_t);
            berth_log(BERTH_LOG_INFO, "hydrated %s from the login shell "
                      "(%lu characters)", k->name, (unsigned long)k->length);
        }
    } else {
        berth_hydrate(facts, NULL, &c->hydration, pool);
    }
    c->cid_root = berth_path_child(facts, berth_state_dir(facts, pool),
                                   "cid", pool);
    c->instance = berth_instance_self(berth_spawnctx_token(pool), pool);
    /* one folder per berth process, named after its instance, so a sweep
     * can delete a dead berth's cidfiles without racing a live one's */
    berth_instance_t self;
    if (berth_instance_parse(c->instance, &self, pool))
        c->cid_dir = berth_path_child(
            facts, c->cid_root,
            apr_psprintf(pool, "%ld-%" APR_INT64_T_FMT "-%s", self.pid,
                         self.started, self.token),
            pool);
    else
        c->cid_dir = c->cid_root;
    apr_pool_cleanup_register(pool, c, remove_cid_dir,
                              apr_pool_cleanup_null);
    return c;
}

const berth_hostfacts_t *berth_spawnctx_facts(berth_spawnctx_t *ctx)
{
    return ctx->facts;
}

const berth_hydration_t *berth_spawnctx_hydration(berth_spawnctx_t *ctx)
{
    return &ctx->hydration;
}

berth_dockerpath_t *berth_spawnctx_resolver(berth_spawnctx_t *ctx)
{
    return ctx->resolver;
}

const berth_loginenv_t *berth_spawnctx_login(berth_spawnctx_t *ctx)
{
    return berth_loginenv_get(ctx->login, ctx->facts);
}

const char *berth_spawnctx_instance(berth_spawnctx_t *ctx)
{
    return ctx->instance;
}

const char *berth_spawnctx_cid_dir(berth_spawnctx_t *ctx)
{
    return ctx->cid_dir;
}

const char *berth_spawnctx_cid_root(berth_spawnctx_t *ctx)
{
    return ctx->cid_root;
}

const char *berth_spawnctx_token(apr_pool_t *pool)
{
    unsigned char r[6];
    if (apr_generate_random_bytes(r, sizeof r) != APR_SUCCESS)
        memset(r, 0, sizeof r);
    return apr_psprintf(pool, "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
                        r[3], r[4], r[5]);
}

static void fill_in(berth_spawnctx_t *ctx, const berth_config_t *cfg,
                    int need_docker, berth_plan_in_t *in)
{
    const berth_hostfacts_t *f = ctx->facts;
    memset(in, 0, sizeof *in);
    in->facts = f;
    in->cfg = cfg;
    in->cid_dir = ctx->cid_dir;
    if (need_docker)
        in->docker = berth_dockerpath_resolve(ctx->resolver, f);
    /* The login PATH only matters when PATH lacks every tool folder. */
    if (f->os != BERTH_OS_WINDOWS &&
        !berth_envset_path_has_tool_dir(f, berth_env_get(f, f->env, "PATH")))
        in->login = berth_loginenv_get(ctx->login, f);
    else
        in->login = berth_loginenv_peek(ctx->login);
}

apr_status_t berth_spawnctx_plan(berth_spawnctx_t *ctx,
                                 const berth_config_t *cfg,
                                 const berth_server_config_t *srv,
                                 const char *start_token, berth_plan_t **plan,
                                 const char **error, apr_pool_t *pool)
{
    berth_plan_in_t in;
    int docker = srv->transport == BERTH_TRANSPORT_STDIO &&
                 (berth_isolation_is_docker_command(srv->command) ||
                  berth_isolation_effective(cfg, srv, NULL) ==
                      BERTH_ISOLATION_DOCKER);
    fill_in(ctx, cfg, docker, &in);
    in.start_token = start_token;
    in.instance = ctx->instance;
    return berth_plan_build(plan, srv, &in, error, pool);
}

apr_status_t berth_spawnctx_docker_exec(berth_spawnctx_t *ctx,
                                        const berth_config_t *cfg,
                                        const apr_array_header_t *args,
                                        apr_interval_time_t timeout,
                                        char **out, const char **error,
                                        apr_pool_t *pool)
{
    berth_plan_in_t in;
    berth_plan_t *plan;
    berth_capture_t cap;
    char errbuf[128];
    *out = "";
    fill_in(ctx, cfg, 1, &in);
    in.instance = ctx->instance;
    if (!in.docker.path && !in.login) {
        *error = "docker was not found";
        return APR_ENOENT;
    }
    if (berth_plan_docker_command(&plan, args, &in, pool) != APR_SUCCESS) {
        *error = "could not plan the docker command";
        return APR_EGENERAL;
    }
    apr_array_header_t *argv = apr_array_copy(pool, plan->argv);
    APR_ARRAY_PUSH(argv, const char *) = NULL;
    apr_status_t rv = ctx->facts->capture(
        ctx->facts, (const char *const *)argv->elts, plan->command_line,
        plan->env, timeout, &cap, pool);
    const char *what = args->nelts ? APR_ARRAY_IDX(args, 0, const char *)
                                   : "";
    if (rv != APR_SUCCESS) {
        *error = apr_psprintf(pool, "could not run docker: %s",
                              apr_strerror(rv, errbuf, sizeof errbuf));
        return rv;
    }
    *out = cap.out ? cap.out : "";
    if (cap.timed_out) {
        *error = apr_psprintf(pool, "docker %s did not answer within %g s",
                              what, (double)timeout / APR_USEC_PER_SEC);
        return APR_TIMEUP;
    }
    if (!cap.exited || cap.status != 0) {
        *error = apr_psprintf(pool, "docker %s failed (exit status %d)", what,
                              cap.status);
        return APR_EGENERAL;
    }
    *error = NULL;
    return APR_SUCCESS;
}

berth_docker_info_t berth_spawnctx_docker_info(berth_spawnctx_t *ctx,
                                               const berth_config_t *cfg)
{
    berth_docker_info_t res;
    apr_thread_mutex_lock(ctx->lock);
    apr_time_t now = ctx->facts->now(ctx->facts);
    if (ctx->info_have &&
        now - ctx->info_at < (ctx->info.available ? BERTH_DOCKER_INFO_OK_TTL
                                                  : BERTH_DOCKER_INFO_FAIL_TTL)) {
        res = ctx->info;
        res.cached = 1;
        apr_thread_mutex_unlock(ctx->lock);
        return res;
    }
    apr_thread_mutex_unlock(ctx->lock);

    apr_pool_t *scratch;
    /* unparented: status readers on other threads ask at the same time,
     * and ctx->pool is touched only under the lock */
    apr_pool_create(&scratch, NULL);
    memset(&res, 0, sizeof res);
    apr_array_header_t *args = apr_array_make(scratch, 3,
                                              sizeof(const char *));
    APR_ARRAY_PUSH(args, const char *) = "info";
    APR_ARRAY_PUSH(args, const char *) = "--format";
    APR_ARRAY_PUSH(args, const char *) = "{{.ServerVersion}}";
    char *out;
    const char *err;
    apr_status_t rv = berth_spawnctx_docker_exec(
        ctx, cfg, args, BERTH_DOCKER_INFO_TIMEOUT, &out, &err, scratch);
    if (rv == APR_TIMEUP) {
        res.error = "docker info did not answer within 3 s";
    } else if (rv == APR_EGENERAL && strncmp(err, "docker info failed", 18) == 0) {
        res.error = apr_pstrcat(scratch, err, ": the daemon is not reachable",
                                NULL);
    } else if (rv != APR_SUCCESS) {
        res.error = err;
    } else {
        /* the version is the last non-empty line (rc banners first) */
        berth_capture_t cap;
        memset(&cap, 0, sizeof cap);
        cap.out = out;
        cap.out_len = strlen(out);
        const char *line = berth_capture_last_line(&cap);
        if (*line) {
            res.available = 1;
            res.server_version = line;
        } else {
            res.error = "docker info printed no server version";
        }
    }
    apr_thread_mutex_lock(ctx->lock);
    if (res.error)
        res.error = apr_pstrdup(ctx->pool, res.error);
    if (res.server_version)
        res.server_version = apr_pstrdup(ctx->pool, res.server_version);
    ctx->info = res;
    ctx->info_at = now;
    ctx->info_have = 1;
    apr_thread_mutex_unlock(ctx->lock);
    apr_pool_destroy(scratch);
    return res;
}
