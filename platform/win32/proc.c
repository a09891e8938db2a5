/* Process identity on Windows: the creation time GetProcessTimes reports. */
#include "platform.h"
#include "win32_util.h"

#include <windows.h>

long berth_platform_pid(void) { return (long)GetCurrentProcessId(); }

apr_status_t berth_platform_process_started(long pid, apr_int64_t *secs)
{
    FILETIME created, exited, kernel, user;
    DWORD code = 0;
    if (pid <= 0)
        return APR_ENOENT;
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
                           (DWORD)pid);
    if (!h) {
        DWORD err = GetLastError();
        /* no such process; access denied means it runs as someone else */
        return err == ERROR_INVALID_PARAMETER ? APR_ENOENT
                                              : APR_FROM_OS_ERROR(err);
    }
    BOOL ok = GetProcessTimes(h, &created, &exited, &kernel, &user) &&
              GetExitCodeProcess(h, &code);
    CloseHandle(h);
    if (!ok)
        return APR_EGENERAL;
    if (code != STILL_ACTIVE)
        return APR_ENOENT; /* exited; a handle somewhere keeps it listed */
    ULARGE_INTEGER t;
    t.LowPart = created.dwLowDateTime;
    t.HighPart = created.dwHighDateTime;
    /* 100 ns ticks since 1601 -> seconds since 1970 */
    *secs = (apr_int64_t)(t.QuadPart / 10000000ULL) - 11644473600LL;
    return APR_SUCCESS;
}

void berth_platform_trim_memory(void) {}

apr_status_t berth_platform_thread_lowest(void)
{
    return SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_IDLE)
               ? APR_SUCCESS
               : APR_FROM_OS_ERROR(GetLastError());
}

const char *berth_platform_exe_path(apr_pool_t *pool)
{
    wchar_t buf[32768];
    DWORD n = GetModuleFileNameW(NULL, buf, sizeof buf / sizeof buf[0]);
    if (n == 0 || n >= sizeof buf / sizeof buf[0])
        return NULL;
    return berth_win_utf8(buf, pool);
}
