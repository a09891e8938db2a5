/* The Windows backend's parts (service/win32). Internal.
 *
 *   scm.c      berth service install|uninstall|start|stop|status: the
 *              service control manager's API
 *   svcmain.c  berth service run: what the SCM starts (ServiceMain, the
 *              control handler, the status it reports)
 *   eventlog.c the Application event log: the event source and its events
 *
 * The service is "berth", one process running as LocalSystem; its config,
 * control.token, logs/ and berth.log are in %ProgramData%\berth. */
#ifndef BERTH_SERVICE_WIN32SVC_H
#define BERTH_SERVICE_WIN32SVC_H

#include <windows.h>
#include <winsvc.h>

#include <apr_pools.h>

#include "backend.h"
/* berth_win_wide, berth_win_utf8: the platform's UTF-8 <-> UTF-16 */
#include "../../platform/win32/win32_util.h"

/* The name the SCM and the event log know it by. */
#define BERTH_WIN_SERVICE L"berth"

/* berth's own log file in the service's state folder. */
const char *berth_win_log_file(const berth_svc_t *svc, apr_pool_t *pool);

/* The run hook (svcmain.c). */
int berth_win_service_run(berth_svc_t *svc, apr_pool_t *pool);

/* ---- eventlog.c ---- */

/* The events berth reports (service/win32/messages.mc gives each the text
 * "%1": the message is the one string an event carries). */
typedef enum {
    BERTH_EVENT_STARTING = 1,
    BERTH_EVENT_READY = 2,
    BERTH_EVENT_STOPPED = 3,
    BERTH_EVENT_FAILED = 4,
    BERTH_EVENT_SERVERS = 5
} berth_win_event_t;

/* Opens and closes the event source for the running service. */
void berth_win_events_open(void);
void berth_win_events_close(void);

/* Reports TEXT as event ID of TYPE (EVENTLOG_INFORMATION_TYPE, _WARNING_,
 * _ERROR_); 1 when the event log took it. Says it in berth's log too. */
int berth_win_event(WORD type, berth_win_event_t id, const char *text);

/* Registers the event source "berth" (Application log) with EXE as its
 * message file, or removes it; an error after saying why on SVC->err. */
apr_status_t berth_win_event_source_add(berth_svc_t *svc, apr_pool_t *pool);
apr_status_t berth_win_event_source_remove(berth_svc_t *svc,
                                           apr_pool_t *pool);

/* ---- shared ---- */

/* Windows' words for error CODE, one line. */
const char *berth_win_error_text(DWORD code, apr_pool_t *pool);

#endif
