/* Which config file berth reads, and reading it for a command or for the
 * long-running berth: every diagnostic printed, the secrets it holds
 * registered with the log redactor before anything is logged. */
#ifndef BERTH_CFGFILE_H
#define BERTH_CFGFILE_H

#include <stdio.h>

#include <apr_pools.h>
#include <apr_tables.h>

#include "config.h"

/* OPTION when given (--config), else $BERTH_CONFIG, else the first
 * platform default that exists; NULL when none does, with *TRIED listing
 * the defaults looked at. */
const char *berth_cfgfile_path(const char *option, const char **tried,
                               apr_pool_t *pool);

/* Loads the file berth_cfgfile_path names for OPTION, printing every
 * diagnostic to ERR. The secrets of a valid config, with those in KEEP
 * (the config in force's, while a reload replaces it; may be NULL), are
 * registered with the log redactor as one new list; *SECRETS (may be NULL)
 * receives the new config's own, to be registered alone once nothing of
 * the old config runs (berth_daemon_reload's LOG_SECRETS). NULL,
 * after printing why, when there is no file or it is invalid (the log
 * redactor then keeps KEEP, and *SECRETS is not touched). */
berth_config_t *berth_cfgfile_load(const char *option,
                                   const apr_array_header_t *keep,
                                   apr_array_header_t **secrets, FILE *err,
                                   apr_pool_t *pool);

/* Adds to SECRETS (const char *) every value CFG holds that must never
 * reach a log: each server's berth_config_server_secrets. */
void berth_cfgfile_add_secrets(apr_array_header_t *secrets,
                               const berth_config_t *cfg);

#endif
