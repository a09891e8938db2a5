#include "errors.h"

#include <string.h>

#include <apr_strings.h>

const char *berth_strerror(apr_status_t status, char *buf, apr_size_t size)
{
    switch (status) {
    case BERTH_ECONFIG:
        apr_cpystrn(buf, "the config file is invalid", size);
        return buf;
    case BERTH_EUSAGE:
        apr_cpystrn(buf, "invalid command line", size);
        return buf;
    case BERTH_ENOSERVER:
        apr_cpystrn(buf, "no such server", size);
        return buf;
    default: {
        /* Windows' texts end in ".  " or a line break: trim to the words */
        char *t = apr_strerror(status, buf, size);
        apr_size_t n = strlen(t);
        while (n && (t[n - 1] == ' ' || t[n - 1] == '\r' ||
                     t[n - 1] == '\n' || t[n - 1] == '.'))
            t[--n] = '\0';
        return t;
    }
    }
}
