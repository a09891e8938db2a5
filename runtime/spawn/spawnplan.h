/* The spawn plan (docs/spawn.md): a pure function from a server's config, the
 * global config, host facts and the docker resolver's answer to exactly what
 * will be executed: program, argv, environment, working directory, cidfile,
 * and why. It starts nothing and forks nothing; `berth plan` prints it and
 * the supervisor executes it. */
#ifndef BERTH_SPAWNPLAN_H
#define BERTH_SPAWNPLAN_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#include "config.h"
#include "dockerpath.h"
#include "hostfacts.h"
#include "loginenv.h"

typedef struct {
    const berth_hostfacts_t *facts;
    const apr_array_header_t *process_env; /* hydrated; NULL: facts->env */
    const berth_config_t *cfg;
    berth_docker_t docker;           /* the resolver's current answer */
    const berth_loginenv_t *login;   /* captured login shell, or NULL */
    const char *cid_dir;             /* berth's private 0700 cidfile folder */
    const char *start_token;         /* fresh for every start */
    const char *instance;            /* this berth process's id (labels) */
} berth_plan_in_t;

typedef enum {
    BERTH_PLAN_DIRECT,      /* an ordinary program, isolation none */
    BERTH_PLAN_ISOLATED,    /* berth builds docker run around the command */
    BERTH_PLAN_DOCKER       /* the command is docker itself */
} berth_plan_mode_t;

typedef struct {
    const char *server;
    berth_plan_mode_t mode;
    const char *program;            /* absolute when berth found it */
    apr_array_header_t *argv;       /* const char *, argv[0] = program */
    const char *command_line;       /* Windows: the CreateProcess line */
    apr_array_header_t *env;        /* "KEY=VALUE" */
    const char *cwd;                /* NULL: berth's own */
    const char *cidfile;            /* docker run only */
    int wrapped;                    /* through a shell */
    const char *shell;              /* the wrapping shell */
    apr_array_header_t *docker_argv;/* docker modes: the argv after docker */
    berth_docker_t docker;          /* what the plan used */
    int daemon_env_guaranteed;
    apr_array_header_t *reasons;    /* const char *, sentences */
    const char *not_found;          /* the command was on no PATH folder
                                       (these) and the login shell gets a
                                       chance: exit 127 means not found */
    apr_array_header_t *secrets;    /* configured values, for redaction */
    apr_array_header_t *assigned;   /* const char *: the server's env names
                                       a wrapping shell assigns from their
                                       alias (BERTH_PLAN_ALIAS NAME in env)
                                       for docker alone */
} berth_plan_t;

/* The prefix of the name under which a wrapping login shell gets a value
 * of the server's env (docs/isolation.md). */
#define BERTH_PLAN_ALIAS "BERTH_ENV_"

/* Builds the plan for SRV. On failure returns an error status and sets
 * *ERROR to a message for the user (a remote server has nothing to spawn;
 * a command that is on no PATH). */
apr_status_t berth_plan_build(berth_plan_t **out,
                              const berth_server_config_t *srv,
                              const berth_plan_in_t *in, const char **error,
                              apr_pool_t *pool);

/* A docker management command (info, stop, kill, rm ...) run exactly like a
 * spawn: same binary, environment and wrap rules, no cidfile. */
apr_status_t berth_plan_docker_command(berth_plan_t **out,
                                       const apr_array_header_t *docker_args,
                                       const berth_plan_in_t *in,
                                       apr_pool_t *pool);

const char *berth_plan_mode_name(berth_plan_mode_t mode);

/* The plan as JSON, every secret redacted: configured env values, -e values,
 * and values of allow-listed variables whose name says secret. */
json_t *berth_plan_json(const berth_plan_t *plan, apr_pool_t *pool);

#endif
