#include "container.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "log.h"
#include "platform.h"

#define DOCKER_LIST_TIMEOUT (15 * APR_USEC_PER_SEC)
#define DOCKER_RM_TIMEOUT (30 * APR_USEC_PER_SEC)

/* ---- instances ---------------------------------------------------------- */

const char *berth_instance_self(const char *token, apr_pool_t *pool)
{
    char host[APRMAXHOSTLEN + 1];
    apr_int64_t started;
    long pid = berth_platform_pid();
    if (apr_gethostname(host, sizeof host, pool) != APR_SUCCESS || !*host)
        apr_cpystrn(host, "localhost", sizeof host);
    /* the id is split on '/': a host name never holds one, but be sure */
    for (char *c = host; *c; c++)
        if (*c == '/')
            *c = '_';
    if (berth_platform_process_started(pid, &started) != APR_SUCCESS)
        started = (apr_int64_t)apr_time_sec(apr_time_now());
    return apr_psprintf(pool, "%s/%ld/%" APR_INT64_T_FMT "/%s", host, pid,
                        started, token);
}

int berth_instance_parse(const char *id, berth_instance_t *out,
                         apr_pool_t *pool)
{
    char *part[4], *end;
    char *p = apr_pstrdup(pool, id ? id : "");
    /* exactly four non-empty parts split by '/' */
    for (int i = 0; i < 4; i++) {
        part[i] = p;
        p = strchr(p, '/');
        if ((p == NULL) != (i == 3))
            return 0;
        if (p)
            *p++ = '\0';
        if (!*part[i])
            return 0;
    }
    out->host = part[0];
    out->pid = strtol(part[1], &end, 10);
    if (*end || out->pid <= 0)
        return 0;
    out->started = apr_strtoi64(part[2], &end, 10);
    if (*end)
        return 0;
    out->token = part[3];
    return 1;
}

int berth_instance_alive(const berth_instance_t *self, const char *other,
                         berth_proc_started_fn started, const char **why,
                         apr_pool_t *pool)
{
    berth_instance_t o;
    apr_int64_t t;
    const char *dummy;
    if (!why)
        why = &dummy;
    if (!berth_instance_parse(other, &o, pool)) {
        *why = "its io.berth.instance label is not one berth writes; kept";
        return 1;
    }
    if (strcmp(o.host, self->host) != 0) {
        *why = apr_psprintf(pool, "its berth runs on host %s, which this one "
                            "cannot check; kept", o.host);
        return 1;
    }
    if (o.pid == self->pid && o.started == self->started &&
        strcmp(o.token, self->token) == 0) {
        *why = "it belongs to this berth";
        return 1;
    }
    if (o.pid == self->pid) {
        *why = apr_psprintf(pool, "its berth had this process's pid %ld "
                            "before; that berth is gone", o.pid);
        return 0;
    }
    apr_status_t rv = started(o.pid, &t);
    if (rv == APR_ENOENT) {
        *why = apr_psprintf(pool, "its berth (pid %ld) is not running", o.pid);
        return 0;
    }
    if (rv != APR_SUCCESS) {
        *why = apr_psprintf(pool, "whether its berth (pid %ld) runs cannot be "
                            "checked; kept", o.pid);
        return 1;
    }
    if (t - o.started > 2 || o.started - t > 2) {
        *why = apr_psprintf(pool, "its berth (pid %ld) is gone; that pid now "
                            "belongs to a process started at another time",
                            o.pid);
        return 0;
    }
    *why = apr_psprintf(pool, "its berth (pid %ld) is running", o.pid);
    return 1;
}

/* ---- one container ------------------------------------------------------ */

struct berth_container_t {
    apr_pool_t *pool;
    berth_spawnctx_t *ctx;
    const berth_config_t *cfg;
    const char *server;
    const char *name;        /* NULL: unknown */
    const char *cidfile;
    int auto_remove;         /* the run has --rm */
    apr_thread_mutex_t *lock;
    const char *id;          /* NULL until known */
};

static apr_array_header_t *args_of(apr_pool_t *pool, ...)
{
    va_list ap;
    const char *a;
    apr_array_header_t *out = apr_array_make(pool, 8, sizeof(const char *));
    va_start(ap, pool);
    while ((a = va_arg(ap, const char *)) != NULL)
        APR_ARRAY_PUSH(out, const char *) = a;
    va_end(ap);
    return out;
}

