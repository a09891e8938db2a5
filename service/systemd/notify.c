/* systemd's readiness protocol for berth serve (sd_notify(3)): datagrams
 * of KEY=VALUE lines to the socket in $NOTIFY_SOCKET. READY=1 once berth
 * listens, STATUS= its servers' health, RELOADING=1 / READY=1 around a
 * reload, STOPPING=1 when it stops. Sent with MSG_DONTWAIT: a busy manager
 * never holds berth up. */
#include "systemd.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <apr_strings.h>

#include "log.h"

typedef struct {
    int fd;
    struct sockaddr_un addr;
    socklen_t len;
} notifier_t;

static void send_text(notifier_t *n, const char *text)
{
    ssize_t r;
    do
        r = sendto(n->fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL,
                   (const struct sockaddr *)&n->addr, n->len);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        berth_log(BERTH_LOG_DEBUG, "systemd notify: %s", strerror(errno));
}

/* A STATUS= value on one line. */
static const char *one_line(const char *text, apr_pool_t *pool)
{
    char *s = apr_pstrdup(pool, text ? text : "");
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return s;
}

static void on_event(void *baton, berth_serve_event_t ev, const char *text)
{
    notifier_t *n = baton;
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    const char *t = one_line(text, pool);
    switch (ev) {
    case BERTH_SERVE_READY:
        send_text(n, apr_pstrcat(pool, "READY=1\nSTATUS=serving at ", t,
                                 NULL));
        break;
    case BERTH_SERVE_RELOADING:
        send_text(n, "RELOADING=1\nSTATUS=reloading the config");
        break;
    case BERTH_SERVE_RELOADED:
        send_text(n, apr_pstrcat(pool, "READY=1\nSTATUS=", t, NULL));
        break;
    case BERTH_SERVE_STOPPING:
        send_text(n, "STOPPING=1\nSTATUS=stopping its servers");
        break;
    case BERTH_SERVE_HEALTH:
        send_text(n, apr_pstrcat(pool, "STATUS=", t, NULL));
        break;
    }
    apr_pool_destroy(pool);
}

/* The address in $NOTIFY_SOCKET: a path, or "@name" for the abstract
 * namespace. 0 when there is none to use. */
static int notify_address(notifier_t *n, const char *where)
{
    size_t len = strlen(where);
    if (len == 0 || len >= sizeof n->addr.sun_path ||
        (where[0] != '/' && where[0] != '@'))
        return 0;
    memset(&n->addr, 0, sizeof n->addr);
    n->addr.sun_family = AF_UNIX;
    memcpy(n->addr.sun_path, where, len);
    if (where[0] == '@')
        n->addr.sun_path[0] = '\0';
    n->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    return 1;
}

void berth_systemd_serve_hooks(berth_serve_opts_t *opts, apr_pool_t *pool)
{
    const char *where = getenv("NOTIFY_SOCKET");
    notifier_t *n = apr_pcalloc(pool, sizeof *n);
    if (!where || !notify_address(n, where))
        return;
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (n->fd < 0) {
        berth_log(BERTH_LOG_WARN, "systemd notify socket: %s",
                  strerror(errno));
        return;
    }
    /* the servers berth starts are not the service: they must not speak
     * for it (their environment is built without it anyway) */
    unsetenv("NOTIFY_SOCKET");
    opts->notify = on_event;
    opts->notify_baton = n;
    /* the "how to connect ... Stop with Ctrl+C" text is for a terminal;
     * the journal has the endpoint from berth's log line */
    opts->out = NULL;
}
