#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_thread_proc.h>
#include <apr_strings.h>
#include <apr_version.h>
#include <jansson.h>
#include <pcre2.h>

#include "berth_version.h"
#include "config.h"
#include "container.h"
#include "daemon.h"
#include "envset.h"
#ifdef BERTH_HAVE_HTTP
#include "front_http.h"
#endif
#include "hub.h"
#include "isolation.h"
#include "log.h"
#include "platform.h"
#include "redact.h"
#include "ctlclient.h"
#include "front_stdio.h"
#include "spin.h"
#include "router.h"
#include "spawnctx.h"
#include "signals.h"
#include "supervisor.h"
#include "logfile.h"

typedef struct {
    const char *config;
    const char *log_level;
    const char *server;   /* berth plan SERVER, berth call SERVER TOOL */
    const char *tool;
    const char *args;     /* berth call --args JSON */
    int json;
    int help;
} options_t;

/* Every command runs with the parsed options, its two streams and a pool. */
typedef int command_fn(const options_t *opt, FILE *out, FILE *err,
                       apr_pool_t *pool);

typedef struct {
    const char *name;
    const char *summary;
    const char *usage;     /* after "berth NAME" */
    const char *details;   /* option lines */
    int takes_json;
    int takes_server;     /* ARG_* below */
    command_fn *run;
} command_t;

static command_fn cmd_check, cmd_servers, cmd_plan, cmd_doctor, cmd_tools,
    cmd_call, cmd_serve, cmd_stdio, cmd_status, cmd_restart;

#define ARG_NONE 0
#define ARG_SERVER 1          /* SERVER, required */
#define ARG_OPT_SERVER 2      /* [SERVER] */
#define ARG_SERVER_TOOL 3     /* SERVER TOOL */

#define CONFIG_OPTION_HELP                                                   \
    "  -c, --config FILE   the config file (default: $BERTH_CONFIG, else the\n" \
    "                      platform default shown by 'berth --help')\n"
#define COMMON_OPTION_HELP                                                   \
    "      --log-level L   error, warn, info (default) or debug\n"          \
    "  -h, --help          show this help\n"

static const command_t commands[] = {
    { "check", "validate a config file and show the effective settings",
      "[--config FILE]",
      "Reads the config file, reports every problem with its file, line,\n"
      "column and JSON path, and prints each server with its effective\n"
      "settings. Secrets (env and header values) are shown as ***.\n"
      "Exit status: 0 when the file is valid, 1 when it is not.\n\n"
      "Options:\n" CONFIG_OPTION_HELP COMMON_OPTION_HELP,
      0, ARG_NONE, cmd_check },
    { "servers", "list the configured servers",
      "[--config FILE] [--json]",
      "Lists every server in the config file: its name, type, isolation,\n"
      "whether it is enabled, and its command or URL.\n\n"
      "Options:\n" CONFIG_OPTION_HELP
      "      --json          print JSON instead of a table\n"
      COMMON_OPTION_HELP,
      1, ARG_NONE, cmd_servers },
    { "plan", "show exactly how a server would be started",
      "SERVER [--config FILE] [--json]",
      "Prints the spawn plan for SERVER without starting anything: the\n"
      "program, its arguments, the child environment, the working directory,\n"
      "the cidfile, whether a login shell wraps it, the docker binary used\n"
      "and why each decision was taken. Secrets are shown as ***.\n\n"
      "Options:\n" CONFIG_OPTION_HELP
      "      --json          print JSON\n"
      COMMON_OPTION_HELP,
      1, ARG_SERVER, cmd_plan },
    { "doctor", "explain how this machine starts servers",
      "[--config FILE] [--json]",
      "Reports the docker CLI berth resolved and from where, whether the\n"
      "daemon answers, the login shell capture, macOS environment hydration\n"
      "and the environment allow-list, each with the reason. A config file\n"
      "is read when one exists (for env.allow); none is needed.\n\n"
      "Options:\n" CONFIG_OPTION_HELP
      "      --json          print JSON\n"
      COMMON_OPTION_HELP,
      1, ARG_NONE, cmd_doctor },
    { "tools", "start servers and list their tools",
      "[SERVER] [--config FILE] [--json]",
      "Starts SERVER (or every enabled local server, in parallel), completes\n"
      "the MCP handshake, prints each tool with the first line of its\n"
      "description, and stops the servers again. Exit status 1 when a server\n"
      "could not start (its error and last stderr lines are printed).\n\n"
      "Options:\n" CONFIG_OPTION_HELP
      "      --json          print JSON (the tools as the servers list them)\n"
      COMMON_OPTION_HELP,
      1, ARG_OPT_SERVER, cmd_tools },
    { "call", "start a server, call one tool, print the result",
      "SERVER TOOL [--args JSON] [--config FILE] [--json]",
      "Starts SERVER, completes the MCP handshake, calls TOOL with the\n"
      "arguments given as a JSON object, prints the result and shuts the\n"
      "server down cleanly. Exit status 1 when the server cannot start or the\n"
      "tool reports an error.\n\n"
      "Options:\n"
      "      --args JSON     the tool's arguments, e.g. '{\"text\": \"hi\"}'\n"
      CONFIG_OPTION_HELP
      "      --json          print the whole result as JSON\n"
      COMMON_OPTION_HELP,
      1, ARG_SERVER_TOOL, cmd_call },
    { "serve", "run every server and keep it running",
      "[--config FILE]",
      "Starts every enabled local server in parallel, restarts one that\n"
      "dies (backoff from 1 s doubling to 60 s, reset after 60 s of health),\n"
      "and on SIGINT or SIGTERM stops them all in parallel: stdin closed,\n"
      "then SIGTERM, then SIGKILL (docker stop and docker kill for\n"
      "containers), each step after the server's shutdown timeout.\n"
      "At start it removes containers that a berth which is no longer\n"
      "running left behind (labelled io.berth.managed); containers of a\n"
      "berth that still runs are left alone. Logs go to stderr, each\n"
      "server's stderr to its own log file.\n\n"
      "Clients connect to http://<listen>/mcp (MCP Streamable HTTP; listen\n"
      "is 127.0.0.1:8750 unless the config says otherwise). Off loopback\n"
      "they need the bearer token berth writes to mcp.token in its state\n"
      "folder. The control API (/api/v1/status, /api/v1/servers/NAME/\n"
      "restart) needs the token in control.token there.\n\n"
      "Options:\n" CONFIG_OPTION_HELP COMMON_OPTION_HELP,
      0, ARG_NONE, cmd_serve },
    { "stdio", "serve every server's tools over stdin and stdout",
      "[--config FILE]",
      "The same as serve, for clients that only launch commands: berth\n"
      "speaks MCP (newline-delimited JSON-RPC) on its stdin and stdout,\n"
      "as one server offering every configured server's tools, prompts and\n"
      "resources. Logs go to stderr, never stdout. It stops when stdin\n"
      "ends, or on SIGINT or SIGTERM. Configure a client with\n"
      "  \"command\": \"berth\", \"args\": [\"stdio\", \"--config\", FILE]\n\n"
      "Options:\n" CONFIG_OPTION_HELP COMMON_OPTION_HELP,
      0, ARG_NONE, cmd_stdio },
    { "status", "ask a running berth serve how its servers are",
      "[--config FILE] [--json]",
      "Asks the berth serve listening at the config's listen address (its\n"
      "control API, with the token from control.token in berth's state\n"
      "folder): version, uptime, docker, and for every server its state,\n"
      "pid, container, restarts, last error and tool count.\n"
      "Exit status 1 when no berth answers there.\n\n"
      "Options:\n" CONFIG_OPTION_HELP
      "      --json          print the daemon's answer as JSON\n"
      COMMON_OPTION_HELP,
      1, ARG_NONE, cmd_status },
    { "restart", "restart one server of a running berth serve",
      "SERVER [--config FILE]",
      "Asks the running berth serve (as for status) to stop SERVER and\n"
      "start it again, with its backoff reset.\n\n"
      "Options:\n" CONFIG_OPTION_HELP COMMON_OPTION_HELP,
      0, ARG_SERVER, cmd_restart },
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const command_t *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void print_main_help(FILE *out, apr_pool_t *pool)
{
    apr_array_header_t *cands = berth_platform_config_candidates(pool);
    fprintf(out,
            "berth %s - one local endpoint for all your MCP servers\n\n"
            "Usage: berth [--log-level LEVEL] COMMAND [OPTIONS]\n"
            "       berth --version | --help\n"
            "       berth COMMAND --help\n\n"
            "Commands:\n",
            BERTH_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "  help      show the help of a command\n\n"
            "Options:\n"
            "  -c, --config FILE   the config file\n"
            "      --log-level L   error, warn, info (default) or debug\n"
            "  -V, --version       print the version and exit\n"
            "  -h, --help          show this help\n\n"
            "Config file: --config, else $BERTH_CONFIG, else the first of:\n");
    for (int i = 0; i < cands->nelts; i++)
        fprintf(out, "  %s\n", APR_ARRAY_IDX(cands, i, const char *));
    fprintf(out, "\nExit status: 0 success, 1 failure, 2 usage error.\n");
}

static void print_command_help(const command_t *c, FILE *out)
{
    fprintf(out, "Usage: berth %s %s\n\n%s.\n\n%s", c->name, c->usage,
            c->summary, c->details);
}

static int usage_error(FILE *err, const char *cmd, const char *fmt,
                       const char *arg)
{
    fprintf(err, "berth%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    fprintf(err, fmt, arg);
    fprintf(err, "\nTry 'berth%s%s --help'.\n", cmd ? " " : "",
            cmd ? cmd : "");
    return BERTH_EXIT_USAGE;
}

/* Takes the option at argv[*i] if it is one berth knows; returns 1 when
 * taken, 0 when it is not an option, -1 after a usage error. */
static int take_option(int argc, const char *const *argv, int *i,
                       options_t *opt, const command_t *cmd, FILE *err)
{
    const char *a = argv[*i];
    const char *cname = cmd ? cmd->name : NULL;
    const char *value = NULL;
    size_t nl;

    if (a[0] != '-' || strcmp(a, "-") == 0)
        return 0;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
        opt->help = 1;
        return 1;
    }
    if (cmd && cmd->takes_json && strcmp(a, "--json") == 0) {
        opt->json = 1;
        return 1;
    }
    const char *eq = strchr(a, '=');
    nl = eq ? (size_t)(eq - a) : strlen(a);
    int is_config = strcmp(a, "-c") == 0 ||
                    (nl == 8 && strncmp(a, "--config", 8) == 0);
    int is_level = nl == 11 && strncmp(a, "--log-level", 11) == 0;
    int is_args = cmd && cmd->takes_server == ARG_SERVER_TOOL && nl == 6 &&
                  strncmp(a, "--args", 6) == 0;
    if (!is_config && !is_level && !is_args) {
        usage_error(err, cname, "unknown option '%s'", a);
        return -1;
    }
    if (eq && a[1] == '-') {
        value = eq + 1;
    } else if (*i + 1 < argc) {
        value = argv[++*i];
    } else {
        usage_error(err, cname, "option '%s' needs a value", a);
        return -1;
    }
    if (is_args) {
        opt->args = value;
    } else if (is_config) {
        if (!*value) {
            usage_error(err, cname, "option '%s' needs a file name", a);
            return -1;
        }
        opt->config = value;
    } else {
        berth_log_level_t lvl;
        if (berth_log_parse_level(value, &lvl) != 0) {
            usage_error(err, cname,
                        "invalid log level '%s': use error, warn, info or "
                        "debug", value);
            return -1;
        }
        opt->log_level = value;
        berth_log_set_level(lvl);
    }
    return 1;
}

const char *berth_cli_config_path(const char *option, const char **tried,
                                  apr_pool_t *pool)
{
    const char *envp = getenv("BERTH_CONFIG");
    apr_finfo_t fi;
    *tried = NULL;
    if (option)
        return option;
    if (envp && *envp)
        return envp;
    apr_array_header_t *cands = berth_platform_config_candidates(pool);
    const char *list = "";
    for (int i = 0; i < cands->nelts; i++) {
        const char *c = APR_ARRAY_IDX(cands, i, const char *);
        if (apr_stat(&fi, c, APR_FINFO_TYPE, pool) == APR_SUCCESS)
            return c;
        list = apr_pstrcat(pool, list, *list ? ", " : "", c, NULL);
    }
    *tried = list;
    return NULL;
}

/* Loads the config for a command, printing diagnostics to ERR. Returns NULL
 * (after printing why) when the file cannot be used. */
/* Adds to SECRETS (const char *) every value CFG holds that must never
 * reach a log: the servers' env values and HTTP header values. */
static void add_secrets(apr_array_header_t *secrets,
                        const berth_config_t *cfg)
{
    for (int i = 0; i < cfg->servers->nelts; i++) {
        const berth_server_config_t *s =
            APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *);
        for (int k = 0; s->env && k < s->env->nelts; k++)
            APR_ARRAY_PUSH(secrets, const char *) =
                APR_ARRAY_IDX(s->env, k, berth_kv_t).value;
        for (int k = 0; s->headers && k < s->headers->nelts; k++)
            APR_ARRAY_PUSH(secrets, const char *) =
                APR_ARRAY_IDX(s->headers, k, berth_kv_t).value;
    }
}

