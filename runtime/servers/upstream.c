#include "upstream_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "jsonrpc.h"
#include "jsonwire.h"
#include "log.h"
#include "platform.h"
#include "redact.h"
#include "spin.h"

/* How long the reader thread stays out of the way after a caller read its
 * own answer: the next call of a burst then reads its own as well. */
#define BERTH_UPSTREAM_LINGER (20 * 1000)

/* Who reads the server's stdout now. */
enum { OWNER_NONE, OWNER_READER, OWNER_CALLER };

/* A condition variable of one call, recycled through the session's free
 * list: answers wake only their own caller. */
struct waiter_t {
    apr_thread_cond_t *cv;
    struct waiter_t *next;
};

struct berth_call_t {
    berth_upstream_t *u;
    waiter_t *waiter;
    json_int_t id;
    int done;
    volatile apr_uint32_t answered; /* done, readable without the lock */
    int registered;
    json_t *result;
    json_t *error;
    char *raw;               /* the result as the server wrote it, or NULL */
    apr_size_t raw_len;
    berth_progress_fn progress;
    void *progress_baton;
    apr_time_t deadline;
    apr_interval_time_t timeout;
    char method[64];
};


static json_t *error_obj(int code, const char *message)
{
    return json_pack("{s:i, s:s}", "code", code, "message", message);
}

/* Formats into a stack buffer: u->pool is shared by threads and APR pools
 * are not thread-safe, so messages made outside the lock never use it. */
static json_t *error_objf(int code, const char *fmt, ...)
    BERTH_PRINTF(2, 3);
static json_t *error_objf(int code, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    apr_vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return error_obj(code, buf);
}

typedef struct {
    apr_file_t *f;
    const char *line;
    apr_size_t len;
    apr_status_t rv;
} write_job_t;

/* 0 once the OS said a pipe's room cannot be asked (Windows) */
static volatile apr_uint32_t g_write_now = 1;

static void write_now(void *baton)
{
    write_job_t *j = baton;
    j->rv = berth_process_write_now(j->f, j->line, j->len);
}

/* Writes LINE to the server's stdin (write lock held). A short line is
 * written by the spin keeper when it spins (spin.h): the server is then
 * woken on the keeper's CPU, which is running, and takes it at once, where
 * a wake-up sent from this thread's CPU would cost an interrupt. Only when
 * the pipe has room: the keeper must never block. */
static apr_status_t write_line(apr_file_t *f, const char *line,
                               apr_size_t len)
{
    write_job_t j = { f, line, len, APR_EAGAIN };
    if (len <= BERTH_PROCESS_ATOMIC_WRITE && apr_atomic_read32(&g_write_now) &&
        berth_spin_hand_off(write_now, &j)) {
        if (j.rv == APR_SUCCESS || (!APR_STATUS_IS_EAGAIN(j.rv) &&
                                    !APR_STATUS_IS_ENOTIMPL(j.rv)))
            return j.rv;
        if (APR_STATUS_IS_ENOTIMPL(j.rv))
            apr_atomic_set32(&g_write_now, 0);
    }
    apr_size_t w;
    return apr_file_write_full(f, line, len, &w);
}

/* Sends LINE (LEN bytes with its newline; taken) to the server. */
static apr_status_t send_line(berth_upstream_t *u, char *line, apr_size_t len)
{
    apr_status_t rv;
    if (!line)
        return APR_ENOMEM;
    apr_thread_mutex_lock(u->write_lock);
    if (u->stdin_closed) {
        rv = APR_EOF;
    } else {
        rv = write_line(berth_process_stdin(u->proc), line, len);
    }
    apr_thread_mutex_unlock(u->write_lock);
    free(line);
    return rv;
}

static apr_status_t write_msg(berth_upstream_t *u, json_t *msg)
{
    apr_size_t len;
    char *line = berth_rpc_line(msg, &len);
    return send_line(u, line, len);
}

