/* The few OS facts the portable runtime asks of platform/<os>/. Each
 * function has one implementation per OS folder, chosen by CMake. Nothing in
 * platform/ decides policy. */
#ifndef BERTH_PLATFORM_H
#define BERTH_PLATFORM_H

#include <time.h>

#include <apr_pools.h>
#include <apr_tables.h>

/* Thread-safe gmtime; returns 0 on failure. */
int berth_platform_gmtime(time_t secs, struct tm *out);

/* 1 when stderr is connected to the systemd journal ($JOURNAL_STREAM names
 * the device and inode of fd 2). */
int berth_platform_stderr_is_journal(void);

/* Default config file locations, most specific first (const char *). The
 * caller uses the first that exists, else reports the first. */
apr_array_header_t *berth_platform_config_candidates(apr_pool_t *pool);

/* Short OS name: "linux", "darwin", "windows". */
const char *berth_platform_os_name(void);

#endif
