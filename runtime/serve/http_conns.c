/* The HTTP front's connections: how many may be open (in all, and from
 * one client address), which one goes when a new one would pass a limit
 * (the one idle the longest), and the read timeout: a connection has
 * http.read_timeout from its opening, or from its last answer, to deliver
 * a whole request, headers and body. Idle means no request being handled:
 * an open keep-alive connection, one sending its headers or its body.
 *
 * MHD tells of each connection (NOTIFY_CONNECTION) and asks about each new
 * one before it is set up (APC); a connection to drop is shut down, not
 * closed, so MHD closes it on its own thread and its descriptor stays
 * valid until MHD says it ended (its CLOSED comes before its close). */
#include "http_int.h"

#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_thread_mutex.h>

#include "log.h"
#include "platform.h"

typedef struct conn_t conn_t;

struct conn_t {
    conn_t *prev, *next;         /* in the idle list, or not (NULL) */
    conn_t *all_prev, *all_next; /* every connection */
    MHD_socket fd;
    unsigned char addr[16];      /* the client's address, without port */
    size_t alen;
    apr_time_t idle_since;       /* opened, or its last answer */
    int idle;
    int dropped;                 /* shut down: on its way out */
    volatile apr_uint32_t suspended; /* without the lock: 1 -> 0 once */
    struct MHD_Connection *conn;
};

struct berth_http_conns_t {
    berth_http_conns_opts_t o;
    apr_thread_mutex_t *lock;
    conn_t idle;                 /* ring, idle the longest first */
    conn_t all;                  /* ring */
    unsigned open;               /* not dropped */
    int planned;                 /* the timer has a sweep planned */
    berth_http_streams_t *timer;
    void (*kick)(void *);
    void *kick_baton;
    unsigned long dropped, refused;
    apr_time_t said;             /* when the log last told of drops */
};

