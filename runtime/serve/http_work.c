/* Who runs what in the HTTP front: MHD's event loop, and the jobs (the
 * requests that may wait) on threads that may wait.
 *
 * With epoll, berth runs MHD's loop itself: MHD_run_wait(0) under a lock,
 * by whichever thread has something for it. Two loop threads take turns
 * as the one that waits for events (the leader); a job its turn started
 * runs on the leader's own thread when it is the only job in progress and
 * none overlapped lately, so a client calling alone costs no hand-off
 * between threads (the wake-up of a thread on a halted vCPU costs more
 * than a whole call, bench/README.md). While it runs, nobody waits for
 * events; the other loop thread, the standby, looks every TAKE_OVER while
 * jobs run on the leader and takes the waiting over when one runs longer.
 * Every other job goes to a worker, and a worker that finished one runs
 * MHD itself: its answer goes out at once, without waking the leader, and
 * a request that came meanwhile is its next job. Without epoll, MHD's own
 * thread runs the loop and every job goes to a worker. Either way the
 * threads do not grow with connections. */
#include "http_int.h"

#include <stdlib.h>

#include <apr_atomic.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "platform.h"
#include "process.h"
#include "spin.h"
#include "wait.h"

#define MAX_WORKERS 256
/* How long a job may keep the loop's thread before the standby waits for
 * events instead: other clients wait at most about this long for a slow
 * call. */
#define TAKE_OVER (5 * 1000)
/* The standby stops looking after this long without a job on the loop's
 * thread: an idle berth wakes nobody. */
#define STANDBY_IDLE APR_USEC_PER_SEC

/* A worker: it sleeps on its own condition, so a job wakes the one worker
 * it is given to (the one idle the shortest: its stack is warm). */
typedef struct worker_t worker_t;
struct worker_t {
    berth_http_work_t *w;
    apr_thread_t *thread;
    apr_thread_cond_t *cv;
    berth_http_job_t *job;        /* given to it while it slept */
    worker_t *next_idle;
};

struct berth_http_work_t {
    apr_pool_t *pool;
    berth_http_conns_t *conns;
    volatile apr_uint32_t in_progress; /* jobs whose run has not returned */

    /* the workers */
    apr_thread_mutex_t *lock;
    berth_http_job_t *head, *tail; /* for the next worker to be free */
    worker_t *idle;               /* a stack */
    worker_t workers[MAX_WORKERS];
    int nworkers;
    int stopping;

    /* MHD's loop, when berth runs it */
    struct MHD_Daemon *mhd;
    int own_loop;
    int epoll_fd;                 /* -1 until the loop runs */
    apr_file_t *epoll_file;       /* the same, to wait on with the kick */
    apr_file_t *kick_r, *kick_w;  /* wakes the leader */
    apr_thread_mutex_t *run_lock; /* held while MHD runs; and for: */
    berth_http_job_t *pending;    /* jobs the run started */
    volatile apr_uint32_t watch;  /* a run answered a POST ... */
    volatile apr_uint32_t rewatch; /* watch again after this run */
    int rewatched;                /* the leader's: the watch went on once */
    MHD_socket watch_fd;          /* ... on this connection (a hint: a
                                     wrong one only ends a watch early) */
    volatile apr_uint32_t sleeping; /* the leader waits for events */
    volatile apr_uint32_t resumed;  /* a connection was resumed since MHD
                                       last ran */
    apr_interval_time_t timeout;  /* MHD's next connection timeout after
                                     its last run; -1 none */
    apr_time_t wake_at;           /* when the sleeping leader wakes at the
                                     latest */

    /* the loop's threads */
    apr_thread_mutex_t *llock;
    apr_thread_cond_t *lcv;       /* the leader's place is free, or to be
                                     looked at */
    int token;                    /* a thread leads: waits, runs MHD */
    int inline_job;               /* a thread runs a job of its turn */
    apr_time_t inline_since;
    unsigned long inline_count;   /* jobs run on the loop's thread */
    unsigned long seen_count;     /* as the standby last saw it */
    apr_time_t seen_at;
    int armed;                    /* the standby looks every TAKE_OVER */
    int lstop;
    apr_time_t busy_until;        /* jobs overlapped lately: none runs on
                                     the loop's thread till then */
    apr_thread_t *loops[2];
};