static berth_config_t *load_config(const options_t *opt, FILE *err,
                                   apr_pool_t *pool)
{
    const char *tried;
    const char *file = berth_cli_config_path(opt->config, &tried, pool);
    berth_config_t *cfg;
    if (!file) {
        fprintf(err, "berth: no config file found (looked for %s); pass "
                "--config FILE or set BERTH_CONFIG\n", tried);
        return NULL;
    }
    apr_array_header_t *diags = apr_array_make(pool, 8, sizeof(berth_diag_t));
    apr_status_t rv = berth_config_load(file, &cfg, diags, pool);
    for (int i = 0; i < diags->nelts; i++)
        fprintf(err, "%s\n", berth_diag_format(&APR_ARRAY_IDX(diags, i,
                                                              berth_diag_t),
                                               pool));
    if (cfg) {
        apr_array_header_t *secrets = apr_array_make(pool, 8,
                                                     sizeof(const char *));
        add_secrets(secrets, cfg);
        berth_redact_set_log_secrets(secrets);
    }
    if (rv != APR_SUCCESS) {
        int ne = berth_diag_count(diags, BERTH_DIAG_ERROR);
        int nw = berth_diag_count(diags, BERTH_DIAG_WARNING);
        fprintf(err, "%s: invalid: %d error%s, %d warning%s\n", file, ne,
                ne == 1 ? "" : "s", nw, nw == 1 ? "" : "s");
        return NULL;
    }
    return cfg;
}

static const char *seconds(double s, apr_pool_t *pool)
{
    char num[32];
    snprintf(num, sizeof num, "%gs", s); /* apr's %g drops a leading 0 */
    return apr_pstrdup(pool, num);
}

static const char *timeouts_text(const berth_timeouts_t *t, apr_pool_t *pool)
{
    return apr_psprintf(pool, "initialize %s, call %s, shutdown %s",
                        seconds(t->initialize, pool), seconds(t->call, pool),
                        seconds(t->shutdown, pool));
}

/* KEY=*** for each entry: the keys matter to a reader, the values never
 * leave berth. */
static const char *redacted_keys(const apr_array_header_t *kv, apr_pool_t *pool)
{
    const char *s = "";
    for (int i = 0; kv && i < kv->nelts; i++)
        s = apr_pstrcat(pool, s, i ? ", " : "",
                        APR_ARRAY_IDX(kv, i, berth_kv_t).key, "=***", NULL);
    return s;
}

static json_t *string_array_json(const apr_array_header_t *a)
{
    json_t *arr = json_array();
    for (int i = 0; a && i < a->nelts; i++)
        json_array_append_new(arr, json_string(APR_ARRAY_IDX(a, i,
                                                             const char *)));
    return arr;
}

static const char *args_text(const apr_array_header_t *args, apr_pool_t *pool)
{
    json_t *arr = args ? string_array_json(berth_redact_argv(args, NULL, pool))
                       : json_array();
    char *dump = json_dumps(arr, JSON_COMPACT);
    const char *s = apr_pstrdup(pool, dump ? dump : "[]");
    free(dump);
    json_decref(arr);
    return s;
}

static const char *isolation_summary(const berth_config_t *cfg)
{
    int on = cfg->isolation.mode == BERTH_ISOLATION_DOCKER ||
             (cfg->isolation.mode == BERTH_ISOLATION_UNSET &&
              cfg->isolation.enabled == 1);
    return on ? "docker" : "none";
}

static void print_server(const berth_config_t *cfg,
                         const berth_server_config_t *s, FILE *out,
                         apr_pool_t *pool)
{
    const char *why;
    berth_isolation_mode_t mode = berth_isolation_effective(cfg, s, &why);
    fprintf(out, "  %s%s\n", s->name, s->disabled ? " (disabled)" : "");
    fprintf(out, "    type:       %s\n", berth_transport_name(s->transport));
    if (s->transport == BERTH_TRANSPORT_STDIO) {
        fprintf(out, "    command:    %s\n", s->command);
        fprintf(out, "    args:       %s\n", args_text(s->args, pool));
        if (s->env && s->env->nelts)
            fprintf(out, "    env:        %s\n", redacted_keys(s->env, pool));
        fprintf(out, "    cwd:        %s\n",
                s->cwd ? s->cwd : "(berth's working directory)");
        fprintf(out, "    isolation:  %s (%s)\n",
                berth_isolation_mode_name(mode), why);
        if (mode == BERTH_ISOLATION_DOCKER) {
            const char *net = s->isolation.network_mode
                                  ? s->isolation.network_mode
                                  : cfg->isolation.network_mode;
            const char *mem = s->isolation.memory_limit
                                  ? s->isolation.memory_limit
                                  : cfg->isolation.memory_limit;
            const char *cpu = s->isolation.cpu_limit ? s->isolation.cpu_limit
                                                     : cfg->isolation.cpu_limit;
            fprintf(out, "    image:      %s\n",
                    berth_isolation_image(cfg, s));
            fprintf(out, "    network:    %s\n", net ? net : "(docker default)");
            fprintf(out, "    memory:     %s\n", mem ? mem : "(no limit)");
            fprintf(out, "    cpus:       %s\n", cpu ? cpu : "(no limit)");
        }
    } else {
        fprintf(out, "    url:        %s\n",
                berth_config_redact_url(s->url, pool));
        if (s->headers && s->headers->nelts)
            fprintf(out, "    headers:    %s\n",
                    redacted_keys(s->headers, pool));
    }
    if (s->ns == BERTH_NAMESPACE_NONE)
        fprintf(out, "    namespace:  none (tool names unchanged)\n");
    else
        fprintf(out, "    namespace:  prefix (tools appear as %s__<tool>)\n",
                s->norm_name);
    fprintf(out, "    timeouts:   %s\n", timeouts_text(&s->timeouts, pool));
}

