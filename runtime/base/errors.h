/* berth's own status codes, above APR's user range, and their one text. */
#ifndef BERTH_ERRORS_H
#define BERTH_ERRORS_H

#include <apr_errno.h>

#define BERTH_ECONFIG (APR_OS_START_USERERR + 1)  /* config file is invalid */
#define BERTH_EUSAGE  (APR_OS_START_USERERR + 2)  /* bad command line */
#define BERTH_ENOSERVER (APR_OS_START_USERERR + 3) /* no such server */

/* Text for any status, berth's or APR's, into BUF. */
const char *berth_strerror(apr_status_t status, char *buf, apr_size_t size);

#endif
