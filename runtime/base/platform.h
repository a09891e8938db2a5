/* The few OS facts the portable runtime asks of platform/<os>/. Each
 * function has one implementation per OS folder, chosen by CMake. Nothing in
 * platform/ decides policy. */
#ifndef BERTH_PLATFORM_H
#define BERTH_PLATFORM_H

#include <stddef.h>
#include <time.h>

#include <apr_pools.h>
#include <apr_portable.h> /* apr_os_sock_t */
#include <apr_tables.h>
#include <apr_time.h>

/* Thread-safe gmtime; returns 0 on failure. */
int berth_platform_gmtime(time_t secs, struct tm *out);

/* 1 when stderr is connected to the systemd journal ($JOURNAL_STREAM names
 * the device and inode of fd 2). */
int berth_platform_stderr_is_journal(void);

/* Default config file locations, most specific first (const char *). The
 * caller uses the first that exists, else reports the first. */
apr_array_header_t *berth_platform_config_candidates(apr_pool_t *pool);

/* Puts stdout and stderr in binary mode where the C library would turn
 * "\n" into "\r\n" (Windows), so output is the same bytes everywhere. */
void berth_platform_init_stdio(void);

/* A monotonic clock in microseconds, for deadlines, timeouts and
 * intervals: it does not jump when the wall clock is set (NTP, a user, a
 * laptop that wakes up), which apr_time_now() does. Its zero is arbitrary:
 * never mix the two. */
apr_time_t berth_platform_clock(void);

/* CPUs this process may run on (its affinity), at least 1. */
int berth_platform_cpus(void);

/* Short OS name: "linux", "darwin", "windows". */
const char *berth_platform_os_name(void);

#include "hostfacts.h"
/* The running OS as host facts name it. */
berth_os_t berth_platform_os(void);

/* The facts of the running machine as the OS reports them, nothing decided
 * (berth_hostfacts_real, runtime/hostfacts.c, completes them). */
apr_status_t berth_platform_hostfacts(berth_hostfacts_t **out,
                                      apr_pool_t *pool);

/* berth's private state folder for this user (cidfiles live below it):
 * $XDG_RUNTIME_DIR/berth, else ~/.cache/berth on Unix; macOS
 * ~/Library/Caches/berth; Windows %LOCALAPPDATA%\berth. */
const char *berth_platform_state_dir(const berth_hostfacts_t *facts,
                                     apr_pool_t *pool);

/* The absolute path of the running berth binary (a service runs it by
 * that path); NULL when the OS will not say. */
const char *berth_platform_exe_path(apr_pool_t *pool);

/* This process's id. */
long berth_platform_pid(void);

/* When process PID started, in seconds since the epoch (whole seconds; two
 * reads of one process agree within a second). APR_ENOENT when no such
 * process runs (a zombie counts as gone); another error when the OS will not
 * say (then the caller must assume it runs). The pair (pid, start) names a
 * process across pid reuse: it is how a berth instance is known alive. */
apr_status_t berth_platform_process_started(long pid, apr_int64_t *secs);

/* Lowers the calling thread to the lowest priority there is: it runs only
 * on a CPU that has nothing else to run, and any other thread woken there
 * takes the CPU from it at once (Linux SCHED_IDLE, Windows
 * THREAD_PRIORITY_IDLE). It cannot be raised again. APR_ENOTIMPL where the
 * OS has no such priority (macOS). */
apr_status_t berth_platform_thread_lowest(void);

/* Gives memory the C library keeps free back to the system (after many
 * sessions ended); a no-op where the C library has no such call. */
void berth_platform_trim_memory(void);

/* Runs ARGV (argv[0] a path, or a name searched on the facts' PATH) with
 * the facts' environment and stdin empty, and captures its stdout and
 * stderr together in RES, for the commands of a service manager
 * (systemctl, launchctl, useradd). The whole process group is killed when
 * TIMEOUT passes. APR_ENOENT when the program is not found; APR_ENOTIMPL
 * where berth runs no such commands (Windows). */
apr_status_t berth_platform_run(const berth_hostfacts_t *facts,
                                const char *const *argv,
                                apr_interval_time_t timeout,
                                berth_capture_t *res, apr_pool_t *pool);

/* ---- sockets for the HTTP front ---- */

/* 1 when socket FD has something to read or its peer closed; never blocks.
 * (An error counts as readable too: a caller waiting for the socket stops,
 * and its next read meets the error.) */
int berth_platform_socket_readable(apr_os_sock_t fd);

/* Closes socket FD (close / closesocket). */
void berth_platform_socket_close(apr_os_sock_t fd);

/* The address of socket address SA (a struct sockaddr of IPv4 or IPv6),
 * without its port, into ADDR (16 bytes); its length, 0 for another
 * family. */
size_t berth_platform_sockaddr_host(const void *sa, unsigned char *addr);

/* Shuts socket FD down both ways without closing it: whoever polls it sees
 * its end and closes it, and the descriptor cannot be reused meanwhile. */
void berth_platform_socket_shutdown(apr_os_sock_t fd);

/* How many descriptors this process may have open (the soft limit), after
 * raising it towards WANT as far as the hard limit allows; 0 when the OS
 * sets no such limit on sockets (Windows). */
unsigned long berth_platform_fd_limit(unsigned long want);

/* Descriptor FD (an epoll set) as an APR file to wait on, and whether it is
 * readable now without waiting; APR_ENOTIMPL and 0 where the OS has no
 * such descriptors (Windows: the HTTP front then runs without them). */
apr_status_t berth_platform_fd_file(int fd, apr_file_t **file,
                                    apr_pool_t *pool);
int berth_platform_fd_readable(int fd);

#endif