static int cmd_check(const options_t *opt, FILE *out, FILE *err,
                     apr_pool_t *pool)
{
    berth_config_t *cfg = load_config(opt, err, pool);
    int disabled = 0;
    if (!cfg)
        return BERTH_EXIT_FAILURE;
    for (int i = 0; i < cfg->servers->nelts; i++)
        disabled += APR_ARRAY_IDX(cfg->servers, i,
                                  berth_server_config_t *)->disabled;

    fprintf(out, "%s: valid\n", cfg->file);
    fprintf(out, "listen:            %s (%s)\n", cfg->listen,
            cfg->listen_loopback ? "this machine only"
                                 : "reachable from the network; a bearer "
                                   "token will be required");
    if (cfg->http_session_idle || cfg->http_max_body || cfg->http_origins ||
        cfg->http_spin_us >= 0) {
        const char *origins = "";
        for (int i = 0; cfg->http_origins && i < cfg->http_origins->nelts;
             i++)
            origins = apr_pstrcat(pool, origins, i ? ", " : "",
                                  APR_ARRAY_IDX(cfg->http_origins, i,
                                                const char *),
                                  NULL);
        long spin = cfg->http_spin_us >= 0 ? cfg->http_spin_us
                                           : (long)BERTH_SPIN_DEFAULT_US;
        fprintf(out, "http:              sessions closed after %gs idle, "
                "bodies up to %ld bytes, origins: this machine%s%s, %s\n",
                cfg->http_session_idle ? cfg->http_session_idle : 1800.0,
                cfg->http_max_body ? cfg->http_max_body : 4194304L,
                *origins ? " + " : "", origins,
                spin ? apr_psprintf(pool, "busy-wait up to %ld us", spin)
                     : "no busy-wait");
    }
    fprintf(out, "docker isolation:  %s\n", isolation_summary(cfg));
    for (int i = 0; i < cfg->images->nelts; i++) {
        const berth_kv_t *kv = &APR_ARRAY_IDX(cfg->images, i, berth_kv_t);
        fprintf(out, "  image for %s: %s\n", kv->key, kv->value);
    }
    const char *allow = cfg->env_allow_defaults ? "built-in list" : "";
    for (int i = 0; i < cfg->env_allow->nelts; i++)
        allow = apr_pstrcat(pool, allow, *allow ? (i ? ", " : " + ") : "",
                            APR_ARRAY_IDX(cfg->env_allow, i, const char *),
                            NULL);
    fprintf(out, "env allow-list:    %s\n", *allow ? allow : "(empty)");
    fprintf(out, "proxy forwarding:  %s\n",
            cfg->forward_proxy_env ? "on" : "off");
    fprintf(out, "namespace:         %s\n", berth_namespace_name(cfg->ns));
    fprintf(out, "timeouts:          %s\n", timeouts_text(&cfg->timeouts, pool));
    fprintf(out, "servers:           %d", cfg->servers->nelts);
    if (disabled)
        fprintf(out, " (%d disabled)", disabled);
    fprintf(out, "\n");
    for (int i = 0; i < cfg->servers->nelts; i++)
        print_server(cfg, APR_ARRAY_IDX(cfg->servers, i,
                                        berth_server_config_t *),
                     out, pool);
    return BERTH_EXIT_OK;
}

static json_t *redacted_object(const apr_array_header_t *kv)
{
    json_t *o = json_object();
    for (int i = 0; kv && i < kv->nelts; i++)
        json_object_set_new(o, APR_ARRAY_IDX(kv, i, berth_kv_t).key,
                            json_string("***"));
    return o;
}

static json_t *server_json(const berth_config_t *cfg,
                           const berth_server_config_t *s, apr_pool_t *pool)
{
    const char *why;
    berth_isolation_mode_t mode = berth_isolation_effective(cfg, s, &why);
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(s->name));
    json_object_set_new(o, "type",
                        json_string(berth_transport_name(s->transport)));
    json_object_set_new(o, "disabled", json_boolean(s->disabled));
    if (s->transport == BERTH_TRANSPORT_STDIO) {
        json_object_set_new(o, "command", json_string(s->command));
        json_object_set_new(o, "args", string_array_json(
                                           s->args ? berth_redact_argv(
                                                         s->args, NULL, pool)
                                                   : NULL));
        json_object_set_new(o, "env", redacted_object(s->env));
        json_object_set_new(o, "cwd", s->cwd ? json_string(s->cwd)
                                             : json_null());
    } else {
        json_object_set_new(o, "url", json_string(berth_config_redact_url(
                                          s->url, pool)));
        json_object_set_new(o, "headers", redacted_object(s->headers));
    }
    json_t *iso = json_object();
    json_object_set_new(iso, "mode",
                        json_string(berth_isolation_mode_name(mode)));
    json_object_set_new(iso, "reason", json_string(why));
    if (mode == BERTH_ISOLATION_DOCKER)
        json_object_set_new(iso, "image",
                            json_string(berth_isolation_image(cfg, s)));
    json_object_set_new(o, "isolation", iso);
    json_object_set_new(o, "namespace",
                        json_string(berth_namespace_name(s->ns)));
    json_t *t = json_object();
    json_object_set_new(t, "initialize", json_real(s->timeouts.initialize));
    json_object_set_new(t, "call", json_real(s->timeouts.call));
    json_object_set_new(t, "shutdown", json_real(s->timeouts.shutdown));
    json_object_set_new(o, "timeouts", t);
    return o;
}

static berth_spawnctx_t *spawn_context(FILE *err, apr_pool_t *pool);

static int uses_docker(const berth_config_t *cfg,
                       const berth_server_config_t *s)
{
    return s->transport == BERTH_TRANSPORT_STDIO &&
           (berth_isolation_is_docker_command(s->command) ||
            berth_isolation_effective(cfg, s, NULL) == BERTH_ISOLATION_DOCKER);
}

/* The containers berth labelled, per server name: {server: [{name, id,
 * state, owner, owner_alive}]}, or NULL with *ERROR when docker cannot say.
 * Asked only when a server uses docker; the daemon probe (3 s, cached)
 * comes first so a dead daemon costs no listing timeout. */
static json_t *containers_by_server(berth_spawnctx_t *ctx,
                                    const berth_config_t *cfg,
                                    const char **error, apr_pool_t *pool)
{
    apr_array_header_t *list;
    int any = 0;
    for (int i = 0; cfg && i < cfg->servers->nelts; i++)
        any |= uses_docker(cfg, APR_ARRAY_IDX(cfg->servers, i,
                                              berth_server_config_t *));
    *error = NULL;
    if (!any)
        return json_object();
    berth_docker_info_t info = berth_spawnctx_docker_info(ctx, cfg);
    if (!info.available) {
        *error = info.error;
        return NULL;
    }
    if (berth_container_list(ctx, cfg, NULL, &list, error, pool) !=
        APR_SUCCESS)
        return NULL;
    json_t *by = json_object();
    for (int i = 0; i < list->nelts; i++) {
        const berth_container_info_t *c =
            &APR_ARRAY_IDX(list, i, berth_container_info_t);
        json_t *arr = json_object_get(by, c->server);
        if (!arr) {
            arr = json_array();
            json_object_set_new(by, c->server, arr);
        }
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "name", c->name,
                           "id", c->id, "state", c->state, "instance",
                           c->instance, "owner_alive", c->owner_alive,
                           "owner", c->why));
    }
    return by;
}

/* A server's docker facts: the containers berth's labels tie to it, and
 * "running" when one of them runs for a live berth. */
static void add_containers(json_t *o, const berth_config_t *cfg,
                           const berth_server_config_t *s, json_t *by,
                           const char *error)
{
    if (!uses_docker(cfg, s))
        return;
    if (!by) {
        json_object_set_new(o, "containers", json_null());
        json_object_set_new(o, "containers_error", json_string(error));
        return;
    }
    json_t *arr = json_object_get(by, s->name);
    const char *state = "stopped";
    size_t i;
    json_t *c;
    json_array_foreach(arr, i, c)
        if (json_is_true(json_object_get(c, "owner_alive")) &&
            strcmp(json_string_value(json_object_get(c, "state")),
                   "running") == 0)
            state = "running";
    json_object_set_new(o, "containers", arr ? json_incref(arr)
                                             : json_array());
    json_object_set_new(o, "state", json_string(state));
}

static int ask_daemon_at(const berth_config_t *cfg, const char *method,
                         const char *path, const char *cmd,
                         apr_interval_time_t timeout, json_t **body,
                         int *status, FILE *err, apr_pool_t *pool);

/* The running berth serve's view of server NAME, or NULL (borrowed). */
static json_t *live_server(json_t *live, const char *name)
{
    size_t i;
    json_t *sv;
    json_array_foreach(json_object_get(live, "servers"), i, sv)
        if (strcmp(json_string_value(json_object_get(sv, "name")), name) == 0)
            return sv;
    return NULL;
}