/* Completes C (lock held) with RESULT, ERROR or RAW (each taken). */
static void complete_as(berth_call_t *c, json_t *result, json_t *error,
                        char *raw, apr_size_t raw_len)
{
    if (c->done) {
        json_decref(result);
        json_decref(error);
        free(raw);
        return;
    }
    c->result = result;
    c->error = error;
    c->raw = raw;
    c->raw_len = raw_len;
    c->done = 1;
    apr_atomic_set32(&c->answered, 1);
    apr_atomic_dec32(&c->u->inflight);
    if (c->registered) {
        apr_hash_set(c->u->pending, &c->id, sizeof c->id, NULL);
        c->registered = 0;
    }
}

static void complete(berth_call_t *c, json_t *result, json_t *error)
{
    complete_as(c, result, error, NULL, 0);
}

static void fail_all(berth_upstream_t *u, const char *why)
{
    apr_hash_index_t *hi;
    apr_thread_mutex_lock(u->lock);
    u->closed = 1;
    if (!u->closed_why)
        u->closed_why = apr_pstrdup(u->pool, why);
    for (hi = apr_hash_first(NULL, u->pending); hi; hi = apr_hash_next(hi)) {
        berth_call_t *c = apr_hash_this_val(hi);
        apr_thread_cond_t *cv = c->waiter->cv;
        complete(c, NULL, error_obj(BERTH_RPC_SERVER_GONE, u->closed_why));
        apr_thread_cond_signal(cv);
    }
    apr_thread_cond_broadcast(u->answered);
    apr_thread_mutex_unlock(u->lock);
}

/* The answer to request KEY: MSG's result or error, or RAW, the result's
 * text (LEN bytes, copied) when MSG is NULL. */
static void answer(berth_upstream_t *u, json_int_t key, json_t *msg,
                   const char *raw, apr_size_t len)
{
    apr_thread_cond_t *cv = NULL;
    /* the line is the reader's buffer, reused by the next read */
    char *copy = msg ? NULL : malloc(len + 1);
    if (copy) {
        memcpy(copy, raw, len);
        copy[len] = '\0';
    }
    apr_thread_mutex_lock(u->lock);
    berth_call_t *c = apr_hash_get(u->pending, &key, sizeof key);
    if (c) {
        /* the caller may free C once it sees the answer; its condition
         * variable stays with the session */
        cv = c->waiter->cv;
        json_t *err = msg ? json_object_get(msg, "error") : NULL;
        if (copy)
            complete_as(c, NULL, NULL, copy, len);
        else if (!msg)
            complete(c, NULL, error_obj(BERTH_RPC_INTERNAL_ERROR,
                                        "no memory for the server's answer"));
        else if (err)
            complete(c, NULL, json_incref(err));
        else
            complete(c, json_incref(json_object_get(msg, "result")), NULL);
    } else {
        free(copy);
    }
    apr_thread_mutex_unlock(u->lock);
    /* after the unlock (the woken caller does not block on the lock), and
     * only that caller: a broadcast would wake every waiter on the server */
    if (cv)
        apr_thread_cond_signal(cv);
    if (!c)
        berth_log(BERTH_LOG_DEBUG, "server %s: a late answer to request %"
                  JSON_INTEGER_FORMAT " (cancelled or timed out), ignored",
                  u->name, key);
}

static void handle_response(berth_upstream_t *u, json_t *msg)
{
    json_t *id = json_object_get(msg, "id");
    if (!json_is_integer(id)) {
        berth_log(BERTH_LOG_DEBUG, "server %s: a response to an id berth "
                  "never sent, ignored", u->name);
        return;
    }
    answer(u, json_integer_value(id), msg, NULL, 0);
}

