/* The files the service backends install, made from the templates kept
 * beside them (the systemd units and the LaunchAgent plist, service/systemd
 * and service/launchd, carried in the binary by cmake/BerthEmbed.cmake).
 * Pure text in, text out, on every OS, so the Linux suite checks the macOS
 * plist too. */
#ifndef BERTH_SERVICE_FILES_H
#define BERTH_SERVICE_FILES_H

#include <apr_pools.h>

#include "service.h"

/* The templates as shipped. */
extern const char berth_tpl_systemd_system[];
extern const char berth_tpl_systemd_user[];
extern const char berth_tpl_launchd_plist[];
extern const char berth_tpl_config[];

/* TPL with every @KEY@ replaced by the value after KEY in PAIRS (KEY,
 * VALUE, ..., NULL; values as they are, escaped by the caller). NULL when
 * TPL names a key PAIRS lacks, with *MISSING that key. */
const char *berth_svc_fill(const char *tpl, const char *const *pairs,
                           const char **missing, apr_pool_t *pool);

/* S as one word of a systemd command line: in double quotes, with \, "
 * escaped and the specifier and variable signs (%, $) doubled. NULL when S
 * holds a control character (a unit cannot say it). */
const char *berth_svc_systemd_word(const char *s, apr_pool_t *pool);

/* S as XML character data (&, <, > escaped). NULL when S holds a control
 * character XML 1.0 cannot carry. */
const char *berth_svc_xml_text(const char *s, apr_pool_t *pool);

/* The systemd unit for SCOPE running EXE with CONFIG; GROUP (system unit)
 * the supplementary group that reaches the Docker socket, NULL when the
 * machine has none. NULL with *WHY when a path cannot be said in a unit. */
const char *berth_svc_systemd_unit(berth_svc_scope_t scope, const char *exe,
                                   const char *config, const char *group,
                                   const char **why, apr_pool_t *pool);

/* The LaunchAgent plist LABEL running EXE with CONFIG, logging to the
 * folder LOG_DIR. NULL with *WHY when a path cannot be said in XML. */
const char *berth_svc_launchd_plist(const char *label, const char *exe,
                                    const char *config, const char *log_dir,
                                    const char **why, apr_pool_t *pool);

/* The config a service gets when its file does not exist yet (and the one
 * the Debian package ships): service/config.json, no servers, the default
 * listen address. */
const char *berth_svc_starter_config(void);

#endif
