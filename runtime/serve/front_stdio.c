#include "front_stdio.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "jsonrpc.h"
#include "log.h"
#include "signals.h"

#define MAX_WORKERS 64

struct berth_stdio_t {
    apr_pool_t *pool;
    berth_hub_t *hub;
    berth_client_t *client;
    apr_file_t *in, *out;
    apr_size_t max_message;
    apr_thread_mutex_t *write_lock;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *cv;
    json_t *jobs;             /* requests waiting for a worker */
    apr_thread_t *workers[MAX_WORKERS];
    int nworkers, idle, busy;
    int stopping;
    int input_ended;
    apr_thread_t *reader, *pusher, *writer;
    apr_thread_cond_t *write_cv;  /* out_queue filled, or stop */
    json_t *out_queue;            /* lines (strings) to write */
    int writer_stop;
};

/* One message, one line, whole, in the order queued. The writing itself
 * is the writer thread's: a client that does not read its stdin must not
 * block a thread that holds a lock of the hub or of a server session (they
 * call sinks with their locks held). LINE (LEN bytes with its newline) is
 * taken. */
static void write_line(berth_stdio_t *s, char *line, apr_size_t len)
{
    apr_thread_mutex_lock(s->write_lock);
    /* after the stop nothing is written (a reader still blocked on stdin
     * may still complain about a line) */
    if (!s->writer_stop) {
        json_array_append_new(s->out_queue, json_stringn_nocheck(line, len));
        apr_thread_cond_signal(s->write_cv);
    }
    apr_thread_mutex_unlock(s->write_lock);
    free(line);
}

static void write_msg(berth_stdio_t *s, json_t *msg)
{
    apr_size_t len;
    char *line = berth_rpc_line(msg, &len);
    if (line)
        write_line(s, line, len);
}

static void *APR_THREAD_FUNC writer(apr_thread_t *t, void *arg)
{
    berth_stdio_t *s = arg;
    apr_thread_mutex_lock(s->write_lock);
    for (;;) {
        while (!json_array_size(s->out_queue) && !s->writer_stop)
            apr_thread_cond_wait(s->write_cv, s->write_lock);
        if (!json_array_size(s->out_queue))
            break;
        json_t *line = json_incref(json_array_get(s->out_queue, 0));
        json_array_remove(s->out_queue, 0);
        apr_thread_mutex_unlock(s->write_lock);
        apr_file_write_full(s->out, json_string_value(line),
                            json_string_length(line), NULL);
        apr_file_flush(s->out);
        json_decref(line);
        apr_thread_mutex_lock(s->write_lock);
    }
    apr_thread_mutex_unlock(s->write_lock);
    (void)t;
    return NULL;
}

static void sink_send(void *baton, json_t *msg)
{
    write_msg(baton, msg);
    json_decref(msg);
}

/* Requests run on a pool of threads that grows while all are busy (a call
 * may wait minutes for a server, or for this client's own answer to a
 * sampling request) up to MAX_WORKERS; threads live until the front stops,
 * so nothing is allocated per request. */
static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *arg)
{
    berth_stdio_t *s = arg;
    berth_sink_t sink = { sink_send, s, 1 };
    apr_thread_mutex_lock(s->lock);
    for (;;) {
        while (!json_array_size(s->jobs) && !s->stopping) {
            s->idle++;
            apr_thread_cond_wait(s->cv, s->lock);
            s->idle--;
        }
        if (!json_array_size(s->jobs))
            break;
        json_t *msg = json_incref(json_array_get(s->jobs, 0));
        json_array_remove(s->jobs, 0);
        s->busy++;
        apr_thread_mutex_unlock(s->lock);
        /* the response as text: a server's answer passes as it came */
        size_t len;
        char *text = berth_hub_handle_text(s->hub, s->client, msg, &sink,
                                           &len);
        if (text) {
            char *line = realloc(text, len + 2);
            if (line) {
                line[len] = '\n';
                line[len + 1] = '\0';
                write_line(s, line, len + 1);
            } else
                free(text);
        }
        json_decref(msg);
        apr_thread_mutex_lock(s->lock);
        s->busy--;
        apr_thread_cond_broadcast(s->cv);
    }
    apr_thread_mutex_unlock(s->lock);
    (void)t;
    return NULL;
}

static void dispatch(berth_stdio_t *s, json_t *msg)
{
    berth_sink_t sink = { sink_send, s, 1 };
    if (berth_rpc_classify(msg) != BERTH_RPC_REQUEST) {
        /* notifications and answers: quick, and in order; counted as busy
         * so a stop waits for them before the session goes */
        apr_thread_mutex_lock(s->lock);
        int stopping = s->stopping;
        if (!stopping)
            s->busy++;
        apr_thread_mutex_unlock(s->lock);
        if (!stopping) {
            json_t *resp = berth_hub_handle(s->hub, s->client, msg, &sink);
            if (resp) {
                write_msg(s, resp);
                json_decref(resp);
            }
            apr_thread_mutex_lock(s->lock);
            s->busy--;
            apr_thread_cond_broadcast(s->cv);
            apr_thread_mutex_unlock(s->lock);
        }
        json_decref(msg);
        return;
    }
    apr_thread_mutex_lock(s->lock);
    if (s->stopping) {
        /* berth is stopping: the session is gone */
        apr_thread_mutex_unlock(s->lock);
        json_decref(msg);
        return;
    }
    json_array_append_new(s->jobs, msg);
    /* an idle worker only counts once it took a job: two requests queued
     * before it wakes must not both wait for it */
    if (s->idle < (int)json_array_size(s->jobs) &&
        s->nworkers < MAX_WORKERS &&
        apr_thread_create(&s->workers[s->nworkers], NULL, worker, s,
                          s->pool) == APR_SUCCESS)
        s->nworkers++;
    apr_thread_cond_signal(s->cv);
    apr_thread_mutex_unlock(s->lock);
}