berth_container_t *berth_container_for_plan(berth_spawnctx_t *ctx,
                                            const berth_config_t *cfg,
                                            const berth_plan_t *plan,
                                            apr_pool_t *pool)
{
    if (!plan->cidfile || !plan->docker_argv)
        return NULL;
    berth_container_t *c = apr_pcalloc(pool, sizeof *c);
    /* its own: the supervisor thread and status readers use it */
    apr_pool_create(&c->pool, pool);
    c->ctx = ctx;
    c->cfg = cfg;
    c->server = plan->server;
    c->cidfile = plan->cidfile;
    apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    /* options come before the image; an argument of the server that looks
     * like one only matters when the cidfile is missing too */
    const apr_array_header_t *a = plan->docker_argv;
    for (int i = 1; i < a->nelts; i++) {
        const char *s = APR_ARRAY_IDX(a, i, const char *);
        if (strcmp(s, "--rm") == 0 || strcmp(s, "--rm=true") == 0)
            c->auto_remove = 1;
        else if (strcmp(s, "--name") == 0 && i + 1 < a->nelts && !c->name)
            c->name = APR_ARRAY_IDX(a, i + 1, const char *);
        else if (strncmp(s, "--name=", 7) == 0 && !c->name)
            c->name = s + 7;
    }
    return c;
}

const char *berth_container_name(const berth_container_t *c)
{
    return c->name;
}

const char *berth_container_cidfile(const berth_container_t *c)
{
    return c->cidfile;
}

static const char *read_cidfile(const char *path, apr_pool_t *pool)
{
    char buf[129];
    apr_file_t *f;
    apr_size_t n = sizeof buf - 1;
    if (apr_file_open(&f, path, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT,
                      pool) != APR_SUCCESS)
        return NULL;
    apr_status_t rv = apr_file_read(f, buf, &n);
    apr_file_close(f);
    if (rv != APR_SUCCESS || n == 0)
        return NULL;
    buf[n] = '\0';
    /* docker writes the id with no newline; be lenient */
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
                     buf[n - 1] == ' '))
        buf[--n] = '\0';
    for (apr_size_t i = 0; i < n; i++)
        if (!((buf[i] >= '0' && buf[i] <= '9') ||
              (buf[i] >= 'a' && buf[i] <= 'f')))
            return NULL;
    return n >= 12 ? apr_pstrdup(pool, buf) : NULL;
}

const char *berth_container_id(berth_container_t *c)
{
    apr_thread_mutex_lock(c->lock);
    const char *id = c->id;
    apr_thread_mutex_unlock(c->lock);
    if (id)
        return id;
    apr_pool_t *scratch;
    apr_pool_create(&scratch, NULL);
    const char *found = read_cidfile(c->cidfile, scratch);
    if (!found && c->name) {
        char *out;
        const char *err;
        if (berth_spawnctx_docker_exec(
                c->ctx, c->cfg,
                args_of(scratch, "ps", "-aq", "--no-trunc", "--filter",
                        apr_pstrcat(scratch, "name=^/", c->name, "$", NULL),
                        NULL),
                DOCKER_LIST_TIMEOUT, &out, &err, scratch) == APR_SUCCESS) {
            berth_capture_t cap = { 1, 0, 0, out, strlen(out) };
            const char *line = berth_capture_last_line(&cap);
            if (*line)
                found = line;
        }
    }
    apr_thread_mutex_lock(c->lock);
    if (found && !c->id)
        c->id = apr_pstrdup(c->pool, found);
    id = c->id;
    apr_thread_mutex_unlock(c->lock);
    apr_pool_destroy(scratch);
    return id;
}

static apr_status_t remove_container(berth_container_t *c, const char *id,
                                     apr_pool_t *pool)
{
    char *out;
    const char *err;
    apr_status_t rv = berth_spawnctx_docker_exec(
        c->ctx, c->cfg, args_of(pool, "rm", "-f", id, NULL), DOCKER_RM_TIMEOUT,
        &out, &err, pool);
    if (rv != APR_SUCCESS)
        berth_log(BERTH_LOG_DEBUG, "server %s: docker rm -f %.12s: %s",
                  c->server, id, err);
    return rv;
}