static int cmd_servers(const options_t *opt, FILE *out, FILE *err,
                       apr_pool_t *pool)
{
    berth_config_t *cfg = load_config(opt, err, pool);
    if (!cfg)
        return BERTH_EXIT_FAILURE;
    /* a berth serve running this config adds each server's live state */
    json_t *live = NULL;
    int hs = 0;
    const char *lcfg = NULL;
    if (ask_daemon_at(cfg, "GET", "/api/v1/status", "servers",
                      apr_time_from_msec(500), &live, &hs, NULL, pool))
        lcfg = json_string_value(json_object_get(live, "config"));
    if (hs != 200 || !lcfg || strcmp(lcfg, cfg->file) != 0) {
        json_decref(live);
        live = NULL;
    }
    if (opt->json) {
        json_t *root = json_object();
        json_t *arr = json_array();
        const char *cerr = NULL;
        json_t *by = NULL;
        berth_spawnctx_t *ctx = spawn_context(err, pool);
        if (!ctx)
            return BERTH_EXIT_FAILURE;
        by = containers_by_server(ctx, cfg, &cerr, pool);
        json_object_set_new(root, "config", json_string(cfg->file));
        for (int i = 0; i < cfg->servers->nelts; i++) {
            const berth_server_config_t *s =
                APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *);
            json_t *o = server_json(cfg, s, pool);
            add_containers(o, cfg, s, by, cerr);
            if (live) {
                json_t *l = live_server(live, s->name);
                json_object_set(o, "live", l ? l : json_null());
            }
            json_array_append_new(arr, o);
        }
        json_decref(by);
        json_decref(live);
        json_object_set_new(root, "servers", arr);
        json_dumpf(root, out, JSON_INDENT(2));
        fputc('\n', out);
        json_decref(root);
        return BERTH_EXIT_OK;
    }
    int w = 4;
    for (int i = 0; i < cfg->servers->nelts; i++) {
        int l = (int)strlen(APR_ARRAY_IDX(cfg->servers, i,
                                          berth_server_config_t *)->name);
        if (l > w)
            w = l;
    }
    fprintf(out, "%-*s  %-5s  %-9s  %-8s  %s\n", w, "NAME", "TYPE",
            "ISOLATION", "STATE", "COMMAND/URL");
    for (int i = 0; i < cfg->servers->nelts; i++) {
        const berth_server_config_t *s =
            APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *);
        const char *target;
        if (s->transport == BERTH_TRANSPORT_STDIO) {
            apr_array_header_t *ra =
                s->args ? berth_redact_argv(s->args, NULL, pool) : NULL;
            target = s->command;
            for (int k = 0; ra && k < ra->nelts; k++)
                target = apr_pstrcat(pool, target, " ",
                                     APR_ARRAY_IDX(ra, k, const char *),
                                     NULL);
        } else {
            target = berth_config_redact_url(s->url, pool);
        }
        json_t *l = live ? live_server(live, s->name) : NULL;
        const char *state = s->disabled ? "disabled"
                            : l ? json_string_value(json_object_get(l,
                                                                    "state"))
                            : live ? "-"
                                   : "enabled";
        fprintf(out, "%-*s  %-5s  %-9s  %-8s  %s\n", w, s->name,
                berth_transport_name(s->transport),
                berth_isolation_mode_name(
                    berth_isolation_effective(cfg, s, NULL)),
                state, target);
    }
    if (live)
        fprintf(out, "(STATE as the berth serve at http://%s/mcp sees it)\n",
                json_string_value(json_object_get(live, "listen")));
    json_decref(live);
    return BERTH_EXIT_OK;
}

static void print_version(FILE *out)
{
    fprintf(out, "berth %s (%s; apr %s, jansson %s, pcre2 %d.%d)\n",
            BERTH_VERSION, berth_platform_os_name(), apr_version_string(),
            jansson_version_str(), PCRE2_MAJOR, PCRE2_MINOR);
}

int berth_cli_main(int argc, const char *const *argv, FILE *out, FILE *err,
                   apr_pool_t *pool)
{
    options_t opt = { 0 };
    const command_t *cmd = NULL;
    int help_cmd = 0;
    int i;

    const char *env_level = getenv("BERTH_LOG_LEVEL");
    berth_log_level_t lvl;
    if (env_level && berth_log_parse_level(env_level, &lvl) == 0)
        berth_log_set_level(lvl);

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!cmd && !help_cmd &&
            (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0)) {
            print_version(out);
            return BERTH_EXIT_OK;
        }
        int took = take_option(argc, argv, &i, &opt, cmd, err);
        if (took < 0)
            return BERTH_EXIT_USAGE;
        if (took)
            continue;
        if (!cmd && !help_cmd && strcmp(a, "help") == 0) {
            help_cmd = 1;
            continue;
        }
        if (!cmd) {
            cmd = find_command(a);
            if (!cmd)
                return usage_error(err, NULL, "unknown command '%s'", a);
            continue;
        }
        if (cmd->takes_server && !opt.server) {
            opt.server = a;
            continue;
        }
        if (cmd->takes_server == ARG_SERVER_TOOL && !opt.tool) {
            opt.tool = a;
            continue;
        }
        return usage_error(err, cmd->name, "unexpected argument '%s'", a);
    }
    if (help_cmd || opt.help) {
        if (cmd)
            print_command_help(cmd, out);
        else
            print_main_help(out, pool);
        return BERTH_EXIT_OK;
    }
    if (!cmd) {
        print_main_help(err, pool);
        return BERTH_EXIT_USAGE;
    }
    if ((cmd->takes_server == ARG_SERVER ||
         cmd->takes_server == ARG_SERVER_TOOL) && !opt.server)
        return usage_error(err, cmd->name, "which server? %s",
                           "name one from 'berth servers'");
    if (cmd->takes_server == ARG_SERVER_TOOL && !opt.tool)
        return usage_error(err, cmd->name, "which tool? %s",
                           "list them with 'berth tools SERVER'");
    berth_redact_init();
    return cmd->run(&opt, out, err, pool);
}

static berth_spawnctx_t *spawn_context(FILE *err, apr_pool_t *pool)
{
    berth_hostfacts_t *facts;
    char buf[128];
    apr_status_t rv = berth_hostfacts_real(&facts, pool);
    if (rv != APR_SUCCESS) {
        fprintf(err, "berth: cannot read this machine's facts: %s\n",
                apr_strerror(rv, buf, sizeof buf));
        return NULL;
    }
    return berth_spawnctx_create(facts, pool);
}

/* The server called NAME, or NULL after saying which ones there are. */
static const berth_server_config_t *find_server(const berth_config_t *cfg,
                                                const char *name,
                                                const char *cmd, FILE *err,
                                                apr_pool_t *pool)
{
    const berth_server_config_t *srv = berth_config_find_server(cfg, name);
    if (srv)
        return srv;
    const char *names = "";
    for (int i = 0; i < cfg->servers->nelts; i++)
        names = apr_pstrcat(pool, names, i ? ", " : "",
                            APR_ARRAY_IDX(cfg->servers, i,
                                          berth_server_config_t *)->name,
                            NULL);
    fprintf(err, "berth %s: no server \"%s\" in %s (servers: %s)\n", cmd,
            name, cfg->file, *names ? names : "none");
    return NULL;
}

static void print_json(json_t *j, FILE *out)
{
    json_dumpf(j, out, JSON_INDENT(2));
    fputc('\n', out);
    json_decref(j);
}

static int cmd_plan(const options_t *opt, FILE *out, FILE *err,
                    apr_pool_t *pool)
{
    berth_config_t *cfg = load_config(opt, err, pool);
    if (!cfg)
        return BERTH_EXIT_FAILURE;
    const berth_server_config_t *srv = find_server(cfg, opt->server, "plan",
                                                   err, pool);
    if (!srv)
        return BERTH_EXIT_FAILURE;
    berth_spawnctx_t *ctx = spawn_context(err, pool);
    if (!ctx)
        return BERTH_EXIT_FAILURE;
    berth_plan_t *plan;
    const char *why;
    if (berth_spawnctx_plan(ctx, cfg, srv, berth_spawnctx_token(pool), &plan,
                            &why, pool) != APR_SUCCESS) {
        fprintf(err, "berth plan: %s: %s\n", srv->name,
                berth_redact_text(why, NULL, pool));
        return BERTH_EXIT_FAILURE;
    }
    json_t *j = berth_plan_json(plan, pool);
    if (opt->json) {
        print_json(j, out);
        return BERTH_EXIT_OK;
    }
    char *argv = json_dumps(json_object_get(j, "argv"), JSON_COMPACT);
    json_t *d = json_object_get(j, "docker");
    fprintf(out, "server:   %s%s\n", srv->name,
            srv->disabled ? " (disabled in the config)" : "");
    fprintf(out, "mode:     %s\n", json_string_value(json_object_get(j,
                                                                     "mode")));
    fprintf(out, "program:  %s\n", json_string_value(json_object_get(
                                        j, "program")));
    fprintf(out, "argv:     %s\n", argv);
    if (json_object_get(j, "command_line"))
        fprintf(out, "line:     %s\n", json_string_value(json_object_get(
                                            j, "command_line")));
    fprintf(out, "wrapped:  %s\n", plan->wrapped
                                       ? apr_pstrcat(pool, "yes, by ",
                                                     plan->shell, NULL)
                                       : "no");
    fprintf(out, "cwd:      %s\n", plan->cwd ? plan->cwd
                                             : "(berth's working directory)");
    if (plan->cidfile)
        fprintf(out, "cidfile:  %s\n", plan->cidfile);
    if (plan->mode != BERTH_PLAN_DIRECT)
        fprintf(out, "docker:   %s (source: %s, %s; daemon settings %s)\n",
                json_is_string(json_object_get(d, "path"))
                    ? json_string_value(json_object_get(d, "path"))
                    : "not found",
                json_string_value(json_object_get(d, "source")),
                plan->docker.verified ? "verified executable"
                                      : "not a verified executable",
                plan->daemon_env_guaranteed
                    ? "guaranteed without a login shell"
                    : "only in a login shell");
    fprintf(out, "env:\n");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(j, "env"), i, v)
        fprintf(out, "  %s\n", json_string_value(v));
    fprintf(out, "why:\n");
    json_array_foreach(json_object_get(j, "reasons"), i, v)
        fprintf(out, "  - %s\n", json_string_value(v));
    free(argv);
    json_decref(j);
    return BERTH_EXIT_OK;
}

