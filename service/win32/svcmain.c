/* berth service run: the process the SCM starts for the service berth.
 * StartServiceCtrlDispatcherW gives the main thread to the SCM; ServiceMain
 * (a thread of its own) runs berth serve on the service's config with its
 * state, and its log (a service has no console), in %ProgramData%\berth.
 *
 * What the SCM is told: START_PENDING while berth reads its config and
 * listens, RUNNING when berth_serve says READY, STOP_PENDING with a
 * checkpoint that rises every second while berth stops its servers, then
 * STOPPED with an exit code (a service-specific 1 when berth could not
 * start or failed, which the recovery actions answer). STOP, SHUTDOWN and
 * PRESHUTDOWN all end in berth's own stop (berth_serve_stop: fronts,
 * sessions, then the servers, their containers and job objects);
 * PARAMCHANGE reloads the config. */
#include "win32svc.h"

#include <stdio.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "cli.h"
#include "log.h"
#include "serve.h"

#define START_HINT_MS 30000   /* reading the config and listening */
#define STOP_HINT_MS 5000     /* at most between two checkpoints */
#define LOG_KEEP_SIZE (10 * 1024 * 1024) /* then berth.log.1 at start */
#define FAILURE_TEXT_MAX 2000 /* what berth said, in a failure's event */

typedef struct {
    berth_svc_t *svc;
    apr_pool_t *pool;
    SERVICE_STATUS_HANDLE handle;
    CRITICAL_SECTION lock;    /* the status, from three threads */
    SERVICE_STATUS status;
    berth_serve_t *serve;     /* set before any control is accepted */
    volatile LONG stopping;   /* the stop began */
    HANDLE ticker;            /* the thread raising the checkpoint */
    HANDLE ended;             /* set when berth_serve_run returned */
    FILE *log;                /* berth.log; NULL when it cannot be opened */
    int warned;               /* a failure was told, not its end yet */
    char failed_told[512];    /* the servers failed for good, as told */
} service_t;

/* The one service of this process: ServiceMain takes no baton. */
static service_t g_service;

/* Tells the SCM STATE; a pending state's checkpoint rises with each
 * report. Nothing is told after STOPPED: the SCM may end the process. */
static void report(service_t *s, DWORD state, DWORD code, DWORD hint)
{
    SERVICE_STATUS *st = &s->status;
    EnterCriticalSection(&s->lock);
    if (st->dwCurrentState != SERVICE_STOPPED || state == SERVICE_STOPPED) {
        int pending = state == SERVICE_START_PENDING ||
                      state == SERVICE_STOP_PENDING;
        st->dwServiceType = SERVICE_WIN32_OWN_PROCESS;
        st->dwCheckPoint = !pending ? 0
                           : st->dwCurrentState == state ? st->dwCheckPoint + 1
                                                         : 1;
        st->dwCurrentState = state;
        st->dwControlsAccepted =
            state == SERVICE_RUNNING
                ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN |
                      SERVICE_ACCEPT_PRESHUTDOWN | SERVICE_ACCEPT_PARAMCHANGE
                : 0;
        st->dwWin32ExitCode = code ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR;
        st->dwServiceSpecificExitCode = code;
        st->dwWaitHint = hint;
        if (s->handle && !SetServiceStatus(s->handle, st))
            berth_log(BERTH_LOG_WARN, "windows service: SetServiceStatus: "
                      "error %lu", (unsigned long)GetLastError());
    }
    LeaveCriticalSection(&s->lock);
}

/* While berth stops, the SCM hears every second that it still does. */
static DWORD WINAPI tick(LPVOID baton)
{
    service_t *s = baton;
    while (WaitForSingleObject(s->ended, 1000) == WAIT_TIMEOUT)
        report(s, SERVICE_STOP_PENDING, 0, STOP_HINT_MS);
    return 0;
}

/* The stop began: asked by the SCM, or berth stops by itself. Once. */
static void begin_stop(service_t *s)
{
    if (InterlockedExchange(&s->stopping, 1))
        return;
    report(s, SERVICE_STOP_PENDING, 0, STOP_HINT_MS);
    s->ticker = CreateThread(NULL, 0, tick, s, 0, NULL);
}

static const char *control_name(DWORD control)
{
    return control == SERVICE_CONTROL_STOP       ? "stop"
           : control == SERVICE_CONTROL_SHUTDOWN ? "shutdown"
                                                 : "preshutdown";
}

/* The SCM's requests, on the dispatcher's thread: each only asks berth's
 * loop (berth_signals_raise) and returns at once. */
