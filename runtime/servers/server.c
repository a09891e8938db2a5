#include "server.h"

#include "supervisor.h"

const berth_server_config_t *berth_server_config(berth_server_t s)
{
    return s.ops->config(s.self);
}

berth_upstream_t *berth_server_acquire(berth_server_t s, const char **why,
                                       apr_pool_t *pool)
{
    return s.ops->acquire(s.self, why, pool);
}

void berth_server_release(berth_server_t s, berth_upstream_t *u)
{
    s.ops->release(s.self, u);
}

int berth_server_await_start(berth_server_t s, apr_interval_time_t patience,
                             apr_time_t until)
{
    return s.ops->await_start(s.self, patience, until);
}

static const berth_server_config_t *sv_config(void *self)
{
    return berth_supervisor_config(self);
}

static berth_upstream_t *sv_acquire(void *self, const char **why,
                                    apr_pool_t *pool)
{
    return berth_supervisor_acquire(self, why, pool);
}

static void sv_release(void *self, berth_upstream_t *u)
{
    berth_supervisor_release(self, u);
}

static int sv_await_start(void *self, apr_interval_time_t patience,
                          apr_time_t until)
{
    return berth_supervisor_await_start(self, patience, until);
}

static const berth_server_ops_t k_supervised = { sv_config, sv_acquire,
                                                 sv_release, sv_await_start };

berth_server_t berth_server_of(berth_supervisor_t *sv)
{
    berth_server_t s = { &k_supervised, sv };
    return s;
}