static void handle_notification(berth_upstream_t *u, const char *method,
                                json_t *params)
{
    if (strcmp(method, "notifications/progress") == 0) {
        json_t *token = json_object_get(params, "progressToken");
        if (!json_is_integer(token))
            return;
        json_int_t key = json_integer_value(token);
        /* under the lock: once berth_upstream_call_free has returned, the
         * call's callback is never run again */
        apr_thread_mutex_lock(u->lock);
        berth_call_t *c = apr_hash_get(u->pending, &key, sizeof key);
        if (c && c->progress)
            c->progress(c->progress_baton, params);
        apr_thread_mutex_unlock(u->lock);
        return;
    }
    if (berth_upstream_list_changed(u, method))
        return;
    if (u->cb.on_notification)
        u->cb.on_notification(u->cb.baton, u, method, params);
}

static void handle_request(berth_upstream_t *u, json_t *msg)
{
    json_t *id = json_object_get(msg, "id");
    const char *method = json_string_value(json_object_get(msg, "method"));
    if (strcmp(method, "ping") == 0) {
        json_t *r = berth_rpc_result(id, json_object());
        write_msg(u, r);
        json_decref(r);
        return;
    }
    if (u->cb.on_request) {
        u->cb.on_request(u->cb.baton, u, id, method,
                         json_object_get(msg, "params"));
        return;
    }
    char text[256];
    apr_snprintf(text, sizeof text, "berth has no client to answer %s",
                 method);
    json_t *r = berth_rpc_error(id, BERTH_RPC_METHOD_NOT_FOUND, text, NULL);
    write_msg(u, r);
    json_decref(r);
}

/* A line that is not JSON-RPC, shortened and redacted for the log. */
static void log_noise(berth_upstream_t *u, const char *line, apr_size_t len)
{
    apr_pool_t *scratch;
    apr_pool_create(&scratch, NULL);
    const char *shown = apr_pstrmemdup(scratch, line, len > 120 ? 120 : len);
    berth_log(BERTH_LOG_WARN, "server %s: skipped a line on stdout that is "
              "not JSON-RPC (%lu bytes): %s%s", u->name, (unsigned long)len,
              berth_redact_text(shown, NULL, scratch), len > 120 ? "..." : "");
    apr_pool_destroy(scratch);
}

/* A line of LEN bytes, over the maximum, was dropped: the request it
 * answers (its id is known without the rest of it) fails now, naming the
 * limit and the size, instead of waiting for its timeout. */
static void too_long(berth_upstream_t *u, apr_size_t len)
{
    json_int_t key;
    apr_thread_cond_t *cv = NULL;
    u->dropped++;
    berth_log(BERTH_LOG_ERROR, "server %s: dropped a message of %lu bytes, "
              "over the %lu byte maximum (max_message)", u->name,
              (unsigned long)len, (unsigned long)u->max_message);
    if (!berth_linereader_dropped_id(u->lr, &key))
        return;
    apr_thread_mutex_lock(u->lock);
    berth_call_t *c = apr_hash_get(u->pending, &key, sizeof key);
    if (c) {
        cv = c->waiter->cv;
        complete(c, NULL, error_objf(
                              BERTH_RPC_TOO_LARGE, "server %s answered %s "
                              "with %lu bytes, over its limit of %lu bytes "
                              "(max_message): raise \"max_message\" in "
                              "berth's config for this server", u->name,
                              c->method, (unsigned long)len,
                              (unsigned long)u->max_message));
    }
    apr_thread_mutex_unlock(u->lock);
    if (cv)
        apr_thread_cond_signal(cv);
}

/* Reads (once) and handles one message of the server's stdout; the caller
 * owns it. APR_SUCCESS (also when the read left a line incomplete: a
 * server that stops mid-line must not hold a caller past its deadline), or
 * the end of stdout (EOF or an error). */