static DWORD WINAPI on_control(DWORD control, DWORD type, LPVOID data,
                               LPVOID baton)
{
    service_t *s = baton;
    (void)type;
    (void)data;
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
    case SERVICE_CONTROL_PRESHUTDOWN:
        berth_log(BERTH_LOG_INFO, "windows service: the service manager "
                  "asks berth to stop (%s)", control_name(control));
        begin_stop(s);
        berth_serve_stop(s->serve);
        return NO_ERROR;
    case SERVICE_CONTROL_PARAMCHANGE:
        berth_log(BERTH_LOG_INFO, "windows service: the service manager "
                  "asks berth to read its config again");
        berth_serve_reload(s->serve);
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    }
    return ERROR_CALL_NOT_IMPLEMENTED;
}

/* The part of health LINE after WORD ("; failed: x (...)") up to the next
 * state's words; "" when none. */
static const char *part(const char *line, const char *word,
                        apr_pool_t *pool)
{
    const char *p = strstr(line, word);
    if (!p)
        return "";
    const char *end = strstr(p + 2, "; ");
    return end ? apr_pstrndup(pool, p, (apr_size_t)(end - p))
               : apr_pstrdup(pool, p);
}

/* The servers' health line when it changed (their threads, one at a
 * time), in the event log without a restart loop flooding it: a warning
 * when a server first fails or restarts, another when the servers that
 * failed for good are others, an information when all are ready again.
 * The words are berth_control_health's (control.h). */
static void tell_health(service_t *s, const char *line, apr_pool_t *pool)
{
    const char *failed = part(line, "; failed: ", pool);
    int bad = *failed || strstr(line, "; restarting: ");
    int all_ready = !strstr(line, "; ");
    const char *text = apr_pstrcat(pool, "berth's servers: ", line, NULL);
    if ((bad && !s->warned) ||
        (*failed && strcmp(failed, s->failed_told) != 0))
        berth_win_event(EVENTLOG_WARNING_TYPE, BERTH_EVENT_SERVERS, text);
    else if (s->warned && all_ready)
        berth_win_event(EVENTLOG_INFORMATION_TYPE, BERTH_EVENT_SERVERS, text);
    if (bad)
        s->warned = 1;
    else if (all_ready)
        s->warned = 0;
    apr_cpystrn(s->failed_told, failed, sizeof s->failed_told);
}

/* berth_serve's events: from the thread running it, and HEALTH from the
 * servers' threads (so nothing here allocates from S->pool). */
static void on_event(void *baton, berth_serve_event_t ev, const char *text)
{
    service_t *s = baton;
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    switch (ev) {
    case BERTH_SERVE_READY:
        if (!s->stopping)
            report(s, SERVICE_RUNNING, 0, 0);
        berth_win_event(EVENTLOG_INFORMATION_TYPE, BERTH_EVENT_READY,
                        apr_psprintf(pool, "berth is ready: serving at %s",
                                     text));
        break;
    case BERTH_SERVE_STOPPING:
        begin_stop(s);
        break;
    case BERTH_SERVE_HEALTH:
        tell_health(s, text, pool);
        break;
    case BERTH_SERVE_RELOADING:
    case BERTH_SERVE_RELOADED:
        break; /* berth's log says it */
    }
    apr_pool_destroy(pool);
}

/* ---- berth's log: a file ------------------------------------------------- */

static void write_line(void *baton, berth_log_level_t level, const char *line)
{
    service_t *s = baton;
    (void)level;
    fprintf(s->log, "%s\n", line);
    fflush(s->log);
}

/* berth.log in the state folder, appended to (berth.log.1 keeps the last
 * one when it grew past LOG_KEEP_SIZE); every berth_log line goes there. */
static void open_log(service_t *s)
{
    apr_finfo_t fi;
    const char *path = berth_win_log_file(s->svc, s->pool);
    apr_dir_make_recursive(s->svc->state_dir, APR_FPROT_OS_DEFAULT, s->pool);
    if (apr_stat(&fi, path, APR_FINFO_SIZE, s->pool) == APR_SUCCESS &&
        fi.size > LOG_KEEP_SIZE)
        apr_file_rename(path, apr_pstrcat(s->pool, path, ".1", NULL),
                        s->pool);
    s->log = _wfopen(berth_win_wide(path, s->pool), L"ab");
    if (!s->log)
        return;
    /* where this run's lines begin (ftell says 0 until the first write) */
    fseek(s->log, 0, SEEK_END);
    berth_log_set_sink(write_line, s);
}

/* What berth wrote to its log from offset FROM on (its last
 * FAILURE_TEXT_MAX bytes): why it could not start, for the event. */
