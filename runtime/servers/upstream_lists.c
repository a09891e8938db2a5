/* The initialize handshake and the lists it fetches (tools, resources,
 * resource templates, prompts, following nextCursor), kept in the session
 * and read again when the server says one changed. */
#include "upstream_private.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "berth_version.h"
#include "log.h"
#include "mcpver.h"

static const char *const list_methods[][3] = {
    /* which, method, result member */
    { "tools", "tools/list", "tools" },
    { "resources", "resources/list", "resources" },
    { "resourceTemplates", "resources/templates/list", "resourceTemplates" },
    { "prompts", "prompts/list", "prompts" },
};

typedef struct {
    berth_upstream_t *u;
    apr_pool_t *pool;   /* the thread's own, destroyed as it ends */
    char which[32];
    char method[64];
} refresh_job_t;

static void *APR_THREAD_FUNC refresher(apr_thread_t *t, void *arg)
{
    refresh_job_t *job = arg;
    berth_upstream_t *u = job->u;
    apr_status_t rv = berth_upstream_refresh(u, job->which, u->call_timeout);
    if (rv == APR_SUCCESS && u->cb.on_notification)
        u->cb.on_notification(u->cb.baton, u, job->method, NULL);
    apr_thread_mutex_lock(u->lock);
    u->refreshers--;
    apr_thread_cond_broadcast(u->answered);
    apr_thread_mutex_unlock(u->lock);
    /* the thread's memory goes with it (APR touches nothing of a thread
     * after its function returns) */
    apr_pool_destroy(job->pool);
    free(job);
    /* return, not apr_thread_exit(): its pthread_exit unwinds past
     * AddressSanitizer\'s thread teardown (a false stack report) */
    (void)t;
    return NULL;
}

/* The refresh is a request whose answer the reader thread (which handles
 * list_changed) must read, so it runs on a thread of its own. */
static void start_refresh(berth_upstream_t *u, const char *which,
                          const char *method)
{
    apr_threadattr_t *attr;
    apr_thread_t *t;
    refresh_job_t *job = calloc(1, sizeof *job);
    if (!job)
        return;
    job->u = u;
    apr_cpystrn(job->which, which, sizeof job->which);
    apr_cpystrn(job->method, method, sizeof job->method);
    /* a pool per refresh, not u->pool: a server that sends list_changed
     * for hours must not grow berth by a thread's worth each time */
    if (apr_pool_create(&job->pool, NULL) != APR_SUCCESS) {
        free(job);
        return;
    }
    apr_thread_mutex_lock(u->lock);
    u->refreshers++;
    apr_thread_mutex_unlock(u->lock);
    apr_threadattr_create(&attr, job->pool);
    apr_threadattr_detach_set(attr, 1);
    if (apr_thread_create(&t, attr, refresher, job, job->pool) !=
        APR_SUCCESS) {
        apr_thread_mutex_lock(u->lock);
        u->refreshers--;
        apr_thread_mutex_unlock(u->lock);
        apr_pool_destroy(job->pool);
        free(job);
    }
}

int berth_upstream_list_changed(berth_upstream_t *u, const char *method)
{
    static const char *const changed[][2] = {
        { "notifications/tools/list_changed", "tools" },
        { "notifications/resources/list_changed", "resources" },
        { "notifications/prompts/list_changed", "prompts" },
    };
    for (size_t i = 0; i < sizeof changed / sizeof changed[0]; i++) {
        if (strcmp(method, changed[i][0]) == 0) {
            start_refresh(u, changed[i][1], method);
            return 1;
        }
    }
    return 0;
}

apr_status_t berth_upstream_free_json(void *data)
{
    berth_upstream_t *u = data;
    json_decref(u->lists);
    json_decref(u->init_result);
    u->lists = u->init_result = NULL;
    return APR_SUCCESS;
}

apr_status_t berth_upstream_refresh(berth_upstream_t *u, const char *which,
                                    apr_interval_time_t timeout)
{
    const char *method = NULL, *member = NULL;
    for (size_t i = 0; i < sizeof list_methods / sizeof list_methods[0]; i++)
        if (strcmp(list_methods[i][0], which) == 0) {
            method = list_methods[i][1];
            member = list_methods[i][2];
        }
    if (!method)
        return APR_EINVAL;
    json_t *all = json_array();
    json_t *cursor = NULL;
    apr_status_t rv = APR_SUCCESS;
    /* a server that repeats a cursor must not keep berth here for ever */
    for (int page = 0; page < 1000; page++) {
        json_t *params = json_object();
        if (cursor)
            json_object_set(params, "cursor", cursor);
        json_t *result = NULL, *error = NULL;
        rv = berth_upstream_request(u, method, params, timeout, &result,
                                    &error);
        if (rv != APR_SUCCESS) {
            berth_log(BERTH_LOG_WARN, "server %s: %s failed: %s", u->name,
                      method,
                      json_string_value(json_object_get(error, "message")));
            json_decref(error);
            break;
        }
        json_array_extend(all, json_is_array(json_object_get(result, member))
                                   ? json_object_get(result, member)
                                   : json_array());
        json_t *next = json_object_get(result, "nextCursor");
        int again = json_is_string(next) && *json_string_value(next) &&
                    !(cursor && json_equal(cursor, next));
        json_decref(cursor);
        cursor = again ? json_incref(next) : NULL;
        json_decref(result);
        if (!again)
            break;
    }
    json_decref(cursor);
    if (rv == APR_SUCCESS) {
        apr_thread_mutex_lock(u->lock);
        json_object_set(u->lists, which, all);
        apr_thread_mutex_unlock(u->lock);
    }
    json_decref(all);
    return rv;
}

