/* The Windows service backend: to be written (the SCM's ServiceMain,
 * control handler, install with CreateServiceW). Until then every action
 * says so. */
#include "backend.h"

static berth_svc_scope_t default_scope(const berth_hostfacts_t *facts)
{
    (void)facts;
    return BERTH_SVC_SCOPE_SYSTEM;
}

static void locate(berth_svc_t *svc, apr_pool_t *pool)
{
    (void)pool;
    svc->config = "C:\\ProgramData\\berth\\config.json";
    svc->state_dir = "C:\\ProgramData\\berth";
    svc->unit = "berth";
    svc->log = "the Application event log";
}

static apr_status_t not_yet(berth_svc_t *svc, apr_pool_t *pool)
{
    (void)pool;
    fprintf(svc->err, "berth service: not built for Windows yet\n");
    return APR_ENOTIMPL;
}

static void query(berth_svc_t *svc, berth_svc_info_t *info, apr_pool_t *pool)
{
    (void)svc;
    (void)pool;
    info->manager = "Windows service manager";
    info->state = "not built yet";
}

const berth_svc_backend_t berth_svc_backend = {
    "windows", 1u << BERTH_SVC_SCOPE_SYSTEM, default_scope, locate, not_yet,
    not_yet, not_yet, not_yet, query, NULL, NULL,
};