static int cmd_doctor(const options_t *opt, FILE *out, FILE *err,
                      apr_pool_t *pool)
{
    const char *tried;
    berth_config_t *cfg = NULL;
    /* A config is optional here: read one only when it is there. */
    if (opt->config || berth_cli_config_path(NULL, &tried, pool)) {
        cfg = load_config(opt, err, pool);
        if (!cfg)
            return BERTH_EXIT_FAILURE;
    }
    berth_spawnctx_t *ctx = spawn_context(err, pool);
    if (!ctx)
        return BERTH_EXIT_FAILURE;
    const berth_hostfacts_t *facts = berth_spawnctx_facts(ctx);
    berth_docker_t d = berth_dockerpath_resolve(berth_spawnctx_resolver(ctx),
                                                facts);
    int guaranteed = berth_docker_daemon_env_guaranteed(facts, facts->env);
    berth_docker_info_t info = berth_spawnctx_docker_info(ctx, cfg);
    const berth_loginenv_t *le = berth_spawnctx_login(ctx);
    const berth_hydration_t *hy = berth_spawnctx_hydration(ctx);
    apr_array_header_t *allow = berth_envset_allowlist(facts, cfg, pool);

    json_t *j = json_object(), *jd = json_object(), *jl = json_object(),
           *jh = json_object(), *keys = json_array(), *ja = json_array();
    json_object_set_new(j, "os", json_string(berth_os_name(facts->os)));
    json_object_set_new(j, "config", cfg ? json_string(cfg->file)
                                         : json_null());
    json_object_set_new(jd, "path", d.path ? json_string(d.path)
                                           : json_null());
    json_object_set_new(jd, "source",
                        json_string(berth_docker_source_name(d.source)));
    json_object_set_new(jd, "verified", json_boolean(d.verified));
    json_object_set_new(jd, "daemon_env_guaranteed", json_boolean(guaranteed));
    json_object_set_new(jd, "available", json_boolean(info.available));
    json_object_set_new(jd, "server_version",
                        info.server_version ? json_string(info.server_version)
                                            : json_null());
    if (info.error)
        json_object_set_new(jd, "error", json_string(info.error));
    json_object_set_new(j, "docker", jd);
    json_object_set_new(jl, "shell", le->shell ? json_string(le->shell)
                                               : json_null());
    json_object_set_new(jl, "captured", json_boolean(le->captured));
    json_object_set_new(jl, "var_count",
                        json_integer(le->captured ? le->env->nelts : 0));
    if (le->error)
        json_object_set_new(jl, "error", json_string(le->error));
    json_object_set_new(j, "login_shell", jl);
    json_object_set_new(jh, "applied", json_boolean(hy->applied));
    json_object_set_new(jh, "reason", json_string(hy->reason));
    for (int i = 0; i < hy->keys->nelts; i++) {
        const berth_hydrated_key_t *k =
            &APR_ARRAY_IDX(hy->keys, i, berth_hydrated_key_t);
        json_t *jk = json_object();
        json_object_set_new(jk, "name", json_string(k->name));
        json_object_set_new(jk, "length", json_integer((json_int_t)k->length));
        json_array_append_new(keys, jk);
    }
    json_object_set_new(jh, "keys", keys);
    json_object_set_new(j, "hydration", jh);
    for (int i = 0; i < allow->nelts; i++)
        json_array_append_new(ja, json_string(APR_ARRAY_IDX(allow, i,
                                                            const char *)));
    json_object_set_new(j, "env_allow", ja);
    json_object_set_new(j, "cid_dir",
                        json_string(berth_spawnctx_cid_root(ctx)));
    /* per server: isolation, image, and the containers labelled for it */
    const char *cerr = NULL;
    json_t *by = containers_by_server(ctx, cfg, &cerr, pool);
    json_t *jsv = json_array();
    for (int i = 0; cfg && i < cfg->servers->nelts; i++) {
        const berth_server_config_t *s =
            APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *);
        const char *why;
        berth_isolation_mode_t mode = berth_isolation_effective(cfg, s, &why);
        json_t *o = json_pack("{s:s, s:s, s:s}", "name", s->name, "mode",
                              berth_isolation_is_docker_command(
                                  s->transport == BERTH_TRANSPORT_STDIO
                                      ? s->command : "")
                                  ? "docker run"
                                  : berth_isolation_mode_name(mode),
                              "reason", why);
        json_object_set_new(o, "image", mode == BERTH_ISOLATION_DOCKER
                                            ? json_string(berth_isolation_image(
                                                  cfg, s))
                                            : json_null());
        add_containers(o, cfg, s, by, cerr);
        json_array_append_new(jsv, o);
    }
    json_decref(by);
    json_object_set_new(j, "servers", jsv);
    if (opt->json) {
        print_json(j, out);
        return BERTH_EXIT_OK;
    }

    fprintf(out, "berth %s on %s\n\n", BERTH_VERSION,
            berth_os_name(facts->os));
    if (d.path)
        fprintf(out, "docker CLI: %s\n  Found %s; %s.\n", d.path,
                d.source == BERTH_DOCKER_FROM_PATH
                    ? "on PATH"
                : d.source == BERTH_DOCKER_BUNDLED
                    ? "at a well-known install location (not on PATH)"
                    : "by asking the login shell",
                d.verified ? "it is a verified executable, so berth runs it "
                             "by its absolute path"
                           : "it is not an absolute path to an executable "
                             "(an alias or function?), so berth lets the "
                             "login shell run plain 'docker'");
    else
        fprintf(out, "docker CLI: not found\n  Not on PATH, at no well-known "
                "location, and the login shell does not know it. Docker-"
                "isolated servers cannot start; berth retries within a "
                "minute.\n");
    fprintf(out, "  Daemon settings: %s.\n",
            guaranteed
                ? (facts->os == BERTH_OS_LINUX || facts->os == BERTH_OS_OTHER
                       ? "DOCKER_HOST or DOCKER_CONTEXT is set, so docker is "
                         "run directly"
                       : "guaranteed without a login shell on this OS, so "
                         "docker is run directly")
                : "neither DOCKER_HOST nor DOCKER_CONTEXT is set, so docker "
                  "runs inside a login shell where your profile may set them");
    if (info.available)
        fprintf(out, "  The daemon answers: Docker Engine %s.\n",
                info.server_version);
    else
        fprintf(out, "  The daemon does not answer: %s.\n", info.error);
    fprintf(out, "\nlogin shell: %s\n", le->shell ? le->shell : "none");
    if (le->captured)
        fprintf(out, "  Captured its environment once: %d variables (values "
                "are never logged).\n", le->env->nelts);
    else
        fprintf(out, "  Not captured: %s.\n", le->error);
    fprintf(out, "\nhydration: %s\n  %s.\n",
            hy->applied ? "applied" : "not applied", hy->reason);
    for (int i = 0; i < hy->keys->nelts; i++) {
        const berth_hydrated_key_t *k =
            &APR_ARRAY_IDX(hy->keys, i, berth_hydrated_key_t);
        fprintf(out, "  Set %s (%lu characters).\n", k->name,
                (unsigned long)k->length);
    }
    fprintf(out, "\nchild environment: servers get only these variables "
            "from berth's environment%s:\n ",
            cfg && !cfg->env_allow_defaults ? " (the built-in list is "
                                              "replaced by the config)"
                                            : "");
    for (int i = 0; i < allow->nelts; i++)
        fprintf(out, " %s", APR_ARRAY_IDX(allow, i, const char *));
    fprintf(out, "\n\ncidfiles: %s (a folder per berth process)\n",
            berth_spawnctx_cid_root(ctx));
    if (json_array_size(jsv))
        fprintf(out, "\nservers:\n");
    size_t k;
    json_t *o;
    json_array_foreach(jsv, k, o) {
        const char *image = json_string_value(json_object_get(o, "image"));
        fprintf(out, "  %s: %s%s%s\n",
                json_string_value(json_object_get(o, "name")),
                json_string_value(json_object_get(o, "mode")),
                image ? ", image " : "", image ? image : "");
        json_t *cs = json_object_get(o, "containers");
        size_t m;
        json_t *c;
        if (json_object_get(o, "containers_error"))
            fprintf(out, "    containers: unknown (%s)\n",
                    json_string_value(json_object_get(o,
                                                      "containers_error")));
        else if (cs && !json_array_size(cs))
            fprintf(out, "    no container\n");
        json_array_foreach(cs, m, c)
            fprintf(out, "    container %s (%s): %s; %s\n",
                    json_string_value(json_object_get(c, "name")),
                    json_string_value(json_object_get(c, "id")),
                    json_string_value(json_object_get(c, "state")),
                    json_string_value(json_object_get(c, "owner")));
    }
    json_decref(j);
    return BERTH_EXIT_OK;
}

/* ---- berth tools / berth call: servers started for one command ---------- */

