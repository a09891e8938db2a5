#include "groups.h"

#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_strings.h>

#include "container.h"
#include "log.h"
#include "platform.h"
#include "process.h"

/* Two reads of one process's start time may differ by this much (the boot
 * time they are counted from moves with the wall clock): container.c's
 * rule for berth instances too. */
#define SAME_START 2

#define RECORD_MAX 1024

struct berth_group_t {
    apr_pool_t *pool;
    const berth_hostfacts_t *facts;
    const char *host;
    const char *server;
    const char *dir;   /* this berth's folder */
    const char *path;  /* the record, once written */
};

static const char *groups_root(const berth_hostfacts_t *facts,
                               apr_pool_t *pool)
{
    return berth_path_child(facts, berth_state_dir(facts, pool), "groups",
                            pool);
}

/* ---- the records of this berth ------------------------------------------ */

/* The record goes once the tree has ended, and the folder with the last
 * record (write_record makes it again for a spawn in progress). */
static apr_status_t remove_record(void *data)
{
    berth_group_t *g = data;
    apr_pool_t *tmp;
    if (g->path && apr_pool_create(&tmp, NULL) == APR_SUCCESS) {
        apr_file_remove(g->path, tmp);
        apr_dir_remove(g->dir, tmp);
        apr_pool_destroy(tmp);
    }
    return APR_SUCCESS;
}

berth_group_t *berth_group_new(berth_spawnctx_t *ctx, const char *server,
                               apr_pool_t *pool)
{
    berth_instance_t self;
    if (!berth_process_tree_outlives_berth() ||
        !berth_instance_parse(berth_spawnctx_instance(ctx), &self, pool))
        return NULL;
    berth_group_t *g = apr_pcalloc(pool, sizeof *g);
    g->pool = pool;
    g->facts = berth_spawnctx_facts(ctx);
    g->host = self.host;
    g->server = server;
    /* named like the cidfile folder: the instance id without the host */
    g->dir = berth_path_child(
        g->facts, groups_root(g->facts, pool),
        apr_psprintf(pool, "%ld-%" APR_INT64_T_FMT "-%s", self.pid,
                     self.started, self.token),
        pool);
    apr_pool_cleanup_register(pool, g, remove_record, apr_pool_cleanup_null);
    return g;
}

static apr_status_t write_file(const char *path, const char *text,
                               apr_pool_t *pool)
{
    apr_file_t *f;
    apr_size_t n;
    apr_status_t rv = apr_file_open(
        &f, path, APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_TRUNCATE,
        APR_FPROT_UREAD | APR_FPROT_UWRITE, pool);
    if (rv != APR_SUCCESS)
        return rv;
    rv = apr_file_write_full(f, text, strlen(text), &n);
    apr_status_t closed = apr_file_close(f);
    return rv != APR_SUCCESS ? rv : closed;
}

/* TEXT as PATH, whole: written beside it and renamed into place, so a
 * berth killed meanwhile leaves no half record. DIR is made again when it
 * is missing: another server's last record may have just taken it. */
static apr_status_t write_record(const char *dir, const char *path,
                                 const char *text, apr_pool_t *pool)
{
    const char *tmp = apr_pstrcat(pool, path, ".new", NULL);
    apr_status_t rv = APR_ENOENT;
    for (int i = 0; i < 3 && APR_STATUS_IS_ENOENT(rv); i++) {
        apr_dir_make_recursive(dir, APR_FPROT_UREAD | APR_FPROT_UWRITE |
                                        APR_FPROT_UEXECUTE,
                               pool);
        rv = write_file(tmp, text, pool);
    }
    if (rv == APR_SUCCESS &&
        (rv = apr_file_rename(tmp, path, pool)) != APR_SUCCESS)
        apr_file_remove(tmp, pool);
    return rv;
}

void berth_group_record(berth_group_t *g, long pid)
{
    char buf[256];
    if (!g || pid <= 0)
        return;
    /* the child only left berth's group: its session is berth's */
    berth_group_record_t rec = { pid, 0,
                                 berth_process_session(berth_platform_pid()),
                                 g->host, g->server };
    if (berth_platform_process_started(pid, &rec.started) != APR_SUCCESS)
        rec.started = (apr_int64_t)apr_time_sec(apr_time_now());
    const char *path = berth_path_child(g->facts, g->dir,
                                        apr_ltoa(g->pool, pid), g->pool);
    apr_status_t rv = write_record(g->dir, path,
                                   berth_group_format(&rec, g->pool),
                                   g->pool);
    if (rv != APR_SUCCESS) {
        berth_log(BERTH_LOG_WARN, "server %s: cannot write the record of its "
                  "process group to %s (%s): should berth be killed "
                  "outright, the next berth will not end what it leaves "
                  "running; check that berth's state folder is writable",
                  g->server, path, apr_strerror(rv, buf, sizeof buf));
        return;
    }
    g->path = path;
}

/* ---- what a record says ------------------------------------------------- */

