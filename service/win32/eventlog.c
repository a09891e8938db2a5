/* The Application event log: the source "berth" registered at install (its
 * message file is berth.exe, which carries service/win32/messages.mc), and
 * the events the running service reports: starting, ready, stopped, failed,
 * and servers that failed. Every event is in berth.log too, so the event
 * log is where an administrator looks first, not the only record. */
#include "win32svc.h"

#include <apr_strings.h>

#include "log.h"

#define SOURCE_KEY L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\" \
                   L"Application\\berth"

/* Opened by the running service only; reports come from its threads. */
static HANDLE g_source;

void berth_win_events_open(void)
{
    if (!g_source)
        g_source = RegisterEventSourceW(NULL, BERTH_WIN_SERVICE);
    if (!g_source)
        berth_log(BERTH_LOG_WARN, "windows service: no event log source: "
                  "error %lu", (unsigned long)GetLastError());
}

void berth_win_events_close(void)
{
    if (g_source)
        DeregisterEventSource(g_source);
    g_source = NULL;
}

int berth_win_event(WORD type, berth_win_event_t id, const char *text)
{
    apr_pool_t *pool;
    berth_log_level_t level = type == EVENTLOG_ERROR_TYPE     ? BERTH_LOG_ERROR
                              : type == EVENTLOG_WARNING_TYPE ? BERTH_LOG_WARN
                                                              : BERTH_LOG_INFO;
    apr_pool_create(&pool, NULL);
    LPCWSTR strings[1] = { berth_win_wide(text, pool) };
    int ok = g_source && ReportEventW(g_source, type, 0, (DWORD)id, NULL, 1,
                                      0, strings, NULL);
    berth_log(level, "%s event %d to the event log: %s",
              ok ? "reported" : "could not report", (int)id, text);
    apr_pool_destroy(pool);
    return ok;
}

const char *berth_win_error_text(DWORD code, apr_pool_t *pool)
{
    wchar_t buf[512];
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM |
                                 FORMAT_MESSAGE_IGNORE_INSERTS,
                             NULL, code, 0, buf, sizeof buf / sizeof buf[0],
                             NULL);
    /* Windows ends its messages with ".\r\n": a message is one line here */
    while (n > 0 && (buf[n - 1] == L'\r' || buf[n - 1] == L'\n' ||
                     buf[n - 1] == L' ' || buf[n - 1] == L'.'))
        n--;
    if (n == 0)
        return apr_psprintf(pool, "error %lu", (unsigned long)code);
    buf[n] = L'\0';
    return apr_psprintf(pool, "%s (error %lu)", berth_win_utf8(buf, pool),
                        (unsigned long)code);
}

static apr_status_t registry_error(berth_svc_t *svc, const char *step,
                                   LSTATUS code, apr_pool_t *pool)
{
    fprintf(svc->err, "berth service: cannot %s HKLM\\SYSTEM\\"
            "CurrentControlSet\\Services\\EventLog\\Application\\berth: "
            "%s%s\n", step, berth_win_error_text((DWORD)code, pool),
            code == ERROR_ACCESS_DENIED ? "; run it from an elevated prompt "
            "(Run as administrator)" : "");
    return APR_FROM_OS_ERROR((DWORD)code);
}

apr_status_t berth_win_event_source_add(berth_svc_t *svc, apr_pool_t *pool)
{
    HKEY key;
    DWORD types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE |
                  EVENTLOG_INFORMATION_TYPE;
    const wchar_t *exe = berth_win_wide(svc->exe, pool);
    LSTATUS rc = RegCreateKeyExW(HKEY_LOCAL_MACHINE, SOURCE_KEY, 0, NULL, 0,
                                 KEY_SET_VALUE, NULL, &key, NULL);
    if (rc != ERROR_SUCCESS)
        return registry_error(svc, "make", rc, pool);
    rc = RegSetValueExW(key, L"EventMessageFile", 0, REG_EXPAND_SZ,
                        (const BYTE *)exe,
                        (DWORD)((wcslen(exe) + 1) * sizeof(wchar_t)));
    if (rc == ERROR_SUCCESS)
        rc = RegSetValueExW(key, L"TypesSupported", 0, REG_DWORD,
                            (const BYTE *)&types, sizeof types);
    RegCloseKey(key);
    if (rc != ERROR_SUCCESS)
        return registry_error(svc, "write", rc, pool);
    fprintf(svc->out, "  registered the event source berth (Application "
            "log), messages from %s\n", svc->exe);
    return APR_SUCCESS;
}

apr_status_t berth_win_event_source_remove(berth_svc_t *svc,
                                           apr_pool_t *pool)
{
    LSTATUS rc = RegDeleteKeyW(HKEY_LOCAL_MACHINE, SOURCE_KEY);
    if (rc == ERROR_FILE_NOT_FOUND)
        return APR_SUCCESS;
    if (rc != ERROR_SUCCESS)
        return registry_error(svc, "remove", rc, pool);
    fprintf(svc->out, "  removed the event source berth\n");
    return APR_SUCCESS;
}
