/* What the command files share (cli.c parses the command line; cmd_*.c
 * run the commands by kind: cmd_inspect.c check, servers, plan, doctor;
 * cmd_oneshot.c tools, call; cmd_serve.c serve, stdio, status, restart).
 * Internal to the command line. */
#ifndef BERTH_CMD_H
#define BERTH_CMD_H

#include <stdio.h>

#include <apr_pools.h>
#include <apr_time.h>
#include <jansson.h>

#include "cli.h"
#include "config.h"
#include "spawnctx.h"

typedef struct {
    const char *config;
    const char *log_level;
    const char *server;   /* berth plan SERVER, berth call SERVER TOOL */
    const char *tool;
    const char *args;     /* berth call --args JSON */
    const char *action;   /* berth service ACTION */
    int scope;            /* berth service --user (1) / --system (2) */
    int no_start;         /* berth service install --no-start */
    int json;
    int help;
} berth_cmd_opts_t;

/* Every command runs with the parsed options, its two streams and a pool,
 * and returns the exit status (cli.h). */
typedef int berth_cmd_fn(const berth_cmd_opts_t *opt, FILE *out, FILE *err,
                         apr_pool_t *pool);

berth_cmd_fn berth_cmd_check, berth_cmd_servers, berth_cmd_plan,
    berth_cmd_doctor, berth_cmd_tools, berth_cmd_call, berth_cmd_serve,
    berth_cmd_stdio, berth_cmd_status, berth_cmd_restart, berth_cmd_service;

/* The config for a command (--config, $BERTH_CONFIG or the default), its
 * diagnostics printed to ERR; NULL, after saying why, when unusable. */
berth_config_t *berth_cmd_load_config(const berth_cmd_opts_t *opt, FILE *err,
                                      apr_pool_t *pool);

/* The config when there is one to read (--config given, or a file at the
 * usual place), for commands that work without one too. *FAILED is 1 when
 * there was one and it is invalid (said on ERR). */
berth_config_t *berth_cmd_optional_config(const berth_cmd_opts_t *opt,
                                          int *failed, FILE *err,
                                          apr_pool_t *pool);

/* This machine's facts in a spawn context; NULL after saying why. */
berth_spawnctx_t *berth_cmd_spawn_context(FILE *err, apr_pool_t *pool);

/* The server called NAME, or NULL after saying which ones there are. CMD
 * names the command in the message. */
const berth_server_config_t *berth_cmd_find_server(const berth_config_t *cfg,
                                                   const char *name,
                                                   const char *cmd, FILE *err,
                                                   apr_pool_t *pool);

/* J (stolen) indented, and a newline. */
void berth_cmd_print_json(json_t *j, FILE *out);

/* Asks the berth serve at CFG's listen address (the default one without a
 * config) METHOD PATH with the control token. 1 with *BODY and *STATUS; on
 * failure says why on ERR (when not NULL), naming command CMD, and returns
 * 0. */
int berth_cmd_ask_daemon_at(const berth_config_t *cfg, const char *method,
                            const char *path, const char *cmd,
                            apr_interval_time_t timeout, json_t **body,
                            int *status, FILE *err, apr_pool_t *pool);

#endif