typedef struct {
    berth_supervisor_t **sv;
    int n;
    volatile int done;
    int signalled;
} watch_t;

/* Stops the servers when berth is asked to stop: a signal makes the call in
 * flight fail at once instead of leaving processes behind. */
static void *APR_THREAD_FUNC watch_signals(apr_thread_t *t, void *arg)
{
    watch_t *w = arg;
    while (!w->done) {
        int sig = berth_signals_wait(apr_time_from_msec(100));
        if (sig && !w->done) {
            berth_log(BERTH_LOG_INFO, "signal %d: stopping the servers", sig);
            w->signalled = sig;
            /* all at once: N servers stop in the time of one */
            for (int i = 0; i < w->n; i++)
                berth_supervisor_request_stop(w->sv[i]);
            for (int i = 0; i < w->n; i++)
                berth_supervisor_stop(w->sv[i]);
        }
    }
    /* return, not apr_thread_exit(): its pthread_exit unwinds past
     * AddressSanitizer\'s thread teardown (a false stack report) */
    (void)t;
    return NULL;
}

static berth_supervisor_opts_t oneshot_opts(const options_t *opt,
                                            berth_spawnctx_t *ctx,
                                            const berth_config_t *cfg,
                                            apr_pool_t *pool)
{
    berth_supervisor_opts_t o;
    /* a one-shot command's output is its answer: progress only if asked */
    if (!opt->log_level && !getenv("BERTH_LOG_LEVEL"))
        berth_log_set_level(BERTH_LOG_WARN);
    memset(&o, 0, sizeof o);
    o.restart = 0;
    o.log_dir = berth_path_child(
        berth_spawnctx_facts(ctx),
        berth_platform_state_dir(berth_spawnctx_facts(ctx), pool), "logs",
        pool);
    o.log_max_size = berth_logfile_parse_size(cfg->log_max_size);
    o.log_max_files = cfg->log_max_files;
    return o;
}

static apr_interval_time_t start_budget(const berth_server_config_t *srv)
{
    /* the handshake's own timeout, plus time to spawn */
    return (apr_interval_time_t)((srv->timeouts.initialize + 5) *
                                 APR_USEC_PER_SEC);
}

static int cmd_tools(const options_t *opt, FILE *out, FILE *err,
                     apr_pool_t *pool)
{
    berth_config_t *cfg = load_config(opt, err, pool);
    if (!cfg)
        return BERTH_EXIT_FAILURE;
    apr_array_header_t *list = apr_array_make(pool, 8,
                                              sizeof(berth_server_config_t *));
    if (opt->server) {
        const berth_server_config_t *srv = find_server(cfg, opt->server,
                                                       "tools", err, pool);
        if (!srv)
            return BERTH_EXIT_FAILURE;
        APR_ARRAY_PUSH(list, const berth_server_config_t *) = srv;
    } else {
        for (int i = 0; i < cfg->servers->nelts; i++) {
            const berth_server_config_t *srv =
                APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *);
            if (!srv->disabled && srv->transport == BERTH_TRANSPORT_STDIO)
                APR_ARRAY_PUSH(list, const berth_server_config_t *) = srv;
        }
    }
    berth_spawnctx_t *ctx = spawn_context(err, pool);
    if (!ctx)
        return BERTH_EXIT_FAILURE;
    berth_signals_install();
    berth_supervisor_opts_t o = oneshot_opts(opt, ctx, cfg, pool);
    watch_t w = { apr_pcalloc(pool, sizeof(berth_supervisor_t *) *
                                        (size_t)(list->nelts + 1)),
                  list->nelts, 0, 0 };
    for (int i = 0; i < list->nelts; i++) {
        const berth_server_config_t *srv =
            APR_ARRAY_IDX(list, i, const berth_server_config_t *);
        if (srv->transport != BERTH_TRANSPORT_STDIO) {
            fprintf(err, "berth tools: %s is a remote server; berth lists "
                    "local servers only for now\n", srv->name);
            return BERTH_EXIT_FAILURE;
        }
        w.sv[i] = berth_supervisor_create(ctx, cfg, srv, &o, pool);
        berth_supervisor_start(w.sv[i]);
    }
    apr_thread_t *watcher;
    apr_thread_create(&watcher, NULL, watch_signals, &w, pool);

    int rc = BERTH_EXIT_OK;
    json_t *jall = json_array();
    for (int i = 0; i < list->nelts; i++) {
        const berth_server_config_t *srv =
            APR_ARRAY_IDX(list, i, const berth_server_config_t *);
        const char *why = NULL;
        json_t *js = json_pack("{s:s}", "server", srv->name);
        if (berth_supervisor_wait_ready(w.sv[i], start_budget(srv), &why,
                                        pool) != APR_SUCCESS) {
            if (!why)
                why = apr_psprintf(pool, "server %s did not start within "
                                   "%g s", srv->name,
                                   srv->timeouts.initialize + 5);
            json_object_set_new(js, "error", json_string(why));
            if (!opt->json)
                fprintf(err, "%s\n", why);
            rc = BERTH_EXIT_FAILURE;
        } else {
            berth_upstream_t *u = berth_supervisor_acquire(w.sv[i], NULL,
                                                           pool);
            json_t *tools = u ? berth_upstream_list(u, "tools") : json_array();
            if (u)
                berth_supervisor_release(w.sv[i], u);
            json_object_set(js, "tools", tools);
            size_t k;
            json_t *t;
            if (!opt->json)
                json_array_foreach(tools, k, t) {
                    const char *d = json_string_value(json_object_get(
                        t, "description"));
                    const char *nl = d ? strchr(d, '\n') : NULL;
                    fprintf(out, "%s  %s%s%.*s\n", srv->name,
                            json_string_value(json_object_get(t, "name")),
                            d ? "  " : "", d ? (int)(nl ? nl - d
                                                        : (long)strlen(d))
                                             : 0,
                            d ? d : "");
                }
            json_decref(tools);
        }
        json_array_append_new(jall, js);
    }
    for (int i = 0; i < list->nelts; i++)
        berth_supervisor_request_stop(w.sv[i]);
    for (int i = 0; i < list->nelts; i++)
        berth_supervisor_stop(w.sv[i]);
    w.done = 1;
    apr_status_t ts;
    apr_thread_join(&ts, watcher);
    if (opt->json)
        print_json(json_pack("{s:o}", "servers", jall), out);
    else
        json_decref(jall);
    return w.signalled ? 128 + w.signalled : rc;
}

static int cmd_call(const options_t *opt, FILE *out, FILE *err,
                    apr_pool_t *pool)
{
    json_error_t jerr;
    json_t *args = NULL;
    if (opt->args) {
        args = json_loads(opt->args, 0, &jerr);
        if (!json_is_object(args)) {
            fprintf(err, "berth call: --args must be a JSON object, like "
                    "'{\"text\": \"hi\"}'%s%s\n", args ? "" : ": ",
                    args ? "" : jerr.text);
            json_decref(args);
            return BERTH_EXIT_USAGE;
        }
    }
    berth_config_t *cfg = load_config(opt, err, pool);
    if (!cfg) {
        json_decref(args);
        return BERTH_EXIT_FAILURE;
    }
    const berth_server_config_t *srv = find_server(cfg, opt->server, "call",
                                                   err, pool);
    if (!srv || srv->transport != BERTH_TRANSPORT_STDIO) {
        if (srv)
            fprintf(err, "berth call: %s is a remote server; berth calls "
                    "local servers only for now\n", srv->name);
        json_decref(args);
        return BERTH_EXIT_FAILURE;
    }
    berth_spawnctx_t *ctx = spawn_context(err, pool);
    if (!ctx) {
        json_decref(args);
        return BERTH_EXIT_FAILURE;
    }
    berth_signals_install();
    berth_supervisor_opts_t o = oneshot_opts(opt, ctx, cfg, pool);
    berth_supervisor_t *sv = berth_supervisor_create(ctx, cfg, srv, &o, pool);
    watch_t w = { &sv, 1, 0, 0 };
    apr_thread_t *watcher;
    berth_supervisor_start(sv);
    apr_thread_create(&watcher, NULL, watch_signals, &w, pool);

    int rc = BERTH_EXIT_OK;
    const char *why = NULL;
    if (berth_supervisor_wait_ready(sv, start_budget(srv), &why, pool) !=
        APR_SUCCESS) {
        fprintf(err, "berth call: %s\n",
                why ? why : "the server did not start in time");
        json_decref(args);
        rc = BERTH_EXIT_FAILURE;
    } else {
        json_t *result = NULL, *error = NULL;
        json_t *params = json_pack("{s:s, s:o}", "name", opt->tool,
                                   "arguments", args ? args : json_object());
        if (berth_supervisor_call(sv, "tools/call", params, &result, &error) !=
            APR_SUCCESS) {
            fprintf(err, "berth call: %s\n",
                    json_string_value(json_object_get(error, "message")));
            rc = BERTH_EXIT_FAILURE;
        } else {
            int is_error = json_is_true(json_object_get(result, "isError"));
            if (opt->json) {
                json_dumpf(result, out, JSON_INDENT(2));
                fputc('\n', out);
            } else {
                size_t k;
                json_t *c;
                FILE *to = is_error ? err : out;
                json_array_foreach(json_object_get(result, "content"), k, c) {
                    const char *type = json_string_value(json_object_get(
                        c, "type"));
                    if (type && strcmp(type, "text") == 0)
                        fprintf(to, "%s\n", json_string_value(
                                                json_object_get(c, "text")));
                    else
                        fprintf(to, "[%s content]\n", type ? type : "?");
                }
                if (!json_array_size(json_object_get(result, "content")) &&
                    json_object_get(result, "structuredContent")) {
                    json_dumpf(json_object_get(result, "structuredContent"),
                               to, JSON_INDENT(2));
                    fputc('\n', to);
                }
            }
            if (is_error)
                rc = BERTH_EXIT_FAILURE;
        }
        json_decref(result);
        json_decref(error);
    }
    berth_supervisor_stop(sv);
    w.done = 1;
    apr_status_t ts;
    apr_thread_join(&ts, watcher);
    return w.signalled ? 128 + w.signalled : rc;
}