static const char *said_since(service_t *s, long from)
{
    apr_file_t *f;
    char buf[FAILURE_TEXT_MAX + 1];
    apr_size_t n = FAILURE_TEXT_MAX;
    if (!s->log)
        return "";
    fflush(s->log);
    long end = ftell(s->log);
    apr_off_t at = end - from > FAILURE_TEXT_MAX ? end - FAILURE_TEXT_MAX
                                                 : from;
    if (apr_file_open(&f, berth_win_log_file(s->svc, s->pool),
                      APR_FOPEN_READ | APR_FOPEN_BINARY, 0,
                      s->pool) != APR_SUCCESS)
        return "";
    if (apr_file_seek(f, APR_SET, &at) != APR_SUCCESS ||
        apr_file_read(f, buf, &n) != APR_SUCCESS)
        n = 0;
    apr_file_close(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    return apr_pstrdup(s->pool, buf);
}

/* ---- the service --------------------------------------------------------- */

/* berth serve on the service's config until a stop; the exit code for the
 * SCM (1 when berth could not start, or failed). */
static DWORD serve(service_t *s)
{
    const berth_svc_t *svc = s->svc;
    berth_serve_opts_t o;
    memset(&o, 0, sizeof o);
    o.config = svc->config;
    o.front = BERTH_FRONT_HTTP;
    o.err = s->log ? s->log : stderr;
    o.notify = on_event;
    o.notify_baton = s;
    berth_win_event(EVENTLOG_INFORMATION_TYPE, BERTH_EVENT_STARTING,
                    apr_psprintf(s->pool, "berth is starting (pid %lu): "
                                 "config %s, state and logs in %s",
                                 (unsigned long)GetCurrentProcessId(),
                                 svc->config, svc->state_dir));
    long from = s->log ? ftell(s->log) : 0;
    if (berth_serve_create(&s->serve, &o, s->pool) != APR_SUCCESS) {
        berth_win_event(EVENTLOG_ERROR_TYPE, BERTH_EVENT_FAILED,
                        apr_psprintf(s->pool, "berth could not start; it "
                                     "said:\n%s\nFix that (berth check "
                                     "--config %s), then start the service "
                                     "again: berth service start",
                                     said_since(s, from), svc->config));
        return 1;
    }
    if (berth_serve_run(s->serve) != APR_SUCCESS) {
        berth_win_event(EVENTLOG_ERROR_TYPE, BERTH_EVENT_FAILED,
                        apr_psprintf(s->pool, "berth failed and stopped: see "
                                     "%s", berth_win_log_file(svc, s->pool)));
        return 1;
    }
    berth_win_event(EVENTLOG_INFORMATION_TYPE, BERTH_EVENT_STOPPED,
                    "berth stopped: its servers are stopped");
    return 0;
}

/* The service's state folder is berth's (control.token, logs/), whoever
 * the service runs as (berth_state_dir). */
static void set_state_dir(service_t *s)
{
    SetEnvironmentVariableW(L"BERTH_STATE_DIR",
                            berth_win_wide(s->svc->state_dir, s->pool));
}

static void WINAPI service_main(DWORD argc, LPWSTR *argv)
{
    service_t *s = &g_service;
    (void)argc;
    (void)argv;
    s->handle = RegisterServiceCtrlHandlerExW(BERTH_WIN_SERVICE, on_control,
                                              s);
    if (!s->handle)
        return;
    report(s, SERVICE_START_PENDING, 0, START_HINT_MS);
    set_state_dir(s);
    open_log(s);
    berth_win_events_open();
    if (!s->log)
        berth_win_event(EVENTLOG_WARNING_TYPE, BERTH_EVENT_STARTING,
                        apr_psprintf(s->pool, "cannot write %s: berth runs "
                                     "without its own log",
                                     berth_win_log_file(s->svc, s->pool)));
    DWORD code = serve(s);
    SetEvent(s->ended);
    if (s->ticker)
        WaitForSingleObject(s->ticker, INFINITE);
    berth_log(BERTH_LOG_INFO, "windows service: stopped (exit code %lu)",
              (unsigned long)code);
    report(s, SERVICE_STOPPED, code, 0);
}

int berth_win_service_run(berth_svc_t *svc, apr_pool_t *pool)
{
    service_t *s = &g_service;
    SERVICE_TABLE_ENTRYW table[] = {
        { (LPWSTR)BERTH_WIN_SERVICE, service_main },
        { NULL, NULL },
    };
    memset(s, 0, sizeof *s);
    s->svc = svc;
    s->pool = pool;
    s->status.dwCurrentState = SERVICE_START_PENDING;
    InitializeCriticalSection(&s->lock);
    s->ended = CreateEventW(NULL, TRUE, FALSE, NULL);
    /* returns when the service stopped */
    if (!StartServiceCtrlDispatcherW(table)) {
        DWORD code = GetLastError();
        if (code == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
            fprintf(svc->err, "berth service run: only the Windows service "
                    "manager starts this (berth service start); in a "
                    "terminal, run 'berth serve --config %s'\n",
                    svc->config);
            return BERTH_EXIT_USAGE;
        }
        fprintf(svc->err, "berth service run: cannot reach the service "
                "manager: %s\n", berth_win_error_text(code, pool));
        return BERTH_EXIT_FAILURE;
    }
    berth_win_events_close();
    berth_log_set_sink(NULL, NULL);
    if (s->log)
        fclose(s->log);
    return s->status.dwServiceSpecificExitCode ? BERTH_EXIT_FAILURE
                                               : BERTH_EXIT_OK;
}