berth_http_conns_t *berth_http_conns_create(const berth_http_conns_opts_t *o,
                                            apr_pool_t *pool)
{
    berth_http_conns_t *t = apr_pcalloc(pool, sizeof *t);
    t->o = *o;
    apr_thread_mutex_create(&t->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    t->idle.prev = t->idle.next = &t->idle;
    t->all.all_prev = t->all.all_next = &t->all;
    return t;
}

void berth_http_conns_set_timer(berth_http_conns_t *t,
                                berth_http_streams_t *st)
{
    t->timer = st;
}

/* Lock held. */
static void idle_out(conn_t *c)
{
    if (!c->prev)
        return;
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

/* Lock held: C idle from now, at the end of the list. 1 when the timer
 * must be told: no sweep was planned. */
static int idle_in(berth_http_conns_t *t, conn_t *c)
{
    idle_out(c);
    c->idle = 1;
    c->idle_since = berth_platform_clock();
    c->prev = t->idle.prev;
    c->next = &t->idle;
    t->idle.prev->next = c;
    t->idle.prev = c;
    if (t->planned)
        return 0;
    t->planned = 1;
    return 1;
}

/* Lock held: C goes (shut down; MHD closes it and says so). */
static void drop(berth_http_conns_t *t, conn_t *c)
{
    idle_out(c);
    c->dropped = 1;
    t->open--;
    berth_platform_socket_shutdown(c->fd);
}

/* Lock held: the connection idle the longest, from ADDR when given. */
static conn_t *oldest_idle(berth_http_conns_t *t, const unsigned char *addr,
                           size_t alen)
{
    for (conn_t *c = t->idle.next; c != &t->idle; c = c->next)
        if (!addr || (c->alen == alen && memcmp(c->addr, addr, alen) == 0))
            return c;
    return NULL;
}

/* Lock held: the open connections from ADDR. */
static unsigned from_addr(berth_http_conns_t *t, const unsigned char *addr,
                          size_t alen)
{
    unsigned n = 0;
    for (conn_t *c = t->all.all_next; c != &t->all; c = c->all_next)
        if (!c->dropped && c->alen == alen &&
            memcmp(c->addr, addr, alen) == 0)
            n++;
    return n;
}

/* Lock held: C (when there is one) goes for a new connection. */
static int make_room(berth_http_conns_t *t, conn_t *c)
{
    if (!c)
        return 0;
    drop(t, c);
    t->dropped++;
    return 1;
}

/* Drops and refusals reach the log once a minute at most: a flood would
 * otherwise write a line per connection. */
static void say_limits(berth_http_conns_t *t)
{
    apr_time_t now = berth_platform_clock();
    apr_thread_mutex_lock(t->lock);
    int say = berth_log_due(&t->said, now);
    unsigned long dropped = t->dropped, refused = t->refused;
    apr_thread_mutex_unlock(t->lock);
    if (say)
        berth_log(BERTH_LOG_WARN, "http: at a connection limit "
                  "(http.max_connections %u, http.max_connections_per_address "
                  "%u): %lu idle connections closed for new ones, %lu new "
                  "ones refused so far", t->o.max, t->o.max_per_address,
                  dropped, refused);
}

enum MHD_Result berth_http_conns_accept(void *cls, const struct sockaddr *sa,
                                        socklen_t salen)
{
    berth_http_conns_t *t = cls;
    unsigned char addr[16];
    size_t alen = berth_platform_sockaddr_host(sa, addr);
    (void)salen;
    int full = 0, ok = 1;
    apr_thread_mutex_lock(t->lock);
    if (from_addr(t, addr, alen) >= t->o.max_per_address) {
        full = 1;
        ok = make_room(t, oldest_idle(t, addr, alen));
    }
    if (ok && t->open >= t->o.max) {
        full = 1;
        ok = make_room(t, oldest_idle(t, NULL, 0));
    }
    if (!ok)
        t->refused++;
    apr_thread_mutex_unlock(t->lock);
    if (full)
        say_limits(t);
    return ok ? MHD_YES : MHD_NO;
}

/* A connection MHD set up: counted, idle until its first request. */
static void opened(berth_http_conns_t *t, struct MHD_Connection *conn,
                   void **socket_context)
{
    conn_t *c = calloc(1, sizeof *c);
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *ca =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    *socket_context = c;
    if (!c)
        return;
    c->fd = fd ? fd->connect_fd : MHD_INVALID_SOCKET;
    c->conn = conn;
    c->alen = ca ? berth_platform_sockaddr_host(ca->client_addr, c->addr) : 0;
    apr_thread_mutex_lock(t->lock);
    c->all_prev = t->all.all_prev;
    c->all_next = &t->all;
    t->all.all_prev->all_next = c;
    t->all.all_prev = c;
    t->open++;
    int tell = idle_in(t, c);
    apr_thread_mutex_unlock(t->lock);
    if (tell && t->timer)
        berth_http_streams_sweep_soon(t->timer);
}

void berth_http_conns_notify(void *cls, struct MHD_Connection *conn,
                             void **socket_context,
                             enum MHD_ConnectionNotificationCode code)
{
    berth_http_conns_t *t = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        opened(t, conn, socket_context);
        return;
    }
    conn_t *c = *socket_context;
    if (!c)
        return;
    apr_thread_mutex_lock(t->lock);
    idle_out(c);
    c->all_prev->all_next = c->all_next;
    c->all_next->all_prev = c->all_prev;
    if (!c->dropped)
        t->open--;
    apr_thread_mutex_unlock(t->lock);
    free(c);
    *socket_context = NULL;
}

static conn_t *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

void berth_http_conns_busy(berth_http_conns_t *t, struct MHD_Connection *conn)
{
    conn_t *c = conn_of(conn);
    if (!c)
        return;
    apr_thread_mutex_lock(t->lock);
    idle_out(c);
    c->idle = 0;
    apr_thread_mutex_unlock(t->lock);
}

void berth_http_conns_idle(berth_http_conns_t *t, struct MHD_Connection *conn)
{
    conn_t *c = conn_of(conn);
    if (!c)
        return;
    apr_thread_mutex_lock(t->lock);
    int tell = !c->dropped && idle_in(t, c);
    apr_thread_mutex_unlock(t->lock);
    if (tell && t->timer)
        berth_http_streams_sweep_soon(t->timer);
}

apr_interval_time_t berth_http_conns_sweep(berth_http_conns_t *t)
{
    apr_time_t now = berth_platform_clock();
    apr_interval_time_t next = 0;
    apr_thread_mutex_lock(t->lock);
    while (t->idle.next != &t->idle) {
        conn_t *c = t->idle.next;
        if (now - c->idle_since < t->o.read_timeout) {
            next = c->idle_since + t->o.read_timeout - now;
            break;
        }
        drop(t, c);
    }
    t->planned = next != 0;
    apr_thread_mutex_unlock(t->lock);
    return next;
}

/* The suspended flag is an atomic, not under the lock: a resumption is on
 * the path of every answer a worker gives, and the loop holds the lock
 * meanwhile for its own bookkeeping. Only the loop's thread suspends (in
 * MHD's callbacks); whoever clears the flag resumes, once. */
void berth_http_conns_suspend(berth_http_conns_t *t,
                              struct MHD_Connection *conn)
{
    conn_t *c = conn_of(conn);
    (void)t;
    if (c)
        apr_atomic_set32(&c->suspended, 1);
    MHD_suspend_connection(conn);
}

void berth_http_conns_resume(berth_http_conns_t *t,
                             struct MHD_Connection *conn, int kick)
{
    conn_t *c = conn_of(conn);
    if (c && apr_atomic_cas32(&c->suspended, 0, 1) != 1)
        return;
    MHD_resume_connection(conn);
    if (kick && t->kick)
        t->kick(t->kick_baton);
}

void berth_http_conns_resume_all(berth_http_conns_t *t)
{
    apr_thread_mutex_lock(t->lock);
    for (conn_t *c = t->all.all_next; c != &t->all; c = c->all_next)
        if (apr_atomic_cas32(&c->suspended, 0, 1) == 1)
            MHD_resume_connection(c->conn);
    apr_thread_mutex_unlock(t->lock);
    if (t->kick)
        t->kick(t->kick_baton);
}

void berth_http_conns_set_kick(berth_http_conns_t *t, void (*kick)(void *),
                               void *baton)
{
    t->kick = kick;
    t->kick_baton = baton;
}