const char *berth_group_format(const berth_group_record_t *rec,
                               apr_pool_t *pool)
{
    return apr_psprintf(pool, "%ld %" APR_INT64_T_FMT " %ld %s %s\n",
                        rec->group, rec->started, rec->session, rec->host,
                        rec->server);
}

/* The next field of *P up to a blank, NUL-terminated in place; NULL when
 * there is none. */
static char *field(char **p)
{
    char *f = *p, *end = strchr(f, ' ');
    if (!*f || !end || end == f)
        return NULL;
    *end = '\0';
    *p = end + 1;
    return f;
}

int berth_group_parse(const char *text, berth_group_record_t *out,
                      apr_pool_t *pool)
{
    char *p = apr_pstrdup(pool, text ? text : ""), *end;
    char *nl = strchr(p, '\n');
    if (nl)
        *nl = '\0';
    char *group = field(&p), *started = field(&p), *session = field(&p);
    char *host = field(&p);
    if (!host || !*p)
        return 0;
    out->group = strtol(group, &end, 10);
    /* group 1 or below would be a kill of everyone, or of init */
    if (*end || out->group <= 1)
        return 0;
    out->started = apr_strtoi64(started, &end, 10);
    if (*end)
        return 0;
    out->session = strtol(session, &end, 10);
    if (*end)
        return 0;
    out->host = host;
    out->server = p;
    return 1;
}

/* ---- the rule ------------------------------------------------------------ */

/* A group whose leader is gone: its members say whether it is the one the
 * record names. Unix gives no new process a group's id while any member
 * of the group runs, so a group of that id made later is another's: its
 * members are in another session, or one started before the leader did
 * (it joined that group). */
static berth_group_verdict_t judge_members(const berth_group_record_t *rec,
                                           const berth_group_facts_t *facts,
                                           const char **why, apr_pool_t *pool)
{
    const apr_array_header_t *m = facts->members;
    if (facts->members_rv != APR_SUCCESS || !m) {
        *why = "its processes cannot be listed";
        return BERTH_GROUP_UNKNOWN;
    }
    if (m->nelts == 0) {
        *why = "nothing of it runs";
        return BERTH_GROUP_ENDED;
    }
    for (int i = 0; i < m->nelts; i++) {
        const berth_group_member_t *p = &APR_ARRAY_IDX(m, i,
                                                       berth_group_member_t);
        if (p->started < 0 || (rec->session >= 0 && p->session < 0)) {
            *why = apr_psprintf(pool, "what its process %ld is cannot be "
                                "read", p->pid);
            return BERTH_GROUP_UNKNOWN;
        }
        if (rec->session >= 0 && p->session != rec->session) {
            *why = apr_psprintf(pool, "its process %ld is in session %ld, "
                                "not %ld: the group's id was reused", p->pid,
                                p->session, rec->session);
            return BERTH_GROUP_REUSED;
        }
        if (p->started < rec->started - SAME_START) {
            *why = apr_psprintf(pool, "its process %ld started before the "
                                "group's leader did: the group's id was "
                                "reused", p->pid);
            return BERTH_GROUP_REUSED;
        }
    }
    *why = apr_psprintf(pool, "its leader is gone; %d process%s left in it",
                        m->nelts, m->nelts == 1 ? "" : "es");
    return BERTH_GROUP_OURS;
}

berth_group_verdict_t berth_group_judge(const berth_group_record_t *rec,
                                        const berth_group_facts_t *facts,
                                        const char **why, apr_pool_t *pool)
{
    if (strcmp(rec->host, facts->host) != 0) {
        *why = apr_psprintf(pool, "it was made on host %s, which this berth "
                            "cannot check", rec->host);
        return BERTH_GROUP_UNKNOWN;
    }
    if (facts->leader == APR_SUCCESS) {
        apr_int64_t d = facts->leader_started - rec->started;
        if (d <= SAME_START && d >= -SAME_START) {
            *why = apr_psprintf(pool, "its leader (pid %ld) still runs",
                                rec->group);
            return BERTH_GROUP_OURS;
        }
        *why = apr_psprintf(pool, "pid %ld now belongs to a process started "
                            "at another time: the group's id was reused",
                            rec->group);
        return BERTH_GROUP_REUSED;
    }
    if (facts->leader != APR_ENOENT) {
        *why = apr_psprintf(pool, "whether its leader (pid %ld) runs cannot "
                            "be checked", rec->group);
        return BERTH_GROUP_UNKNOWN;
    }
    return judge_members(rec, facts, why, pool);
}

/* ---- the sweep ------------------------------------------------------------ */

/* Judges REC with what the OS says now and acts on the verdict: a group
 * that is the record's is killed. BERTH_GROUP_UNKNOWN keeps the record
 * for the next start. */