static void after_job(berth_http_work_t *w, berth_http_job_t *job);
static berth_http_job_t *help_loop(berth_http_work_t *w);

/* Runs JOB on this thread. IN_PROGRESS counts it until its run returns,
 * not until its connection is resumed: a stream resumes it at its first
 * message, while the call still holds this thread. */
static void run_job(berth_http_work_t *w, berth_http_job_t *job)
{
    job->run(job);
    apr_atomic_dec32(&w->in_progress);
}

/* ---- the workers ---------------------------------------------------------- */

berth_http_work_t *berth_http_work_create(berth_http_conns_t *conns,
                                          apr_pool_t *pool)
{
    berth_http_work_t *w = apr_pcalloc(pool, sizeof *w);
    apr_pool_create(&w->pool, pool);
    w->conns = conns;
    w->epoll_fd = -1;
    w->watch_fd = MHD_INVALID_SOCKET;
    apr_thread_mutex_create(&w->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_mutex_create(&w->run_lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_mutex_create(&w->llock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_cond_create(&w->lcv, pool);
    return w;
}

/* Lock held: the next job for worker K, waiting for one; NULL when the
 * front stops. */
static berth_http_job_t *next_job(berth_http_work_t *w, worker_t *k)
{
    for (;;) {
        berth_http_job_t *job = w->head;
        if (job) {
            w->head = job->next;
            if (!w->head)
                w->tail = NULL;
            return job;
        }
        if (k->job) {
            job = k->job;
            k->job = NULL;
            return job;
        }
        if (w->stopping)
            return NULL;
        k->next_idle = w->idle;
        w->idle = k;
        apr_thread_cond_wait(k->cv, w->lock);
    }
}

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *arg)
{
    worker_t *k = arg;
    berth_http_work_t *w = k->w;
    apr_thread_mutex_lock(w->lock);
    berth_http_job_t *job;
    while ((job = next_job(w, k)) != NULL) {
        apr_thread_mutex_unlock(w->lock);
        /* the jobs MHD started while this one sent its answer: the first
         * is this worker's next, the others go to other workers */
        while (job) {
            run_job(w, job);
            job = help_loop(w);
            if (job)
                after_job(w, job);
        }
        apr_thread_mutex_lock(w->lock);
    }
    apr_thread_mutex_unlock(w->lock);
    (void)t;
    return NULL;
}

/* Lock held: a new worker, for JOB; 0 when none can start. */
static int start_worker(berth_http_work_t *w, berth_http_job_t *job)
{
    if (w->nworkers == MAX_WORKERS)
        return 0;
    worker_t *k = &w->workers[w->nworkers];
    k->w = w;
    k->job = job;
    if ((!k->cv && apr_thread_cond_create(&k->cv, w->pool) != APR_SUCCESS) ||
        apr_thread_create(&k->thread, NULL, worker, k, w->pool) !=
            APR_SUCCESS) {
        k->job = NULL;
        return 0;
    }
    w->nworkers++;
    return 1;
}

/* Gives JOB to an idle worker, or to a new one, or queues it for the next
 * that is free when the pool is at its limit (jobs are at most one per
 * connection). 0 when the front stops. */
static int submit(berth_http_work_t *w, berth_http_job_t *job)
{
    worker_t *woken = NULL;
    apr_thread_mutex_lock(w->lock);
    if (w->stopping) {
        /* a request on a connection kept alive while berth stops: no
         * worker would ever take it */
        apr_thread_mutex_unlock(w->lock);
        return 0;
    }
    if (w->idle) {
        woken = w->idle;
        w->idle = woken->next_idle;
        woken->job = job;
    } else if (!start_worker(w, job)) {
        job->next = NULL;
        if (w->tail)
            w->tail->next = job;
        else
            w->head = job;
        w->tail = job;
    }
    apr_thread_mutex_unlock(w->lock);
    if (woken)
        apr_thread_cond_signal(woken->cv);
    return 1;
}

/* To a worker, or answered 503 when none can take it. */
static void to_worker(berth_http_work_t *w, berth_http_job_t *job)
{
    if (submit(w, job))
        return;
    berth_http_send_busy(job->conn);
    berth_http_job_done(w, job, 0);
    apr_atomic_dec32(&w->in_progress);
}

/* The jobs after the first of a list (linked by next) to workers; the
 * first stays with the caller. */
static void after_job(berth_http_work_t *w, berth_http_job_t *job)
{
    berth_http_job_t *rest = job->next;
    job->next = NULL;
    while (rest) {
        berth_http_job_t *next = rest->next;
        to_worker(w, rest);
        rest = next;
    }
}

void berth_http_job_start(berth_http_work_t *w, berth_http_job_t *job)
{
    berth_http_conns_suspend(w->conns, job->conn);
    apr_atomic_inc32(&w->in_progress);
    if (w->own_loop) {
        /* after the run (run_lock held): whoever ran it decides */
        job->next = w->pending;
        w->pending = job;
    } else {
        to_worker(w, job);
    }
}

void berth_http_job_done(berth_http_work_t *w, berth_http_job_t *job,
                         int elsewhere)
{
    struct MHD_Connection *conn = job->conn;
    job->done = 1;
    if (w->own_loop && !elsewhere) {
        /* the job's thread runs MHD next (help_loop), or whoever runs it
         * now sees this and runs it again: no kick */
        berth_http_conns_resume(w->conns, conn, 0);
        apr_atomic_xchg32(&w->resumed, 1);
    } else {
        /* nobody here runs MHD next: the loop is woken */
        berth_http_conns_resume(w->conns, conn, 1);
    }
}

/* Wakes the leader out of its wait: MHD does not, for a connection
 * resumed on another thread, when its loop is berth's. A leader that does
 * not wait sees RESUMED before it would (both are full barriers), and its
 * next MHD run takes the connection: no write, no wake-up. */
static void kick(void *baton)
{
    berth_http_work_t *w = baton;
    char b = 'r';
    apr_size_t n = 1;
    apr_atomic_xchg32(&w->resumed, 1);
    if (apr_atomic_read32(&w->sleeping))
        apr_file_write(w->kick_w, &b, &n); /* a full pipe has one already */
}

/* ---- MHD's loop ---------------------------------------------------------------- */

int berth_http_work_watch_next(berth_http_work_t *w,
                               struct MHD_Connection *conn)
{
    if (!w->own_loop)
        return 0;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    /* MHD runs: run_lock is held; the fd before the flag (a full
     * barrier), which the leader takes */
    w->watch_fd = ci ? ci->connect_fd : MHD_INVALID_SOCKET;
    apr_atomic_xchg32(&w->watch, 1);
    return 1;
}

/* run_lock held: MHD handles what is ready and what was resumed; the jobs
 * it started (a list). A POST it answered is left in WATCH for the
 * leader's next wait, whichever thread ran it. */
static berth_http_job_t *run_mhd(berth_http_work_t *w)
{
    /* what is resumed from now on, the next run takes (MHD marks it
     * before the flag is set) */
    apr_atomic_set32(&w->resumed, 0);
    MHD_UNSIGNED_LONG_LONG ms;
    MHD_run_wait(w->mhd, 0);
    w->timeout = MHD_get_timeout(w->mhd, &ms) == MHD_YES
                     ? (apr_interval_time_t)ms * 1000
                     : -1;
    berth_http_job_t *jobs = w->pending;
    w->pending = NULL;
    return jobs;
}

/* After a job (any thread): runs MHD when nobody does (the job's answer
 * goes out now), again while connections were resumed meanwhile; the jobs
 * the runs started. */
/* After a run by another thread than the leader: MHD has more to do at
 * once (a connection answered with "Connection: close" is closed at its
 * next run: *AGAIN), or sooner than the sleeping leader would wake for it
 * (its wait was planned on an earlier run: it is kicked). The leader sets
 * SLEEPING, then reads the timeout; this reads SLEEPING after the run set
 * the timeout, through a full barrier (the cas): one of them sees the
 * other's. */
static void after_run(berth_http_work_t *w, int *again)
{
    apr_interval_time_t t = w->timeout;
    *again = t == 0;
    if (t > 0 && apr_atomic_cas32(&w->sleeping, 1, 1) == 1 &&
        berth_platform_clock() + t < w->wake_at)
        kick(w);
}

/* After a job (any thread): runs MHD when nobody does (the job's answer
 * goes out now), again while connections were resumed meanwhile; the jobs
 * the runs started. */
static berth_http_job_t *help_loop(berth_http_work_t *w)
{
    int again;
    if (!w->own_loop)
        return NULL;
    do {
        if (apr_thread_mutex_trylock(w->run_lock) != APR_SUCCESS)
            return NULL; /* it runs: it sees RESUMED after */
        berth_http_job_t *jobs = run_mhd(w);
        apr_thread_mutex_unlock(w->run_lock);
        after_run(w, &again);
        if (jobs) {
            /* off to a job: what is left is the leader's */
            if (again || apr_atomic_read32(&w->resumed))
                kick(w);
            return jobs;
        }
    } while (again || apr_atomic_read32(&w->resumed));
    return NULL;
}

typedef struct {
    berth_http_work_t *w;
    MHD_socket fd;
} watch_t;

/* The client's next request on the connection just answered, or anything
 * else for the loop (MHD's epoll set is edge-triggered for connections,
 * and MHD reads a connection it deems readable without an event: the
 * connection's own socket says first). */
static int loop_stirred(void *baton)
{
    watch_t *v = baton;
    return (v->fd != MHD_INVALID_SOCKET &&
            berth_platform_socket_readable(v->fd)) ||
           berth_platform_fd_readable(v->w->epoll_fd) ||
           apr_atomic_read32(&v->w->resumed);
}

/* The leader's wait: a watch first when the last run answered a POST (the
 * client's next request then finds this thread awake), then for an event,
 * MHD's next connection timeout or a kick. (MHD_run_wait would wait inside
 * MHD, but a resumption or MHD_quiesce_daemon does not wake it there.) */
static void wait_events(berth_http_work_t *w)
{
    int kicked;
    if (apr_atomic_xchg32(&w->watch, 0)) {
        watch_t v = { w, w->watch_fd };
        if (berth_spin_watch(loop_stirred, &v) && !w->rewatched &&
            !(v.fd != MHD_INVALID_SOCKET &&
              berth_platform_socket_readable(v.fd))) {
            /* stirred by another event than the client's next request:
             * most often the answer's own ACK (an EPOLLOUT edge of its
             * connection). MHD runs, then the watch goes on once, unless
             * the run started a job. */
            w->rewatched = 1;
            apr_atomic_set32(&w->rewatch, 1);
            return;
        }
    }
    w->rewatched = 0;
    /* as the last run left it; a run meanwhile ends the wait (it consumes
     * the events, or it was resumed, which sets RESUMED, or it changed the
     * timeout: after_run) */
    apr_interval_time_t t = w->timeout;
    if (t == 0)
        return;
    w->wake_at = t < 0 ? APR_INT64_MAX : berth_platform_clock() + t;
    apr_atomic_xchg32(&w->sleeping, 1);
    if (w->timeout == t && !apr_atomic_read32(&w->resumed))
        berth_process_wait_readable(w->epoll_file, w->kick_r, t, &kicked);
    apr_atomic_set32(&w->sleeping, 0);
}

/* llock held, the leader's turn over with JOBS: runs its only job here
 * when no other is in progress and none overlapped lately, else hands
 * them to the workers. */
static void after_turn(berth_http_work_t *w, berth_http_job_t *jobs)
{
    apr_time_t now = berth_platform_clock();
    unsigned in_progress = apr_atomic_read32(&w->in_progress);
    int n = 0;
    for (berth_http_job_t *j = jobs; j; j = j->next)
        n++;
    /* under load the loop stays free: a hand-off costs less than other
     * clients waiting behind a job */
    if (n > 1 || in_progress > (unsigned)n)
        w->busy_until = now + BERTH_SPIN_QUIET;
    w->token = 0;
    while (jobs && n == 1 && in_progress == 1 && now >= w->busy_until &&
           !w->inline_job && !w->lstop) {
        w->inline_job = 1;
        w->inline_since = now;
        w->inline_count++;
        if (!w->armed) {
            w->armed = 1;
            apr_thread_cond_signal(w->lcv);
        }
        apr_thread_mutex_unlock(w->llock);
        run_job(w, jobs);
        /* its answer out now; a request that came meanwhile is the next */
        jobs = help_loop(w);
        apr_thread_mutex_lock(w->llock);
        w->inline_job = 0;
        n = jobs && !jobs->next;
        in_progress = apr_atomic_read32(&w->in_progress);
        now = berth_platform_clock();
    }
    if (!jobs)
        return;
    apr_thread_mutex_unlock(w->llock);
    while (jobs) {
        berth_http_job_t *next = jobs->next;
        to_worker(w, jobs);
        jobs = next;
    }
    apr_thread_mutex_lock(w->llock);
}

/* llock held: waits as the standby. While jobs run on the loop's thread it
 * looks every TAKE_OVER; STANDBY_IDLE after the last, it sleeps until
 * told. */
static void standby(berth_http_work_t *w)
{
    apr_time_t now = berth_platform_clock();
    if (w->inline_count != w->seen_count) {
        w->seen_count = w->inline_count;
        w->seen_at = now;
    } else if (!w->inline_job && now - w->seen_at > STANDBY_IDLE) {
        w->armed = 0;
    }
    if (w->armed || w->inline_job)
        berth_wait_until(w->lcv, w->llock, now + TAKE_OVER);
    else
        apr_thread_cond_wait(w->lcv, w->llock);
}

static void *APR_THREAD_FUNC loop_thread(apr_thread_t *t, void *arg)
{
    berth_http_work_t *w = arg;
    apr_thread_mutex_lock(w->llock);
    while (!w->lstop) {
        apr_time_t now = berth_platform_clock();
        if (w->token ||
            (w->inline_job && now - w->inline_since < TAKE_OVER)) {
            standby(w);
            continue;
        }
        w->token = 1;
        apr_thread_mutex_unlock(w->llock);
        wait_events(w);
        apr_thread_mutex_lock(w->run_lock);
        berth_http_job_t *jobs = run_mhd(w);
        apr_thread_mutex_unlock(w->run_lock);
        if (apr_atomic_xchg32(&w->rewatch, 0) && !jobs)
            apr_atomic_set32(&w->watch, 1);
        apr_thread_mutex_lock(w->llock);
        after_turn(w, jobs);
    }
    apr_thread_mutex_unlock(w->llock);
    (void)t;
    return NULL;
}

apr_status_t berth_http_work_run(berth_http_work_t *w, struct MHD_Daemon *mhd,
                                 int own_loop)
{
    w->mhd = mhd;
    w->own_loop = own_loop;
    if (!own_loop)
        return APR_SUCCESS;
    const union MHD_DaemonInfo *i =
        MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_EPOLL_FD);
    w->epoll_fd = i ? i->epoll_fd : -1;
    apr_status_t rv = berth_platform_fd_file(w->epoll_fd, &w->epoll_file,
                                             w->pool);
    if (rv == APR_SUCCESS)
        rv = apr_file_pipe_create_ex(&w->kick_r, &w->kick_w,
                                     APR_FULL_NONBLOCK, w->pool);
    if (rv != APR_SUCCESS)
        return rv;
    berth_http_conns_set_kick(w->conns, kick, w);
    for (int k = 0; k < 2 && rv == APR_SUCCESS; k++)
        rv = apr_thread_create(&w->loops[k], NULL, loop_thread, w, w->pool);
    return rv;
}

/* The loop's threads end at their next turn (woken). */
static void stop_loops(berth_http_work_t *w)
{
    char b = 'q';
    apr_size_t n = 1;
    apr_thread_mutex_lock(w->llock);
    w->lstop = 1;
    apr_thread_cond_broadcast(w->lcv);
    apr_thread_mutex_unlock(w->llock);
    if (w->kick_w)
        apr_file_write(w->kick_w, &b, &n);
}

MHD_socket berth_http_work_quiesce(berth_http_work_t *w)
{
    stop_loops(w);
    /* not while a thread runs MHD: its epoll code takes the listening
     * socket out of the set as quiescing does, and fails hard on a
     * second removal */
    apr_thread_mutex_lock(w->run_lock);
    MHD_socket s = MHD_quiesce_daemon(w->mhd);
    apr_thread_mutex_unlock(w->run_lock);
    return s;
}

void berth_http_work_stop(berth_http_work_t *w)
{
    apr_status_t ts;
    stop_loops(w);
    for (int k = 0; k < 2; k++)
        if (w->loops[k])
            apr_thread_join(&ts, w->loops[k]);
    apr_thread_mutex_lock(w->lock);
    w->stopping = 1;
    for (int i = 0; i < w->nworkers; i++)
        apr_thread_cond_signal(w->workers[i].cv);
    apr_thread_mutex_unlock(w->lock);
    for (int i = 0; i < w->nworkers; i++)
        apr_thread_join(&ts, w->workers[i].thread);
}