apr_status_t berth_container_stop(berth_container_t *c, int grace_seconds)
{
    const char *id = berth_container_id(c);
    char *out;
    const char *err;
    apr_status_t rv = APR_SUCCESS;
    if (!id)
        return APR_SUCCESS; /* never created (or docker never said) */
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    if (grace_seconds < 0)
        grace_seconds = 0;
    const char *t = apr_itoa(pool, grace_seconds);
    rv = berth_spawnctx_docker_exec(
        c->ctx, c->cfg, args_of(pool, "stop", "-t", t, id, NULL),
        apr_time_from_sec(grace_seconds + 15), &out, &err, pool);
    if (rv != APR_SUCCESS) {
        berth_log(BERTH_LOG_WARN, "server %s: docker stop of container %.12s "
                  "failed (%s); killing it", c->server, id, err);
        rv = berth_spawnctx_docker_exec(
            c->ctx, c->cfg, args_of(pool, "kill", id, NULL),
            apr_time_from_sec(15), &out, &err, pool);
        if (rv != APR_SUCCESS)
            berth_log(BERTH_LOG_WARN, "server %s: docker kill of container "
                      "%.12s failed too (%s)", c->server, id, err);
    }
    if (!c->auto_remove)
        remove_container(c, id, pool);
    apr_file_remove(c->cidfile, pool);
    apr_pool_destroy(pool);
    return rv;
}

const char *berth_container_known_id(berth_container_t *c)
{
    apr_thread_mutex_lock(c->lock);
    const char *id = c->id;
    apr_thread_mutex_unlock(c->lock);
    return id;
}

void berth_container_release(berth_container_t *c, int force)
{
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    /* --rm removes the container once it exited; the user's run without
     * --rm would leave it, and a docker client that died (not its
     * container) leaves a running one: either way, rm -f */
    const char *id = force || !c->auto_remove ? berth_container_id(c) : NULL;
    if (id)
        remove_container(c, id, pool);
    apr_file_remove(c->cidfile, pool);
    apr_pool_destroy(pool);
}

/* ---- sweeps ------------------------------------------------------------- */

apr_status_t berth_container_list(berth_spawnctx_t *ctx,
                                  const berth_config_t *cfg,
                                  const char *server,
                                  apr_array_header_t **out,
                                  const char **error, apr_pool_t *pool)
{
    char *text, *last;
    berth_instance_t self;
    *out = apr_array_make(pool, 4, sizeof(berth_container_info_t));
    apr_array_header_t *args = args_of(
        pool, "ps", "-a", "--no-trunc", "--filter",
        "label=io.berth.managed=true", NULL);
    if (server) {
        APR_ARRAY_PUSH(args, const char *) = "--filter";
        APR_ARRAY_PUSH(args, const char *) =
            apr_pstrcat(pool, "label=io.berth.server=", server, NULL);
    }
    APR_ARRAY_PUSH(args, const char *) = "--format";
    /* one line per container, fields split by tabs; the server's name,
     * free text, comes last so a tab in it cannot shift the others */
    APR_ARRAY_PUSH(args, const char *) =
        "{{.ID}}\t{{.State}}\t{{.Names}}\t{{.Label \"io.berth.instance\"}}\t"
        "{{.Label \"io.berth.server\"}}";
    apr_status_t rv = berth_spawnctx_docker_exec(
        ctx, cfg, args, DOCKER_LIST_TIMEOUT, &text, error, pool);
    if (rv != APR_SUCCESS)
        return rv;
    if (!berth_instance_parse(berth_spawnctx_instance(ctx), &self, pool))
        memset(&self, 0, sizeof self);
    if (!self.host)
        self.host = "";
    for (char *line = apr_strtok(text, "\n", &last); line;
         line = apr_strtok(NULL, "\n", &last)) {
        char *f[5];
        int n = 0;
        char *p = line;
        while (n < 4) {
            char *tab = strchr(p, '\t');
            if (!tab)
                break;
            *tab = '\0';
            f[n++] = p;
            p = tab + 1;
        }
        if (n < 4)
            continue; /* an rc banner of a login shell, not a row */
        f[4] = p;
        berth_container_info_t *ci = apr_array_push(*out);
        ci->id = apr_pstrndup(pool, f[0], 12);
        ci->full_id = f[0];
        ci->state = f[1];
        ci->name = f[2];
        ci->instance = f[3];
        ci->server = f[4];
        ci->owner_alive = berth_instance_alive(
            &self, ci->instance, berth_platform_process_started, &ci->why,
            pool);
    }
    return APR_SUCCESS;
}

