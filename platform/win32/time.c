#include "platform.h"

int berth_platform_gmtime(time_t secs, struct tm *out)
{
    return gmtime_s(out, &secs) == 0;
}

/* The journal is a Linux facility; the Windows service logs elsewhere. */
int berth_platform_stderr_is_journal(void) { return 0; }