json_t *berth_upstream_list(berth_upstream_t *u, const char *which)
{
    apr_thread_mutex_lock(u->lock);
    json_t *l = json_object_get(u->lists, which);
    l = l ? json_incref(l) : json_array();
    apr_thread_mutex_unlock(u->lock);
    return l;
}
apr_status_t berth_upstream_initialize(berth_upstream_t *u,
                                       apr_interval_time_t timeout,
                                       const char **error, apr_pool_t *pool)
{
    json_t *caps = json_object();
    if (u->cb.on_request) {
        json_object_set_new(caps, "roots", json_pack("{s:b}", "listChanged",
                                                     1));
        json_object_set_new(caps, "sampling", json_object());
        json_object_set_new(caps, "elicitation", json_object());
    }
    json_t *params = json_pack("{s:s, s:o, s:{s:s, s:s}}", "protocolVersion",
                               BERTH_MCP_LATEST, "capabilities", caps,
                               "clientInfo", "name", "berth", "version",
                               BERTH_VERSION);
    json_t *result = NULL, *err = NULL;
    *error = NULL;
    if (berth_upstream_request(u, "initialize", params, timeout, &result,
                               &err) != APR_SUCCESS) {
        *error = apr_pstrdup(pool, json_string_value(json_object_get(
                                       err, "message")));
        json_decref(err);
        return APR_EGENERAL;
    }
    const char *version = json_string_value(json_object_get(result,
                                                            "protocolVersion"));
    if (!berth_mcp_version_supported(version)) {
        *error = apr_psprintf(pool, "server %s answered with protocol "
                              "version %s, which berth does not speak", u->name,
                              version ? version : "(none)");
        json_decref(result);
        return APR_EGENERAL;
    }
    apr_thread_mutex_lock(u->lock);
    u->protocol = apr_pstrdup(u->pool, version);
    u->init_result = result;
    apr_thread_mutex_unlock(u->lock);
    berth_upstream_notify(u, "notifications/initialized", NULL);

    json_t *scaps = json_object_get(result, "capabilities");
    if (json_object_get(scaps, "tools"))
        berth_upstream_refresh(u, "tools", timeout);
    if (json_object_get(scaps, "resources")) {
        berth_upstream_refresh(u, "resources", timeout);
        berth_upstream_refresh(u, "resourceTemplates", timeout);
    }
    if (json_object_get(scaps, "prompts"))
        berth_upstream_refresh(u, "prompts", timeout);
    return APR_SUCCESS;
}
typedef struct {
    berth_upstream_t *u;
    apr_interval_time_t timeout;
    berth_upstream_initialized_fn done;
    void *baton;
} handshake_t;

static void *APR_THREAD_FUNC handshake(apr_thread_t *t, void *arg)
{
    handshake_t *h = arg;
    apr_pool_t *pool;
    const char *error = NULL;
    /* its own pool: the session's is shared by threads */
    apr_pool_create(&pool, NULL);
    apr_status_t rv = berth_upstream_initialize(h->u, h->timeout, &error,
                                                pool);
    h->done(h->baton, h->u, rv, error);
    apr_pool_destroy(pool);
    free(h);
    /* return, not apr_thread_exit(): its pthread_exit unwinds past
     * AddressSanitizer\'s thread teardown (a false stack report) */
    (void)t;
    return NULL;
}

apr_status_t berth_upstream_initialize_start(berth_upstream_t *u,
                                             apr_interval_time_t timeout,
                                             berth_upstream_initialized_fn done,
                                             void *baton)
{
    handshake_t *h = calloc(1, sizeof *h);
    if (!h)
        return APR_ENOMEM;
    h->u = u;
    h->timeout = timeout;
    h->done = done;
    h->baton = baton;
    apr_status_t rv = apr_thread_create(&u->handshaker, NULL, handshake, h,
                                        u->parent);
    if (rv != APR_SUCCESS) {
        u->handshaker = NULL;
        free(h);
    }
    return rv;
}

void berth_upstream_set_call_timeout(berth_upstream_t *u,
                                     apr_interval_time_t timeout)
{
    if (timeout > 0)
        u->call_timeout = timeout;
}

const char *berth_upstream_protocol(const berth_upstream_t *u)
{
    return u->protocol;
}

json_t *berth_upstream_server_info(berth_upstream_t *u)
{
    apr_thread_mutex_lock(u->lock);
    json_t *r = u->init_result ? json_incref(u->init_result) : json_object();
    apr_thread_mutex_unlock(u->lock);
    return r;
}