/* Deletes the cidfile folders of berth processes on this host that are
 * gone (<pid>-<start>-<token>, the instance id without the host). A live
 * berth's folder is never touched, so no start in progress can lose its
 * cidfile. */
static void sweep_cidfiles(berth_spawnctx_t *ctx, apr_pool_t *pool)
{
    apr_dir_t *dir, *sub;
    apr_finfo_t fi, ff;
    berth_instance_t self;
    const char *root = berth_spawnctx_cid_root(ctx);
    const berth_hostfacts_t *facts = berth_spawnctx_facts(ctx);
    if (!berth_instance_parse(berth_spawnctx_instance(ctx), &self, pool) ||
        apr_dir_open(&dir, root, pool) != APR_SUCCESS)
        return;
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir) ==
           APR_SUCCESS) {
        long pid;
        char started[32], token[64], *end;
        if (fi.filetype != APR_DIR || fi.name[0] == '.')
            continue;
        pid = strtol(fi.name, &end, 10);
        if (*end != '-' || pid <= 0)
            continue;
        const char *rest = end + 1, *dash = strchr(rest, '-');
        if (!dash || (size_t)(dash - rest) >= sizeof started ||
            strlen(dash + 1) >= sizeof token)
            continue;
        apr_cpystrn(started, rest, (apr_size_t)(dash - rest) + 1);
        apr_cpystrn(token, dash + 1, sizeof token);
        const char *why;
        const char *id = apr_psprintf(pool, "%s/%ld/%s/%s", self.host, pid,
                                      started, token);
        if (berth_instance_alive(&self, id, berth_platform_process_started,
                                 &why, pool))
            continue;
        const char *path = berth_path_child(facts, root, fi.name, pool);
        if (apr_dir_open(&sub, path, pool) == APR_SUCCESS) {
            while (apr_dir_read(&ff, APR_FINFO_NAME | APR_FINFO_TYPE, sub) ==
                   APR_SUCCESS)
                if (ff.filetype == APR_REG)
                    apr_file_remove(berth_path_child(facts, path, ff.name,
                                                     pool),
                                    pool);
            apr_dir_close(sub);
        }
        berth_log(BERTH_LOG_DEBUG, "removed the cidfiles of a berth that is "
                  "gone (%s): %s", why, path);
        apr_dir_remove(path, pool);
    }
    apr_dir_close(dir);
}

apr_status_t berth_container_sweep(berth_spawnctx_t *ctx,
                                   const berth_config_t *cfg,
                                   const char *server, int *removed,
                                   const char **error, apr_pool_t *pool)
{
    apr_array_header_t *list;
    *removed = 0;
    apr_status_t rv = berth_container_list(ctx, cfg, server, &list, error,
                                           pool);
    if (rv != APR_SUCCESS)
        return rv;
    apr_array_header_t *args = args_of(pool, "rm", "-f", NULL);
    for (int i = 0; i < list->nelts; i++) {
        const berth_container_info_t *ci =
            &APR_ARRAY_IDX(list, i, berth_container_info_t);
        if (ci->owner_alive)
            continue;
        berth_log(BERTH_LOG_INFO, "removing container %s (%s) of server %s: "
                  "%s", ci->name, ci->id, ci->server, ci->why);
        APR_ARRAY_PUSH(args, const char *) = ci->id;
    }
    if (args->nelts > 2) {
        char *out;
        rv = berth_spawnctx_docker_exec(ctx, cfg, args, DOCKER_RM_TIMEOUT,
                                        &out, error, pool);
        /* rm -f fails as a whole when one is already gone (its own --rm
         * won the race); count what it printed */
        char *last;
        for (char *l = apr_strtok(out, "\n", &last); l;
             l = apr_strtok(NULL, "\n", &last))
            for (int i = 2; i < args->nelts; i++)
                if (strcmp(l, APR_ARRAY_IDX(args, i, const char *)) == 0)
                    (*removed)++;
        if (*removed > 0)
            rv = APR_SUCCESS;
    }
    if (!server)
        sweep_cidfiles(ctx, pool);
    return rv;
}