/* ---- berth serve ---------------------------------------------------------- */

typedef struct {
    berth_daemon_t *d;
    berth_hub_t *hub;
    berth_spawnctx_t *ctx;
    const berth_config_t *cfg;
    apr_time_t started;
    const char *listen;
} serve_t;

#ifdef BERTH_HAVE_HTTP
static json_t *serve_status(void *baton)
{
    serve_t *sv = baton;
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    berth_docker_info_t info = berth_spawnctx_docker_info(sv->ctx, sv->cfg);
    const berth_hostfacts_t *facts = berth_spawnctx_facts(sv->ctx);
    berth_docker_t dk = berth_dockerpath_resolve(
        berth_spawnctx_resolver(sv->ctx), facts);
    json_t *docker = json_pack(
        "{s:b, s:o, s:s, s:b, s:b}", "available", info.available, "path",
        dk.path ? json_string(dk.path) : json_null(), "source",
        berth_docker_source_name(dk.source), "verified", dk.verified,
        "daemon_env_guaranteed",
        berth_docker_daemon_env_guaranteed(facts, facts->env));
    if (info.server_version)
        json_object_set_new(docker, "server_version",
                            json_string(info.server_version));
    if (info.error)
        json_object_set_new(docker, "error", json_string(info.error));
    json_t *j = json_pack(
        "{s:s, s:I, s:s, s:s, s:s, s:o, s:o, s:i}", "version", BERTH_VERSION,
        "uptime_s",
        (json_int_t)apr_time_sec(berth_platform_clock() - sv->started),
        "instance", berth_spawnctx_instance(sv->ctx), "config", sv->cfg->file,
        "listen", sv->listen ? sv->listen : "", "docker", docker, "servers",
        berth_daemon_status(sv->d, pool), "sessions",
        berth_hub_session_count(sv->hub));
    apr_pool_destroy(pool);
    return j;
}

static int serve_restart(void *baton, const char *name)
{
    serve_t *sv = baton;
    for (int i = 0; i < berth_daemon_count(sv->d); i++) {
        berth_supervisor_t *s = berth_daemon_server(sv->d, i);
        if (strcmp(berth_supervisor_config(s)->name, name) == 0) {
            berth_supervisor_restart(s);
            return 1;
        }
    }
    return 0;
}
#endif

#ifdef SIGHUP
/* SIGHUP: the config file again. An invalid one changes nothing (its
 * problems are logged); a valid one is applied server by server. The
 * secrets of both stay redacted in the log. */
static void reload(const options_t *opt, berth_config_t **cfg,
                   berth_daemon_t *d, berth_router_t *router, serve_t *sv,
                   FILE *err, apr_pool_t *pool)
{
    static apr_array_header_t *seen; /* every reload's, cumulated */
    berth_log(BERTH_LOG_INFO, "SIGHUP: reloading %s", (*cfg)->file);
    berth_config_t *ncfg = load_config(opt, err, pool);
    /* a new array each time: loggers on other threads read the one that
     * is set while this one is filled */
    apr_array_header_t *secrets =
        seen ? apr_array_copy(pool, seen)
             : apr_array_make(pool, 8, sizeof(const char *));
    const berth_config_t *both[2] = { *cfg, ncfg };
    for (int c = 0; c < 2; c++)
        if (both[c])
            add_secrets(secrets, both[c]);
    seen = secrets;
    berth_redact_set_log_secrets(secrets);
    if (!ncfg) {
        berth_log(BERTH_LOG_ERROR, "config reload failed (see above); still "
                  "serving the config loaded before");
        return;
    }
    if (strcmp(ncfg->listen, (*cfg)->listen) != 0)
        berth_log(BERTH_LOG_WARN, "listen changed to %s: it takes effect "
                  "when berth restarts; still listening on %s", ncfg->listen,
                  (*cfg)->listen);
    const char *summary;
    berth_daemon_reload(d, ncfg, router, &summary, pool);
    *cfg = ncfg;
    sv->cfg = ncfg;
    berth_log(BERTH_LOG_INFO, "config reloaded: %s", summary);
}
#endif

/* berth serve (HTTP) and berth stdio: the same servers, router and hub
 * behind a different front. */
static int run_front(const options_t *opt, FILE *out, FILE *err, int stdio,
                     apr_pool_t *pool)
{
    berth_config_t *cfg = load_config(opt, err, pool);
    if (!cfg)
        return BERTH_EXIT_FAILURE;
    berth_spawnctx_t *ctx = spawn_context(err, pool);
    if (!ctx)
        return BERTH_EXIT_FAILURE;
    const berth_hostfacts_t *facts = berth_spawnctx_facts(ctx);
    const char *state = berth_platform_state_dir(facts, pool);
    berth_signals_install();
    /* a reload keeps the first value: threads may be watching */
    berth_spin_configure(cfg->http_spin_us >= 0 ? cfg->http_spin_us
                                                : BERTH_SPIN_DEFAULT_US);
    berth_router_t *router = berth_router_create(pool);
    berth_hub_opts_t hopts;
    memset(&hopts, 0, sizeof hopts);
    hopts.session_idle = (apr_interval_time_t)(cfg->http_session_idle *
                                               APR_USEC_PER_SEC);
    berth_hub_t *hub = berth_hub_create(router, &hopts, pool);
    berth_supervisor_opts_t o;
    memset(&o, 0, sizeof o);
    o.log_dir = berth_path_child(facts, state, "logs", pool);
    o.log_max_size = berth_logfile_parse_size(cfg->log_max_size);
    o.log_max_files = cfg->log_max_files;
    o.cb = berth_hub_upstream_callbacks(hub);
    o.on_state = berth_hub_server_state;
    o.state_baton = hub;
    berth_daemon_t *d = berth_daemon_create(ctx, cfg, &o, pool);
    for (int i = 0; i < berth_daemon_count(d); i++)
        berth_router_add(router, berth_daemon_server(d, i));
    serve_t sv = { d, hub, ctx, cfg, berth_platform_clock(), NULL };
    (void)sv;
    berth_stdio_t *sfront = NULL;
#ifdef BERTH_HAVE_HTTP
    berth_http_t *http = NULL;
    const char *terr = NULL;
    const char *mcp_file = NULL;
    berth_http_opts_t ho;
    memset(&ho, 0, sizeof ho);
    if (stdio)
        goto no_http;
    ho.host = cfg->listen_host;
    ho.port = cfg->listen_port;
    ho.loopback = cfg->listen_loopback;
    ho.max_body = (apr_size_t)cfg->http_max_body;
    ho.origins = cfg->http_origins;
    const char *ctl_file = berth_path_child(facts, state, "control.token",
                                            pool);
    ho.control_token = berth_daemon_token(ctl_file, &terr, pool);
    mcp_file = berth_path_child(facts, state, "mcp.token", pool);
    if (ho.control_token && !cfg->listen_loopback)
        ho.mcp_token = berth_daemon_token(mcp_file, &terr, pool);
    if (!ho.control_token || (!cfg->listen_loopback && !ho.mcp_token)) {
        fprintf(err, "berth serve: %s\n", terr);
        return BERTH_EXIT_FAILURE;
    }
    ho.control.status = serve_status;
    ho.control.restart = serve_restart;
    ho.control.baton = &sv;
    if (berth_http_start(&http, hub, &ho, &terr, pool) != APR_SUCCESS) {
        fprintf(err, "berth serve: %s; set \"listen\" in %s to another "
                "address\n", terr, cfg->file);
        return BERTH_EXIT_FAILURE;
    }
    sv.listen = apr_psprintf(pool, "%s%s%s:%u",
                             strchr(cfg->listen_host, ':') ? "[" : "",
                             cfg->listen_host,
                             strchr(cfg->listen_host, ':') ? "]" : "",
                             berth_http_port(http));
no_http:
#else
    if (!stdio) {
        fprintf(err, "berth serve: this build has no HTTP front (built "
                "without libmicrohttpd); use berth stdio\n");
        return BERTH_EXIT_FAILURE;
    }
#endif
    berth_log(BERTH_LOG_INFO, "berth %s serving %d server%s from %s "
              "(instance %s; server logs in %s)", BERTH_VERSION,
              berth_daemon_count(d), berth_daemon_count(d) == 1 ? "" : "s",
              cfg->file, berth_spawnctx_instance(ctx), o.log_dir);
#ifdef BERTH_HAVE_HTTP
    if (http) {
        berth_log(BERTH_LOG_INFO, "MCP endpoint: http://%s/mcp (Streamable "
                  "HTTP)%s%s", sv.listen,
                  ho.mcp_token ? "; clients need the bearer token in " : "",
                  ho.mcp_token ? mcp_file : "");
        fprintf(out, "berth serves %d server%s at http://%s/mcp\n"
                "Connect a client to that URL (Streamable HTTP), e.g. in its "
                "mcpServers:\n"
                "  \"berth\": { \"type\": \"http\", \"url\": "
                "\"http://%s/mcp\" }\n"
                "Clients that only launch commands: \"command\": \"berth\", "
                "\"args\": [\"stdio\", \"--config\", \"%s\"]\n"
                "Stop with Ctrl+C.\n",
                berth_daemon_count(d), berth_daemon_count(d) == 1 ? "" : "s",
                sv.listen, sv.listen, cfg->file);
        fflush(out);
    }
#else
    (void)out;
#endif
    berth_daemon_start(d);
    /* idle sessions are looked for every 10 s, or twice per idle time */
    apr_interval_time_t reap_every = apr_time_from_sec(10);
    if (hopts.session_idle && hopts.session_idle / 2 < reap_every)
        reap_every = hopts.session_idle / 2 > apr_time_from_msec(500)
                         ? hopts.session_idle / 2 : apr_time_from_msec(500);
    if (stdio) {
        apr_file_t *in, *so;
        apr_file_open_stdin(&in, pool);
        apr_file_open_stdout(&so, pool);
        if (berth_stdio_start(&sfront, hub, in, so, 0, pool) !=
            APR_SUCCESS) {
            fprintf(err, "berth stdio: could not start its threads\n");
            berth_daemon_stop(d);
            return BERTH_EXIT_FAILURE;
        }
    }
    int sig;
    for (;;) {
        sig = berth_signals_wait(reap_every);
        if (!sig) {
            int n = berth_hub_reap(hub);
            if (n) {
                berth_log(BERTH_LOG_INFO, "closed %d idle session%s", n,
                          n == 1 ? "" : "s");
                berth_platform_trim_memory();
            }
            continue;
        }
#ifdef SIGHUP
        if (sig == SIGHUP) {
            reload(opt, &cfg, d, router, &sv, err, pool);
            continue;
        }
#endif
        break;
    }
    if (sig == BERTH_SIGNAL_INPUT_ENDED)
        berth_log(BERTH_LOG_INFO, "stdin ended: stopping %d server%s",
                  berth_daemon_count(d), berth_daemon_count(d) == 1 ? "" : "s");
    else
        berth_log(BERTH_LOG_INFO, "signal %d: stopping %d server%s", sig,
                  berth_daemon_count(d), berth_daemon_count(d) == 1 ? "" : "s");
    apr_time_t t0 = berth_platform_clock();
    if (sfront)
        berth_stdio_stop(sfront);
#ifdef BERTH_HAVE_HTTP
    if (http)
        berth_http_stop(http);
#endif
    berth_hub_close_all(hub);
    berth_daemon_stop(d);
    berth_log(BERTH_LOG_INFO, "all servers stopped in %.2f s",
              (double)(berth_platform_clock() - t0) / APR_USEC_PER_SEC);
    return BERTH_EXIT_OK;
}

