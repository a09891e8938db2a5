#include "platform.h"

#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <windows.h>

int berth_platform_gmtime(time_t secs, struct tm *out)
{
    return gmtime_s(out, &secs) == 0;
}

/* The journal is a Linux facility; the Windows service logs elsewhere. */
int berth_platform_stderr_is_journal(void) { return 0; }

void berth_platform_init_stdio(void)
{
    _setmode(_fileno(stdout), _O_BINARY);
    _setmode(_fileno(stderr), _O_BINARY);
}

/* The performance counter: microseconds, where GetTickCount64 has the
 * scheduler tick's 10-16 ms (too coarse for a 100 us watch). */
apr_time_t berth_platform_clock(void)
{
    LARGE_INTEGER c, f; /* neither call fails since Windows XP; the
                         * frequency is fixed at boot and cheap to ask */
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    LONGLONG hz = f.QuadPart;
    return (apr_time_t)(c.QuadPart / hz * APR_USEC_PER_SEC +
                        c.QuadPart % hz * APR_USEC_PER_SEC / hz);
}

int berth_platform_cpus(void)
{
    DWORD_PTR proc = 0, sys = 0;
    int n = 0;
    if (GetProcessAffinityMask(GetCurrentProcess(), &proc, &sys))
        for (; proc; proc &= proc - 1)
            n++;
    return n > 0 ? n : 1;
}