static apr_status_t read_one(berth_upstream_t *u)
{
    const char *line;
    apr_size_t len;
    apr_status_t rv = berth_linereader_next_once(u->lr, &line, &len);
    if (APR_STATUS_IS_EAGAIN(rv))
        return APR_SUCCESS;
    if (rv == BERTH_ELINE_TOO_LONG) {
        too_long(u, len);
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS || len == 0)
        return rv;
    /* a plain answer (most lines) is checked and passed on as text; the
     * rest becomes a tree */
    berth_rpc_scan_t scan;
    json_int_t key;
    if (berth_rpc_scan(line, len, &scan) == 0 &&
        berth_rpc_scan_is_result(line, &scan, &key)) {
        answer(u, key, NULL, line + scan.result.off, scan.result.len);
        return APR_SUCCESS;
    }
    json_t *msg = json_loadb(line, len, 0, NULL);
    berth_rpc_kind_t kind = berth_rpc_classify(msg);
    if (kind == BERTH_RPC_INVALID) {
        u->skipped++;
        log_noise(u, line, len);
    } else if (kind == BERTH_RPC_RESPONSE) {
        handle_response(u, msg);
    } else if (kind == BERTH_RPC_REQUEST) {
        handle_request(u, msg);
    } else {
        handle_notification(u, json_string_value(json_object_get(msg,
                                                                 "method")),
                            json_object_get(msg, "params"));
    }
    json_decref(msg);
    return APR_SUCCESS;
}

/* Wakes whoever polls the server's stdout, to look at the state again. */
static void kick(berth_upstream_t *u)
{
    char b = 1;
    apr_size_t n = 1;
    apr_file_write(u->kick_w, &b, &n); /* a full pipe has a kick already */
}

/* A watch of stdout (spin.h): something to read, a kick, an error, or
 * another call joined this one. */
typedef struct {
    berth_upstream_t *u;
    apr_status_t rv;
    int kicked;
} out_watch_t;

static int out_stirred(void *baton)
{
    out_watch_t *w = baton;
    w->rv = berth_process_wait_readable(berth_process_stdout(w->u->proc),
                                        w->u->kick_r, 0, &w->kicked);
    return !APR_STATUS_IS_TIMEUP(w->rv) ||
           apr_atomic_read32(&w->u->inflight) > 1;
}

/* Reads one message (or waits up to TIMEOUT for one, or for a kick) as
 * the owner WHO; the lock is held on entry and on return. */
static apr_status_t read_as(berth_upstream_t *u, int who,
                            apr_interval_time_t timeout)
{
    apr_status_t rv = APR_SUCCESS;
    int kicked = 0;
    /* a caller alone on the server watches for its answer a while before
     * it sleeps (spin.h), as long as no other call joins it */
    int alone = who == OWNER_CALLER && apr_hash_count(u->pending) == 1;
    u->owner = who;
    apr_thread_mutex_unlock(u->lock);
    if (u->lead && !berth_linereader_buffered(u->lr)) {
        out_watch_t w = { u, APR_TIMEUP, 0 };
        if (alone)
            berth_spin_watch(out_stirred, &w);
        rv = w.rv;
        kicked = w.kicked;
        if (APR_STATUS_IS_TIMEUP(rv))
            rv = berth_process_wait_readable(berth_process_stdout(u->proc),
                                             u->kick_r, timeout, &kicked);
    }
    if (rv == APR_SUCCESS && !kicked)
        rv = read_one(u);
    else if (APR_STATUS_IS_TIMEUP(rv))
        rv = APR_SUCCESS;
    apr_thread_mutex_lock(u->lock);
    u->owner = OWNER_NONE;
    if (rv != APR_SUCCESS) {
        u->eof = 1;
        apr_thread_cond_signal(u->reader_cv);
    }
    return rv;
}

/* Whether the reader thread leaves stdout to the callers now (lock held). */
static int reader_parks(berth_upstream_t *u)
{
    if (u->owner != OWNER_NONE || u->want_lead)
        return 1;
    return !u->closing && apr_hash_count(u->pending) == 0 &&
           berth_platform_clock() < u->linger_until;
}