static int cmd_serve(const options_t *opt, FILE *out, FILE *err,
                     apr_pool_t *pool)
{
    return run_front(opt, out, err, 0, pool);
}

static int cmd_stdio(const options_t *opt, FILE *out, FILE *err,
                     apr_pool_t *pool)
{
    return run_front(opt, out, err, 1, pool);
}

/* ---- berth status / restart: the running daemon's control API ------------ */

/* Asks the berth serve at CFG's listen address (127.0.0.1:8750 without a
 * config) METHOD PATH with the control token. *BODY on success; on failure
 * says why on ERR (when not NULL) and returns 0. */
static int ask_daemon_at(const berth_config_t *cfg, const char *method,
                         const char *path, const char *cmd,
                         apr_interval_time_t timeout, json_t **body,
                         int *status, FILE *err, apr_pool_t *pool)
{
    const char *error = NULL;
    const char *host = cfg ? cfg->listen_host : "127.0.0.1";
    unsigned port = cfg ? cfg->listen_port : 8750;
    berth_hostfacts_t *facts;
    *body = NULL;
    if (berth_hostfacts_real(&facts, pool) != APR_SUCCESS)
        return 0;
    const char *file = berth_path_child(
        facts, berth_platform_state_dir(facts, pool), "control.token", pool);
    apr_file_t *f;
    char token[129];
    apr_size_t n = sizeof token - 1;
    if (apr_file_open(&f, file, APR_FOPEN_READ, APR_FPROT_OS_DEFAULT, pool) !=
        APR_SUCCESS) {
        if (err)
            fprintf(err, "berth %s: no berth serve has run for this user (no "
                    "%s); start one with 'berth serve'\n", cmd, file);
        return 0;
    }
    apr_file_read(f, token, &n);
    apr_file_close(f);
    while (n > 0 && (token[n - 1] == '\n' || token[n - 1] == '\r'))
        n--;
    token[n] = '\0';
    if (berth_control_call(host, port, method, path, token, timeout, status,
                           body, &error, pool) != APR_SUCCESS) {
        if (err)
            fprintf(err, "berth %s: no berth serve answers: %s; start one "
                    "with 'berth serve'\n", cmd, error);
        return 0;
    }
    if (*status == 401) {
        if (err)
            fprintf(err, "berth %s: the berth at %s:%u refused the token in "
                    "%s (is it another user's?)\n", cmd, host, port, file);
        json_decref(*body);
        *body = NULL;
        return 0;
    }
    return 1;
}

static int ask_daemon(const options_t *opt, const char *method,
                      const char *path, const char *cmd, json_t **body,
                      int *status, FILE *err, apr_pool_t *pool)
{
    const char *tried;
    berth_config_t *cfg = NULL;
    if (opt->config || berth_cli_config_path(NULL, &tried, pool)) {
        cfg = load_config(opt, err, pool);
        if (!cfg)
            return 0;
    }
    return ask_daemon_at(cfg, method, path, cmd, apr_time_from_sec(30), body,
                         status, err, pool);
}

static int cmd_status(const options_t *opt, FILE *out, FILE *err,
                      apr_pool_t *pool)
{
    json_t *j;
    int status;
    if (!ask_daemon(opt, "GET", "/api/v1/status", "status", &j, &status, err,
                    pool))
        return BERTH_EXIT_FAILURE;
    if (status != 200 || !json_is_object(j)) {
        fprintf(err, "berth status: the daemon answered HTTP %d\n", status);
        json_decref(j);
        return BERTH_EXIT_FAILURE;
    }
    if (opt->json) {
        print_json(j, out);
        return BERTH_EXIT_OK;
    }
    json_t *d = json_object_get(j, "docker");
    fprintf(out, "berth %s at http://%s/mcp, up %lld s, config %s\n",
            json_string_value(json_object_get(j, "version")),
            json_string_value(json_object_get(j, "listen")),
            (long long)json_integer_value(json_object_get(j, "uptime_s")),
            json_string_value(json_object_get(j, "config")));
    if (json_is_true(json_object_get(d, "available")))
        fprintf(out, "docker: Docker Engine %s\n",
                json_string_value(json_object_get(d, "server_version")));
    else
        fprintf(out, "docker: not available (%s)\n",
                json_string_value(json_object_get(d, "error")));
    fprintf(out, "\n%-20s  %-8s  %7s  %8s  %5s  %s\n", "SERVER", "STATE",
            "PID", "RESTARTS", "TOOLS", "CONTAINER / LAST ERROR");
    size_t i;
    json_t *sv;
    json_array_foreach(json_object_get(j, "servers"), i, sv) {
        json_t *c = json_object_get(sv, "container");
        const char *last = json_string_value(json_object_get(sv,
                                                             "last_error"));
        json_t *tools = json_object_get(sv, "tools");
        char nt[32];
        snprintf(nt, sizeof nt, "%lld", (long long)json_integer_value(tools));
        /* the last error of a server that is up again is history */
        if (strcmp(json_string_value(json_object_get(sv, "state")),
                   "ready") == 0)
            last = NULL;
        const char *cname = json_string_value(json_object_get(c, "name"));
        const char *cid = json_string_value(json_object_get(c, "id"));
        fprintf(out, "%-20s  %-8s  %7lld  %8lld  %5s  %s%s%s%s%s%s\n",
                json_string_value(json_object_get(sv, "name")),
                json_string_value(json_object_get(sv, "state")),
                (long long)json_integer_value(json_object_get(sv, "pid")),
                (long long)json_integer_value(json_object_get(sv,
                                                              "restarts")),
                json_is_integer(tools) ? nt : "-", cname ? cname : "",
                cid ? " (" : "", cid ? cid : "", cid ? ")" : "",
                (cname || cid) && last ? "; " : "", last ? last : "");
    }
    json_decref(j);
    return BERTH_EXIT_OK;
}

static int cmd_restart(const options_t *opt, FILE *out, FILE *err,
                       apr_pool_t *pool)
{
    json_t *j;
    int status;
    const char *path = apr_pstrcat(pool, "/api/v1/servers/", opt->server,
                                   "/restart", NULL);
    if (!ask_daemon(opt, "POST", path, "restart", &j, &status, err, pool))
        return BERTH_EXIT_FAILURE;
    json_decref(j);
    if (status == 404) {
        fprintf(err, "berth restart: the running berth has no server \"%s\""
                "\n", opt->server);
        return BERTH_EXIT_FAILURE;
    }
    if (status != 200) {
        fprintf(err, "berth restart: the daemon answered HTTP %d\n", status);
        return BERTH_EXIT_FAILURE;
    }
    fprintf(out, "restarting %s\n", opt->server);
    return BERTH_EXIT_OK;
}
