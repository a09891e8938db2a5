/* The process groups of servers, written down in berth's state folder so
 * that the next berth can end what a berth killed outright left running
 * (docs/supervision.md, "berth killed outright"). One folder per berth
 * process, <state>/groups/<pid>-<start>-<token> (its instance id without the
 * host), one record per group in it, named after the group. Where a tree
 * cannot outlive berth (Windows: the Job Object) nothing is written. */
#ifndef BERTH_GROUPS_H
#define BERTH_GROUPS_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "spawnctx.h"

/* ---- the records of this berth ---------------------------------------- */

typedef struct berth_group_t berth_group_t;

/* A record for the process tree of server SERVER, made before the spawn
 * and written by berth_group_record once the tree runs. It is removed when
 * POOL is destroyed, after the process's own cleanup (registered later, so
 * run first) has ended the tree. NULL where trees cannot outlive berth. */
berth_group_t *berth_group_new(berth_spawnctx_t *ctx, const char *server,
                               apr_pool_t *pool);

/* Writes G's record: the group whose leader is PID (the spawned child, in a
 * group of its own), that leader's start time and its session. A record
 * that cannot be written is logged; the server runs anyway. G NULL: no-op. */
void berth_group_record(berth_group_t *g, long pid);

/* ---- what a record says, and what a later berth makes of it ------------ */

typedef struct {
    long group;          /* the group's id: its leader's pid */
    apr_int64_t started; /* when that leader started (seconds since 1970) */
    long session;        /* the session it was made in; -1 unknown */
    const char *host;    /* the host it runs on (a state folder may be
                            shared: a home on NFS) */
    const char *server;  /* for the log */
} berth_group_record_t;

/* The record's text, one line: "<group> <started> <session> <host>
 * <server>". */
const char *berth_group_format(const berth_group_record_t *rec,
                               apr_pool_t *pool);
/* Parses TEXT; 0 when it is not a record. */
int berth_group_parse(const char *text, berth_group_record_t *out,
                      apr_pool_t *pool);

typedef enum {
    BERTH_GROUP_ENDED,   /* nothing of it runs: the record goes */
    BERTH_GROUP_OURS,    /* still runs and is the one recorded: end it */
    BERTH_GROUP_REUSED,  /* its id now names another process's: left alone */
    BERTH_GROUP_UNKNOWN  /* the OS will not say now: record kept, nothing done */
} berth_group_verdict_t;

/* What the OS says about a record's group now. */
typedef struct {
    const char *host;          /* the host this berth runs on */
    apr_status_t leader;       /* berth_platform_process_started(group) */
    apr_int64_t leader_started;
    apr_status_t members_rv;   /* berth_process_group_members(group) */
    const apr_array_header_t *members; /* berth_group_member_t */
} berth_group_facts_t;

/* The rule (docs/supervision.md): a record of another host is not judged
 * here; a leader that runs decides by its start time (within 2 s: the
 * record's group; else its id was reused); without a leader the group is
 * the record's only if every member is in the recorded session and started
 * no earlier than the leader did. *WHY says which. */
berth_group_verdict_t berth_group_judge(const berth_group_record_t *rec,
                                        const berth_group_facts_t *facts,
                                        const char **why, apr_pool_t *pool);

/* ---- the start-up sweep ------------------------------------------------ */

/* Judges every record in the folders of berth processes on this host that
 * are gone (berth_instance_alive), ends the groups that are theirs with
 * SIGKILL, and removes the records and folders that are done. Never reads
 * a live berth's folder. *ENDED counts the groups ended. */
void berth_group_sweep(berth_spawnctx_t *ctx, int *ended, apr_pool_t *pool);

#endif
