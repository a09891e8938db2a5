/* The launchd backend: a LaunchAgent, ~/Library/LaunchAgents/io.berth.plist
 * (made from berth.plist.in beside this file), loaded into the user's GUI
 * domain with launchctl bootstrap gui/<uid>. There is no system scope: a
 * LaunchDaemon runs without the user's docker (Docker Desktop, colima and
 * OrbStack all live in the user's session). */
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "backend.h"
#include "platform.h"
#include "service_files.h"

#define LABEL "io.berth"

static berth_svc_scope_t default_scope(const berth_hostfacts_t *facts)
{
    (void)facts;
    return BERTH_SVC_SCOPE_USER;
}

static const char *home(const berth_svc_t *svc)
{
    return svc->facts->home ? svc->facts->home : "";
}

static const char *log_dir(const berth_svc_t *svc, apr_pool_t *pool)
{
    return apr_pstrcat(pool, home(svc), "/Library/Logs/berth", NULL);
}

static void locate(berth_svc_t *svc, apr_pool_t *pool)
{
    svc->config = apr_pstrcat(pool, home(svc), "/Library/Application Support/"
                              "berth/config.json", NULL);
    svc->state_dir = berth_state_dir(svc->facts, pool);
    svc->unit = apr_pstrcat(pool, home(svc), "/Library/LaunchAgents/" LABEL
                            ".plist", NULL);
    svc->log = apr_pstrcat(pool, log_dir(svc, pool), "/berth.log; server "
                           "logs in ", svc->state_dir, "/logs", NULL);
}

static const char *domain(apr_pool_t *pool)
{
    return apr_psprintf(pool, "gui/%lu", (unsigned long)getuid());
}

static const char *target(apr_pool_t *pool)
{
    return apr_pstrcat(pool, domain(pool), "/" LABEL, NULL);
}

static int launchctl(berth_svc_t *svc, const char *verb, const char *a,
                     const char *b, apr_pool_t *pool)
{
    const char *argv[] = { "/bin/launchctl", verb, a, b, NULL };
    return berth_svc_exec(svc, argv, 0, NULL, pool);
}

static int loaded(berth_svc_t *svc, const char **out, apr_pool_t *pool)
{
    berth_capture_t res;
    const char *argv[] = { "/bin/launchctl", "print", target(pool), NULL };
    if (berth_platform_run(svc->facts, argv, apr_time_from_sec(10), &res,
                           pool) != APR_SUCCESS || !res.exited)
        return 0;
    if (out)
        *out = res.out;
    return res.status == 0;
}

static apr_status_t bootstrap(berth_svc_t *svc, apr_pool_t *pool)
{
    if (loaded(svc, NULL, pool))
        return APR_SUCCESS;
    return launchctl(svc, "bootstrap", domain(pool), svc->unit, pool) == 0
               ? APR_SUCCESS : APR_EGENERAL;
}

static apr_status_t bootout(berth_svc_t *svc, apr_pool_t *pool)
{
    if (!loaded(svc, NULL, pool))
        return APR_SUCCESS;
    return launchctl(svc, "bootout", target(pool), NULL, pool) == 0
               ? APR_SUCCESS : APR_EGENERAL;
}

static apr_status_t install(berth_svc_t *svc, apr_pool_t *pool)
{
    const char *why = NULL;
    const char *logs = log_dir(svc, pool);
    const char *text = berth_svc_launchd_plist(LABEL, svc->exe, svc->config,
                                               logs, &why, pool);
    if (!text) {
        fprintf(svc->err, "berth service: cannot make the plist: %s\n", why);
        return APR_EINVAL;
    }
    apr_status_t rv = apr_dir_make_recursive(logs, APR_FPROT_OS_DEFAULT,
                                             pool);
    if (rv == APR_SUCCESS)
        rv = berth_svc_write_file(svc, svc->unit, text, BERTH_SVC_FILE_PERMS, pool);
    if (rv == APR_SUCCESS)
        rv = berth_svc_ensure_config(svc, pool);
    if (rv != APR_SUCCESS)
        return rv;
    /* a loaded agent keeps its old plist until it is booted out */
    if (bootout(svc, pool) != APR_SUCCESS)
        return APR_EGENERAL;
    if (svc->start && bootstrap(svc, pool) != APR_SUCCESS)
        return APR_EGENERAL;
    fprintf(svc->out, "berth is installed as a LaunchAgent%s; config %s\n"
            "  berth service status   how it is\n",
            svc->start ? " and running" : " (loaded at your next login: "
            "--no-start)", svc->config);
    return APR_SUCCESS;
}

static apr_status_t uninstall(berth_svc_t *svc, apr_pool_t *pool)
{
    apr_status_t rv = bootout(svc, pool);
    if (rv == APR_SUCCESS)
        rv = berth_svc_remove_file(svc, svc->unit, pool);
    if (rv == APR_SUCCESS)
        fprintf(svc->out, "berth's LaunchAgent is removed; its config %s and "
                "logs stay\n", svc->config);
    return rv;
}

static apr_status_t start(berth_svc_t *svc, apr_pool_t *pool)
{
    struct stat st;
    if (stat(svc->unit, &st) != 0) {
        fprintf(svc->err, "berth service: no %s: berth service install "
                "first\n", svc->unit);
        return APR_ENOENT;
    }
    apr_status_t rv = bootstrap(svc, pool);
    if (rv == APR_SUCCESS &&
        launchctl(svc, "kickstart", target(pool), NULL, pool) != 0)
        rv = APR_EGENERAL;
    return rv;
}

/* A LaunchAgent with KeepAlive comes back when it is merely killed: stop
 * is bootout, and start bootstraps it again. */
static apr_status_t stop(berth_svc_t *svc, apr_pool_t *pool)
{
    return bootout(svc, pool);
}

/* The value after "KEY = " in launchctl print's output. */
static const char *print_value(const char *out, const char *key,
                               apr_pool_t *pool)
{
    const char *k = apr_pstrcat(pool, "\t", key, " = ", NULL);
    const char *p = out ? strstr(out, k) : NULL;
    if (!p)
        return NULL;
    p += strlen(k);
    return apr_pstrndup(pool, p, strcspn(p, "\n"));
}

static void query(berth_svc_t *svc, berth_svc_info_t *info, apr_pool_t *pool)
{
    struct stat st;
    const char *out = NULL;
    info->manager = apr_psprintf(pool, "launchd (%s)", domain(pool));
    info->installed = stat(svc->unit, &st) == 0;
    if (!loaded(svc, &out, pool)) {
        info->state = info->installed ? "not loaded" : "";
        return;
    }
    const char *state = print_value(out, "state", pool);
    const char *pid = print_value(out, "pid", pool);
    const char *last = print_value(out, "last exit code", pool);
    info->running = state && strcmp(state, "running") == 0;
    info->state = apr_psprintf(pool, "loaded, %s%s%s%s%s",
                               state ? state : "state unknown",
                               pid ? ", pid " : "", pid ? pid : "",
                               last ? ", last exit " : "", last ? last : "");
}

const berth_svc_backend_t berth_svc_backend = {
    .name = "launchd",
    .scopes = 1u << BERTH_SVC_SCOPE_USER,
    .default_scope = default_scope,
    .locate = locate,
    .install = install,
    .uninstall = uninstall,
    .start = start,
    .stop = stop,
    .query = query,
    .run = NULL,         /* launchd runs berth serve itself */
    .serve_hooks = NULL, /* and speaks no readiness protocol */
};
