/* The roots berth gives its servers when one asks roots/list outside a
 * call (filesystem servers ask as soon as they are initialized, before any
 * client is there): those of the most recent client that declared roots,
 * which berth asks itself, else the configured "roots", else none. A
 * request inside a call from a client with roots goes to that client
 * (hub.c). When what berth would answer changes, every server hears
 * notifications/roots/list_changed. docs/http.md, "Roots". */
#include "hub_int.h"

#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "jsonrpc.h"
#include "log.h"

/* Lock held: what a server asking now gets (a new reference). */
static json_t *current(berth_hub_t *h)
{
    json_t *r = h->roots_client ? h->roots_client
                : h->roots_config ? h->roots_config
                                  : NULL;
    return r ? json_incref(r) : json_array();
}

/* Tells every server that is up that its roots changed. Lock not held. */
static void tell_servers(berth_hub_t *h)
{
    apr_pool_t *p;
    apr_pool_create(&p, NULL);
    apr_array_header_t *all = berth_router_servers(h->router, p);
    for (int i = 0; i < all->nelts; i++) {
        berth_server_t sv = APR_ARRAY_IDX(all, i, berth_server_t);
        berth_upstream_t *u = berth_server_acquire(sv, NULL, p);
        if (u) {
            berth_upstream_notify(u, "notifications/roots/list_changed",
                                  NULL);
            berth_server_release(sv, u);
        }
    }
    apr_pool_destroy(p);
}

/* Sets *SLOT to ROOTS (taken; NULL: none) and tells the servers when what
 * they get changed. Lock not held. */
static void replace(berth_hub_t *h, json_t **slot, json_t *roots)
{
    apr_thread_mutex_lock(h->lock);
    json_t *before = current(h);
    json_decref(*slot);
    *slot = roots;
    json_t *after = current(h);
    apr_thread_mutex_unlock(h->lock);
    int changed = !json_equal(before, after);
    json_decref(before);
    json_decref(after);
    if (changed)
        tell_servers(h);
}

json_t *hub_roots_answer(berth_hub_t *h)
{
    return json_pack("{s:o}", "roots", current(h));
}

void hub_roots_ask(berth_hub_t *h, berth_client_t *c)
{
    unsigned char r[4];
    if (apr_generate_random_bytes(r, sizeof r) != APR_SUCCESS)
        memset(r, 0, sizeof r);
    apr_thread_mutex_lock(h->lock);
    if (!c->closed && json_object_get(c->caps, "roots")) {
        /* one at a time: a newer question replaces an unanswered one */
        apr_snprintf(c->roots_ask, sizeof c->roots_ask,
                     "berth-roots-%lu-%02x%02x%02x%02x", ++h->next_id, r[0],
                     r[1], r[2], r[3]);
        hub_enqueue(h, c, json_pack("{s:s, s:s, s:s}", "jsonrpc", "2.0",
                                    "id", c->roots_ask, "method",
                                    "roots/list"));
    }
    apr_thread_mutex_unlock(h->lock);
}

/* The client's roots as berth keeps them: an array of objects with a
 * string uri (a new reference), or NULL when RESULT is not such. */
static json_t *valid_roots(json_t *result)
{
    json_t *roots = json_object_get(result, "roots");
    size_t i;
    json_t *root;
    if (!json_is_array(roots))
        return NULL;
    json_array_foreach(roots, i, root)
        if (!json_is_string(json_object_get(root, "uri")))
            return NULL;
    return json_deep_copy(roots);
}

int hub_roots_take(berth_hub_t *h, berth_client_t *c, json_t *msg)
{
    const char *id = json_string_value(json_object_get(msg, "id"));
    apr_thread_mutex_lock(h->lock);
    int ours = id && c->roots_ask[0] && strcmp(id, c->roots_ask) == 0;
    if (ours)
        c->roots_ask[0] = '\0';
    apr_thread_mutex_unlock(h->lock);
    if (!ours)
        return 0;
    json_t *roots = valid_roots(json_object_get(msg, "result"));
    if (roots)
        replace(h, &h->roots_client, roots);
    else
        berth_log(BERTH_LOG_DEBUG, "a client answered berth's roots/list "
                  "without a list of roots; its roots are not used");
    return 1;
}

void berth_hub_set_roots(berth_hub_t *h, const apr_array_header_t *uris)
{
    json_t *roots = NULL;
    if (uris && uris->nelts) {
        roots = json_array();
        for (int i = 0; i < uris->nelts; i++)
            json_array_append_new(roots, json_pack("{s:s}", "uri",
                                                   APR_ARRAY_IDX(
                                                       uris, i,
                                                       const char *)));
    }
    replace(h, &h->roots_config, roots);
}