static void *APR_THREAD_FUNC read_stdout(apr_thread_t *t, void *arg)
{
    berth_upstream_t *u = arg;
    apr_thread_mutex_lock(u->lock);
    while (!u->eof) {
        if (reader_parks(u)) {
            if (u->want_lead && u->owner == OWNER_NONE && u->lead_cv)
                apr_thread_cond_signal(u->lead_cv);
            apr_interval_time_t wait = u->linger_until - berth_platform_clock();
            if (wait < 1000 || u->owner != OWNER_NONE || u->want_lead)
                wait = BERTH_UPSTREAM_LINGER;
            apr_thread_cond_timedwait(u->reader_cv, u->lock, wait);
            continue;
        }
        read_as(u, OWNER_READER, -1);
    }
    apr_thread_mutex_unlock(u->lock);

    /* stdout closed: the server is exiting. Its status names the failure. */
    int code;
    char why[256];
    if (berth_process_wait(u->proc, apr_time_from_sec(2), &code) ==
        APR_SUCCESS)
        apr_snprintf(why, sizeof why, "server %s exited with status %d",
                     u->name, code);
    else
        apr_snprintf(why, sizeof why, "server %s closed its stdout", u->name);
    fail_all(u, why);
    if (u->cb.on_closed)
        u->cb.on_closed(u->cb.closed_baton ? u->cb.closed_baton : u->cb.baton,
                        u, u->closed_why);
    /* return, not apr_thread_exit(): its pthread_exit unwinds past
     * AddressSanitizer\'s thread teardown (a false stack report) */
    (void)t;
    return NULL;
}

static void *APR_THREAD_FUNC read_stderr(apr_thread_t *t, void *arg)
{
    berth_upstream_t *u = arg;
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    berth_linereader_t *lr = berth_linereader_create(
        berth_process_stderr(u->proc), 64 * 1024, pool);
    for (;;) {
        const char *line;
        apr_size_t len;
        apr_status_t rv = berth_linereader_next(lr, &line, &len);
        if (rv == BERTH_ELINE_TOO_LONG) {
            if (u->log)
                berth_logfile_line(u->log, "[berth: a line over 64 KiB "
                                   "was cut]", 30);
            continue;
        }
        if (rv != APR_SUCCESS)
            break;
        if (u->log)
            berth_logfile_line(u->log, line, len);
    }
    apr_pool_destroy(pool);
    /* return, not apr_thread_exit(): its pthread_exit unwinds past
     * AddressSanitizer\'s thread teardown (a false stack report) */
    (void)t;
    return NULL;
}