static berth_group_verdict_t settle(const berth_group_record_t *rec,
                                    const char *host, int *ended,
                                    apr_pool_t *pool)
{
    berth_group_facts_t facts;
    apr_array_header_t *members = NULL;
    const char *why;
    char buf[256];
    memset(&facts, 0, sizeof facts);
    facts.host = host;
    facts.leader = berth_platform_process_started(rec->group,
                                                  &facts.leader_started);
    if (facts.leader == APR_ENOENT) {
        facts.members_rv = berth_process_group_members(rec->group, &members,
                                                       pool);
        facts.members = members;
    }
    berth_group_verdict_t v = berth_group_judge(rec, &facts, &why, pool);
    apr_status_t rv;
    switch (v) {
    case BERTH_GROUP_OURS:
        if ((rv = berth_process_group_kill(rec->group)) != APR_SUCCESS) {
            berth_log(BERTH_LOG_WARN, "could not end process group %ld of "
                      "server %s, left running by a berth that is gone: %s",
                      rec->group, rec->server,
                      apr_strerror(rv, buf, sizeof buf));
            return BERTH_GROUP_UNKNOWN;
        }
        (*ended)++;
        berth_log(BERTH_LOG_INFO, "ended process group %ld of server %s, "
                  "left running by a berth that is gone (%s)", rec->group,
                  rec->server, why);
        break;
    case BERTH_GROUP_REUSED:
        berth_log(BERTH_LOG_INFO, "left process group %ld (recorded for "
                  "server %s by a berth that is gone) alone: %s", rec->group,
                  rec->server, why);
        break;
    case BERTH_GROUP_UNKNOWN:
        berth_log(BERTH_LOG_WARN, "kept the record of process group %ld "
                  "(server %s) of a berth that is gone: %s; the next berth "
                  "tries again", rec->group, rec->server, why);
        break;
    default:
        break;
    }
    return v;
}

static const char *read_small(const char *path, apr_pool_t *pool)
{
    apr_file_t *f;
    char *buf = apr_palloc(pool, RECORD_MAX + 1);
    apr_size_t n = RECORD_MAX;
    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, pool) != APR_SUCCESS)
        return NULL;
    apr_status_t rv = apr_file_read_full(f, buf, n, &n);
    apr_file_close(f);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EOF(rv))
        return NULL;
    buf[n] = '\0';
    return buf;
}

/* Settles every record in DIR, the folder of a berth that is gone, and
 * removes the folder once no record is left. */
static void sweep_folder(const berth_hostfacts_t *facts, const char *dir,
                         const char *host, int *ended, apr_pool_t *pool)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    if (apr_dir_open(&d, dir, pool) != APR_SUCCESS)
        return;
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) ==
           APR_SUCCESS) {
        berth_group_record_t rec;
        if (fi.filetype != APR_REG)
            continue;
        const char *path = berth_path_child(facts, dir, fi.name, pool);
        const char *text = strchr(fi.name, '.') ? NULL
                                                : read_small(path, pool);
        /* a record never renamed into place, or not one berth writes */
        if (!text || !berth_group_parse(text, &rec, pool)) {
            berth_log(BERTH_LOG_DEBUG, "removed %s: not a process group "
                      "record", path);
            apr_file_remove(path, pool);
            continue;
        }
        if (settle(&rec, host, ended, pool) != BERTH_GROUP_UNKNOWN)
            apr_file_remove(path, pool);
    }
    apr_dir_close(d);
    apr_dir_remove(dir, pool);
}

/* The owner of folder NAME ("<pid>-<start>-<token>") as an instance id of
 * SELF's host; NULL when NAME is not such a folder. */
static const char *owner_of(const berth_instance_t *self, const char *name,
                            apr_pool_t *pool)
{
    char *end;
    long pid = strtol(name, &end, 10);
    if (*end != '-' || pid <= 0)
        return NULL;
    const char *rest = end + 1, *dash = strchr(rest, '-');
    if (!dash || dash == rest || !dash[1])
        return NULL;
    return apr_psprintf(pool, "%s/%ld/%s/%s", self->host, pid,
                        apr_pstrmemdup(pool, rest, (apr_size_t)(dash - rest)),
                        dash + 1);
}

void berth_group_sweep(berth_spawnctx_t *ctx, int *ended, apr_pool_t *pool)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    berth_instance_t self;
    const berth_hostfacts_t *facts = berth_spawnctx_facts(ctx);
    const char *root = groups_root(facts, pool);
    *ended = 0;
    if (!berth_process_tree_outlives_berth() ||
        !berth_instance_parse(berth_spawnctx_instance(ctx), &self, pool) ||
        apr_dir_open(&d, root, pool) != APR_SUCCESS)
        return;
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) ==
           APR_SUCCESS) {
        const char *why;
        const char *owner = fi.filetype == APR_DIR && fi.name[0] != '.'
                                ? owner_of(&self, fi.name, pool)
                                : NULL;
        /* a live berth's folder is never read: its groups are its own */
        if (!owner || berth_instance_alive(&self, owner,
                                           berth_platform_process_started,
                                           &why, pool))
            continue;
        berth_log(BERTH_LOG_DEBUG, "process groups of a berth that is gone "
                  "(%s): %s", why, fi.name);
        sweep_folder(facts, berth_path_child(facts, root, fi.name, pool),
                     self.host, ended, pool);
    }
    apr_dir_close(d);
}
