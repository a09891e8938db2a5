/* What service.c asks of the backend of this OS (service/systemd,
 * service/launchd, service/win32; CMake builds one). Internal to
 * service/. */
#ifndef BERTH_SERVICE_BACKEND_H
#define BERTH_SERVICE_BACKEND_H

#include <stdio.h>

#include <apr_pools.h>
#include <apr_file_info.h>
#include <apr_tables.h>

#include "hostfacts.h"
#include "service.h"

/* One service as the command asks for it. service.c fills scope (never
 * DEFAULT), exe, facts and the streams; the backend's locate fills the
 * rest, and --config replaces its config. */
typedef struct {
    berth_svc_scope_t scope;
    const char *exe;        /* this berth, absolute */
    const char *config;     /* the config file the service reads, absolute */
    const char *state_dir;  /* its state folder: control.token, logs/ */
    const char *log;        /* where its own log goes, in words */
    const char *unit;       /* the file or name the manager knows it by */
    int start;              /* install: start it too */
    const berth_hostfacts_t *facts;
    FILE *out, *err;
} berth_svc_t;

/* What the manager says of the service. */
typedef struct {
    int installed;
    int running;
    const char *manager;    /* "systemd (system)", "launchd (gui/501)" */
    const char *state;      /* the manager's own words, e.g. "active (running)" */
    apr_array_header_t *notes; /* const char *: more lines worth telling */
} berth_svc_info_t;

typedef struct {
    const char *name;       /* "systemd", "launchd", "windows" */
    unsigned scopes;        /* 1 << BERTH_SVC_SCOPE_USER | ... */
    /* The scope when the command names none. */
    berth_svc_scope_t (*default_scope)(const berth_hostfacts_t *facts);
    /* Fills SVC's config, state_dir, log and unit for its scope. */
    void (*locate)(berth_svc_t *svc, apr_pool_t *pool);
    /* Each says what it did on SVC->out and why it failed on SVC->err;
     * APR_SUCCESS or an error after saying so. */
    apr_status_t (*install)(berth_svc_t *svc, apr_pool_t *pool);
    apr_status_t (*uninstall)(berth_svc_t *svc, apr_pool_t *pool);
    apr_status_t (*start)(berth_svc_t *svc, apr_pool_t *pool);
    apr_status_t (*stop)(berth_svc_t *svc, apr_pool_t *pool);
    void (*query)(berth_svc_t *svc, berth_svc_info_t *info, apr_pool_t *pool);
    /* "berth service run": the service's own entry point where the
     * manager starts one (Windows); NULL where it runs berth serve. */
    int (*run)(berth_svc_t *svc, apr_pool_t *pool);
    /* berth_service_serve_hooks for this OS; NULL: none. */
    void (*serve_hooks)(berth_serve_opts_t *opts, apr_pool_t *pool);
} berth_svc_backend_t;

/* This OS's backend. */
extern const berth_svc_backend_t berth_svc_backend;

/* ---- what service.c offers the backends ---- */

/* Runs ARGV (berth_platform_run) and says it on SVC->out as "  $ ...";
 * its output is printed when it fails (or always, with ECHO). Returns its
 * exit status, or -1 after saying why it could not run. *OUT (may be
 * NULL) receives the output. */
int berth_svc_exec(berth_svc_t *svc, const char *const *argv, int echo,
                   const char **out, apr_pool_t *pool);

/* rw-r--r--, the mode of a unit or a plist, in APR's bits (which are not
 * octal mode bits: 0644 would say --x-w-r--). */
#define BERTH_SVC_FILE_PERMS                                                  \
    (APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD | APR_FPROT_WREAD)

/* Writes TEXT to PATH (its folder made with MODE 0755 when missing) by a
 * temporary file renamed into place, with permissions PERMS; says so on
 * SVC->out. An error after saying why on SVC->err. */
apr_status_t berth_svc_write_file(berth_svc_t *svc, const char *path,
                                  const char *text, apr_fileperms_t perms,
                                  apr_pool_t *pool);

/* Removes PATH when it exists, saying so; an error after saying why. */
apr_status_t berth_svc_remove_file(berth_svc_t *svc, const char *path,
                                   apr_pool_t *pool);

/* Makes SVC->config with a starter config (no servers yet) when there is
 * no file there, and says so; a config that exists is never touched. */
apr_status_t berth_svc_ensure_config(berth_svc_t *svc, apr_pool_t *pool);

#endif