apr_status_t berth_upstream_start(berth_upstream_t **out, const char *name,
                                  berth_process_t *proc, berth_logfile_t *log,
                                  const berth_upstream_callbacks_t *cb,
                                  apr_size_t max_message, apr_pool_t *pool)
{
    berth_upstream_t *u = apr_pcalloc(pool, sizeof *u);
    apr_status_t rv;
    apr_pool_create(&u->pool, pool);
    u->name = apr_pstrdup(pool, name);
    u->proc = proc;
    u->log = log;
    u->parent = pool;
    if (cb)
        u->cb = *cb;
    u->max_message = max_message ? max_message : BERTH_RPC_MAX_MESSAGE;
    u->pending = apr_hash_make(pool);
    u->lists = json_object();
    u->next_id = 1;
    u->call_timeout = 60 * APR_USEC_PER_SEC; /* the config's default */
    apr_pool_cleanup_register(pool, u, berth_upstream_free_json, apr_pool_cleanup_null);
    apr_thread_mutex_create(&u->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_mutex_create(&u->write_lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_cond_create(&u->answered, pool);
    apr_thread_cond_create(&u->reader_cv, pool);
    u->lr = berth_linereader_create(berth_process_stdout(proc),
                                    u->max_message, u->pool);
    /* callers read their own answers where a poll can wait on stdout and a
     * kick together (not Windows: there the reader thread always reads) */
    if (apr_file_pipe_create_ex(&u->kick_r, &u->kick_w, APR_FULL_NONBLOCK,
                                pool) == APR_SUCCESS) {
        int kicked;
        apr_file_t *probe = u->kick_r;
        u->lead = berth_process_wait_readable(probe, NULL, 0, &kicked) !=
                  APR_ENOTIMPL;
    }
    if ((rv = apr_thread_create(&u->reader, NULL, read_stdout, u, pool)) !=
            APR_SUCCESS ||
        (rv = apr_thread_create(&u->err_reader, NULL, read_stderr, u, pool)) !=
            APR_SUCCESS)
        return rv;
    *out = u;
    return APR_SUCCESS;
}

apr_status_t berth_upstream_call_start(berth_upstream_t *u, const char *method,
                                       json_t *params,
                                       const berth_call_opts_t *opts,
                                       berth_call_t **out)
{
    berth_call_t *c = calloc(1, sizeof *c);
    if (!c) {
        json_decref(params);
        return APR_ENOMEM;
    }
    c->u = u;
    c->progress = opts->progress;
    c->progress_baton = opts->progress_baton;
    c->timeout = opts->timeout;
    c->deadline = berth_platform_clock() + opts->timeout;
    apr_cpystrn(c->method, method, sizeof c->method);
    apr_thread_mutex_lock(u->lock);
    if (u->free_waiters) {
        c->waiter = u->free_waiters;
        u->free_waiters = c->waiter->next;
    } else {
        c->waiter = apr_pcalloc(u->pool, sizeof *c->waiter);
        apr_thread_cond_create(&c->waiter->cv, u->pool);
    }
    if (apr_atomic_inc32(&u->inflight) > 0)
        berth_spin_busy();
    c->id = u->next_id++;
    if (u->closed) {
        complete(c, NULL, error_obj(BERTH_RPC_SERVER_GONE, u->closed_why));
        apr_thread_mutex_unlock(u->lock);
        json_decref(params);
        *out = c;
        return APR_SUCCESS;
    }
    apr_hash_set(u->pending, &c->id, sizeof c->id, c);
    c->registered = 1;
    apr_thread_mutex_unlock(u->lock);

    if (opts->progress) {
        if (!params)
            params = json_object();
        json_t *meta = json_object_get(params, "_meta");
        if (!json_is_object(meta)) {
            meta = json_object();
            json_object_set_new(params, "_meta", meta);
        }
        json_object_set_new(meta, "progressToken", json_integer(c->id));
    }
    apr_size_t len;
    char *line = berth_rpc_request_line(c->id, method, params, &len);
    json_decref(params);
    apr_status_t rv = send_line(u, line, len);
    if (rv != APR_SUCCESS) {
        apr_thread_mutex_lock(u->lock);
        complete(c, NULL, error_objf(BERTH_RPC_SERVER_GONE, "server %s does "
                                     "not accept input", u->name));
        apr_thread_mutex_unlock(u->lock);
    }
    *out = c;
    return APR_SUCCESS;
}

static void send_cancelled(berth_call_t *c, const char *reason)
{
    json_t *n = berth_rpc_notification(
        "notifications/cancelled",
        json_pack("{s:I, s:s}", "requestId", c->id, "reason",
                  reason ? reason : "cancelled"));
    write_msg(c->u, n);
    json_decref(n);
}

/* A watch of a call's answer (spin.h): it came, or another call joined. */
static int call_stirred(void *baton)
{
    berth_call_t *c = baton;
    return apr_atomic_read32(&c->answered) ||
           apr_atomic_read32(&c->u->inflight) > 1;
}

/* Waits for C's answer; the outputs as berth_upstream_call_wait_raw's. */
static apr_status_t wait_answer(berth_call_t *c, char **raw,
                                apr_size_t *raw_len, json_t **result,
                                json_t **error)
{
    berth_upstream_t *u = c->u;
    int timed_out = 0, asked = 0;
    /* Where the caller cannot read its answer itself (Windows), it
     * watches its answered flag a while (spin.h), which saves the reader
     * thread a wake-up of this one; only alone on the server, and it stops
     * as soon as another call joins it. */
    if (!u->lead && apr_atomic_read32(&u->inflight) <= 1)
        berth_spin_watch(call_stirred, c);
    apr_thread_mutex_lock(u->lock);
    while (!c->done) {
        apr_interval_time_t left = c->deadline - berth_platform_clock();
        if (left <= 0) {
            timed_out = 1;
            char secs[32];
            snprintf(secs, sizeof secs, "%g",
                     (double)c->timeout / APR_USEC_PER_SEC);
            complete(c, NULL, error_objf(BERTH_RPC_TIMEOUT, "server %s did "
                                         "not answer %s within %s s", u->name,
                                         c->method, secs));
            break;
        }
        if (u->lead && !u->eof) {
            /* nobody reads: read for everyone until this answer is in */
            if (u->owner == OWNER_NONE) {
                u->want_lead = 0;
                u->leader = c;
                read_as(u, OWNER_CALLER, left);
                u->leader = NULL;
                u->linger_until =
                    berth_platform_clock() + BERTH_UPSTREAM_LINGER;
                continue;
            }
            /* alone on the server while the reader thread reads: ask it to
             * step aside; the calls after this one read their own */
            if (u->owner == OWNER_READER && !u->want_lead &&
                apr_hash_count(u->pending) == 1) {
                u->want_lead = 1;
                u->lead_cv = c->waiter->cv;
                asked = 1;
                kick(u);
            }
        }
        apr_thread_cond_timedwait(c->waiter->cv, u->lock, left);
    }
    if (asked && u->lead_cv == c->waiter->cv) {
        u->lead_cv = NULL;
        u->want_lead = 0;
    }
    /* calls still waiting need a reader: the reader thread, unless one of
     * them reads already */
    if (u->lead && u->owner == OWNER_NONE && apr_hash_count(u->pending) > 0)
        apr_thread_cond_signal(u->reader_cv);
    *result = c->result;
    *error = c->error;
    *raw = c->raw;
    *raw_len = c->raw_len;
    c->result = c->error = NULL;
    c->raw = NULL;
    apr_thread_mutex_unlock(u->lock);
    if (timed_out)
        send_cancelled(c, "timeout");
    return *result || *raw ? APR_SUCCESS : APR_EGENERAL;
}

apr_status_t berth_upstream_call_wait_raw(berth_call_t *c, char **raw,
                                          apr_size_t *raw_len,
                                          json_t **result, json_t **error)
{
    return wait_answer(c, raw, raw_len, result, error);
}

apr_status_t berth_upstream_call_wait(berth_call_t *c, json_t **result,
                                      json_t **error)
{
    char *raw;
    apr_size_t len;
    apr_status_t rv = wait_answer(c, &raw, &len, result, error);
    if (!raw)
        return rv;
    /* the scan accepts all of RFC 8259; jansson refuses a little of it
     * (\u0000, integers beyond 64 bits) */
    json_error_t jerr;
    *result = json_loadb(raw, len, JSON_DECODE_ANY, &jerr);
    free(raw);
    if (*result)
        return APR_SUCCESS;
    *error = error_objf(BERTH_RPC_INTERNAL_ERROR, "server %s answered %s "
                        "with JSON berth cannot read: %s", c->u->name,
                        c->method, jerr.text);
    return APR_EGENERAL;
}

void berth_upstream_call_cancel(berth_call_t *c, const char *reason)
{
    berth_upstream_t *u = c->u;
    int was_pending;
    apr_thread_mutex_lock(u->lock);
    was_pending = !c->done;
    complete(c, NULL, error_objf(BERTH_RPC_INTERNAL_ERROR, "request to %s "
                                 "cancelled: %s", u->name, reason));
    apr_thread_cond_signal(c->waiter->cv);
    if (u->leader == c)
        kick(u); /* its thread polls the server's stdout */
    apr_thread_mutex_unlock(u->lock);
    if (was_pending)
        send_cancelled(c, reason);
}

void berth_upstream_call_free(berth_call_t *c)
{
    if (!c)
        return;
    apr_thread_mutex_lock(c->u->lock);
    if (c->registered)
        apr_hash_set(c->u->pending, &c->id, sizeof c->id, NULL);
    if (!c->done)
        apr_atomic_dec32(&c->u->inflight);
    c->waiter->next = c->u->free_waiters;
    c->u->free_waiters = c->waiter;
    apr_thread_mutex_unlock(c->u->lock);
    json_decref(c->result);
    json_decref(c->error);
    free(c->raw);
    free(c);
}

apr_status_t berth_upstream_request(berth_upstream_t *u, const char *method,
                                    json_t *params,
                                    apr_interval_time_t timeout,
                                    json_t **result, json_t **error)
{
    berth_call_opts_t opts = { timeout, NULL, NULL };
    berth_call_t *c;
    apr_status_t rv = berth_upstream_call_start(u, method, params, &opts, &c);
    if (rv != APR_SUCCESS)
        return rv;
    rv = berth_upstream_call_wait(c, result, error);
    berth_upstream_call_free(c);
    return rv;
}

apr_status_t berth_upstream_notify(berth_upstream_t *u, const char *method,
                                   json_t *params)
{
    json_t *n = berth_rpc_notification(method, params);
    apr_status_t rv = write_msg(u, n);
    json_decref(n);
    return rv;
}

apr_status_t berth_upstream_respond(berth_upstream_t *u, json_t *id,
                                    json_t *result, json_t *error)
{
    json_t *m;
    if (error) {
        m = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "error",
                      error);
        json_decref(result);
    } else {
        m = berth_rpc_result(id, result);
    }
    apr_status_t rv = write_msg(u, m);
    json_decref(m);
    return rv;
}

const char *berth_upstream_name(const berth_upstream_t *u) { return u->name; }

int berth_upstream_closed(berth_upstream_t *u)
{
    apr_thread_mutex_lock(u->lock);
    int c = u->closed;
    apr_thread_mutex_unlock(u->lock);
    return c;
}

void berth_upstream_counters(berth_upstream_t *u, unsigned *dropped,
                             unsigned *skipped)
{
    *dropped = u->dropped;
    *skipped = u->skipped;
}

void berth_upstream_abandon(berth_upstream_t *u, const char *why)
{
    fail_all(u, why);
    /* a caller reading stdout for its own answer is in a poll: wake it */
    kick(u);
}

void berth_upstream_close_input(berth_upstream_t *u)
{
    apr_thread_mutex_lock(u->write_lock);
    if (!u->stdin_closed) {
        apr_file_close(berth_process_stdin(u->proc));
        u->stdin_closed = 1;
    }
    apr_thread_mutex_unlock(u->write_lock);
    /* the reader thread watches for the end at once, not after lingering */
    apr_thread_mutex_lock(u->lock);
    u->closing = 1;
    apr_thread_cond_signal(u->reader_cv);
    apr_thread_mutex_unlock(u->lock);
}

void berth_upstream_close(berth_upstream_t *u, const char *why)
{
    apr_status_t ts;
    berth_upstream_close_input(u);
    if (u->reader) {
        apr_thread_join(&ts, u->reader);
        u->reader = NULL;
    }
    if (u->err_reader) {
        apr_thread_join(&ts, u->err_reader);
        u->err_reader = NULL;
    }
    fail_all(u, why);
    /* a handshake ends at once on the closed session */
    if (u->handshaker) {
        apr_thread_join(&ts, u->handshaker);
        u->handshaker = NULL;
    }
    /* refreshers answer from the (now closed) session quickly */
    apr_thread_mutex_lock(u->lock);
    while (u->refreshers > 0)
        apr_thread_cond_timedwait(u->answered, u->lock, APR_USEC_PER_SEC / 10);
    json_decref(u->init_result);
    u->init_result = NULL;
    json_decref(u->lists);
    u->lists = json_object();
    apr_thread_mutex_unlock(u->lock);
}
