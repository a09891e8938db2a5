#include "signals.h"

#include <signal.h>
#include <windows.h>

/* Set by the console handler (its own thread), waited for by
 * berth_signals_wait. Created once by berth_signals_install. */
static HANDLE g_event;
static volatile LONG g_signum;

static BOOL WINAPI on_console(DWORD type)
{
    /* sent to services (berth service run) whenever any user logs off:
     * no reason to stop; handled, so that nothing ends the process */
    if (type == CTRL_LOGOFF_EVENT)
        return TRUE;
    InterlockedExchange(&g_signum, type == CTRL_C_EVENT ? SIGINT : SIGTERM);
    SetEvent(g_event);
    return TRUE;
}

apr_status_t berth_signals_install(void)
{
    if (!g_event)
        g_event = CreateEventW(NULL, FALSE, FALSE, NULL);
    SetConsoleCtrlHandler(on_console, TRUE);
    return APR_SUCCESS;
}

int berth_signals_wait(apr_interval_time_t timeout)
{
    if (!g_event)
        return 0;
    DWORD ms = timeout < 0 ? INFINITE : (DWORD)(timeout / 1000);
    if (WaitForSingleObject(g_event, ms) != WAIT_OBJECT_0)
        return 0;
    return (int)InterlockedExchange(&g_signum, 0);
}

void berth_signals_raise(int signum)
{
    if (!g_event)
        return;
    InterlockedExchange(&g_signum, signum);
    SetEvent(g_event);
}

int berth_signals_is_reload(int signum)
{
    return signum == BERTH_SIGNAL_RELOAD; /* Windows has no SIGHUP */
}