static void *APR_THREAD_FUNC read_input(apr_thread_t *t, void *arg)
{
    berth_stdio_t *s = arg;
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    berth_linereader_t *r = berth_linereader_create(s->in, s->max_message,
                                                    pool);
    for (;;) {
        const char *line;
        apr_size_t len;
        apr_status_t rv = berth_linereader_next(r, &line, &len);
        if (rv == BERTH_ELINE_TOO_LONG) {
            json_t *e = berth_rpc_error(json_null(), BERTH_RPC_INVALID_REQUEST,
                                        "message too large", NULL);
            write_msg(s, e);
            json_decref(e);
            continue;
        }
        if (rv != APR_SUCCESS)
            break;
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t' ||
                           line[i] == '\r'))
            i++;
        if (i == len)
            continue;
        json_error_t jerr;
        json_t *msg = json_loadb(line, len, 0, &jerr);
        if (!msg) {
            json_t *e = berth_rpc_error(json_null(), BERTH_RPC_PARSE_ERROR,
                                        "parse error: not JSON", NULL);
            write_msg(s, e);
            json_decref(e);
            continue;
        }
        if (!json_is_object(msg)) {
            json_t *e = berth_rpc_error(json_null(), BERTH_RPC_INVALID_REQUEST,
                                        json_is_array(msg)
                                            ? "JSON-RPC batches are not "
                                              "supported"
                                            : "not a JSON-RPC message",
                                        NULL);
            write_msg(s, e);
            json_decref(e);
            json_decref(msg);
            continue;
        }
        dispatch(s, msg);
    }
    apr_pool_destroy(pool);
    apr_thread_mutex_lock(s->lock);
    s->input_ended = 1;
    apr_thread_mutex_unlock(s->lock);
    berth_signals_raise(BERTH_SIGNAL_INPUT_ENDED);
    (void)t;
    return NULL;
}

/* The session's own messages (list_changed, resource updates, logs outside
 * a call) as they come. */
static void *APR_THREAD_FUNC push_queue(apr_thread_t *t, void *arg)
{
    berth_stdio_t *s = arg;
    for (;;) {
        int closed = 0;
        json_t *msg = berth_client_next(s->client, apr_time_from_sec(1),
                                        &closed);
        if (msg) {
            write_msg(s, msg);
            json_decref(msg);
        } else if (closed) {
            break;
        }
    }
    (void)t;
    return NULL;
}

apr_status_t berth_stdio_start(berth_stdio_t **out, berth_hub_t *hub,
                               apr_file_t *in, apr_file_t *out_file,
                               apr_size_t max_message, apr_pool_t *pool)
{
    berth_stdio_t *s = apr_pcalloc(pool, sizeof *s);
    apr_pool_create(&s->pool, pool);
    s->hub = hub;
    s->in = in;
    s->out = out_file;
    s->max_message = max_message ? max_message : BERTH_RPC_MAX_MESSAGE;
    apr_thread_mutex_create(&s->write_lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_cond_create(&s->write_cv, pool);
    s->out_queue = json_array();
    apr_thread_mutex_create(&s->lock, APR_THREAD_MUTEX_DEFAULT, pool);
    apr_thread_cond_create(&s->cv, pool);
    s->jobs = json_array();
    s->client = berth_hub_session_new(hub);
    if (!s->client)
        return APR_EGENERAL;
    apr_status_t rv = apr_thread_create(&s->writer, NULL, writer, s, pool);
    if (rv == APR_SUCCESS)
        rv = apr_thread_create(&s->pusher, NULL, push_queue, s, pool);
    if (rv == APR_SUCCESS)
        rv = apr_thread_create(&s->reader, NULL, read_input, s, pool);
    *out = s;
    return rv;
}

void berth_stdio_stop(berth_stdio_t *s)
{
    apr_status_t ts;
    /* calls in flight are cancelled with the session: workers come back */
    berth_hub_session_close(s->hub, s->client);
    apr_thread_mutex_lock(s->lock);
    s->stopping = 1;
    apr_thread_cond_broadcast(s->cv);
    /* the reader's inline work (answers, notifications) finishes first */
    while (s->busy > 0)
        apr_thread_cond_wait(s->cv, s->lock);
    int ended = s->input_ended;
    apr_thread_mutex_unlock(s->lock);
    for (int i = 0; i < s->nworkers; i++)
        apr_thread_join(&ts, s->workers[i]);
    apr_thread_join(&ts, s->pusher);
    /* everything queued is written before berth exits */
    apr_thread_mutex_lock(s->write_lock);
    s->writer_stop = 1;
    apr_thread_cond_signal(s->write_cv);
    apr_thread_mutex_unlock(s->write_lock);
    apr_thread_join(&ts, s->writer);
    /* A reader blocked on a stdin that never ends stays until the process
     * ends, which is near. It touches neither the jobs nor the session any
     * more (it sees stopping first), and writes nothing (writer_stop), so
     * they go now either way. */
    if (ended)
        apr_thread_join(&ts, s->reader);
    apr_thread_mutex_lock(s->lock);
    json_decref(s->jobs);
    s->jobs = NULL;
    apr_thread_mutex_unlock(s->lock);
    apr_thread_mutex_lock(s->write_lock);
    json_decref(s->out_queue);
    s->out_queue = NULL;
    apr_thread_mutex_unlock(s->write_lock);
    berth_hub_session_release(s->hub, s->client);
}
