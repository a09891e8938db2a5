#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_version.h>
#include <jansson.h>
#include <pcre2.h>

#include "berth_version.h"
#include "cmd.h"
#include "log.h"
#include "platform.h"
#include "redact.h"
#include "service.h"

/* The command table: each command's help and what it takes; the commands
 * themselves are in cmd_inspect.c, cmd_oneshot.c and cmd_serve.c. */
typedef struct {
    const char *name;
    const char *summary;
    const char *usage;     /* after "berth NAME" */
    const char *details;   /* option lines */
    int takes_json;
    int takes_server;     /* ARG_* below */
    berth_cmd_fn *run;
} command_t;

#define ARG_NONE 0
#define ARG_SERVER 1          /* SERVER, required */
#define ARG_OPT_SERVER 2      /* [SERVER] */
#define ARG_SERVER_TOOL 3     /* SERVER TOOL */
#define ARG_ACTION 4          /* ACTION (berth service) */

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
      0, ARG_NONE, berth_cmd_check },
    { "servers", "list the configured servers",
      "[--config FILE] [--json]",
      "Lists every server in the config file: its name, type, isolation,\n"
      "whether it is enabled, and its command or URL.\n\n"
      "Options:\n" CONFIG_OPTION_HELP
      "      --json          print JSON instead of a table\n"
      COMMON_OPTION_HELP,
      1, ARG_NONE, berth_cmd_servers },
    { "plan", "show exactly how a server would be started",
      "SERVER [--config FILE] [--json]",
      "Prints the spawn plan for SERVER without starting anything: the\n"
      "program, its arguments, the child environment, the working directory,\n"
      "the cidfile, whether a login shell wraps it, the docker binary used\n"
      "and why each decision was taken. Secrets are shown as ***.\n\n"
      "Options:\n" CONFIG_OPTION_HELP
      "      --json          print JSON\n"
      COMMON_OPTION_HELP,
      1, ARG_SERVER, berth_cmd_plan },
    { "doctor", "explain how this machine starts servers",
      "[--config FILE] [--json]",
      "Reports the docker CLI berth resolved and from where, whether the\n"
      "daemon answers, the login shell capture, macOS environment hydration\n"
      "and the environment allow-list, each with the reason. A config file\n"
      "is read when one exists (for env.allow); none is needed.\n\n"
      "Options:\n" CONFIG_OPTION_HELP
      "      --json          print JSON\n"
      COMMON_OPTION_HELP,
      1, ARG_NONE, berth_cmd_doctor },
    { "tools", "start servers and list their tools",
      "[SERVER] [--config FILE] [--json]",
      "Starts SERVER (or every enabled local server, in parallel), completes\n"
      "the MCP handshake, prints each tool with the first line of its\n"
      "description, and stops the servers again. Exit status 1 when a server\n"
      "could not start (its error and last stderr lines are printed).\n\n"
      "Options:\n" CONFIG_OPTION_HELP
      "      --json          print JSON (the tools as the servers list them)\n"
      COMMON_OPTION_HELP,
      1, ARG_OPT_SERVER, berth_cmd_tools },
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
      1, ARG_SERVER_TOOL, berth_cmd_call },
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
      0, ARG_NONE, berth_cmd_serve },
    { "stdio", "serve every server's tools over stdin and stdout",
      "[--config FILE]",
      "The same as serve, for clients that only launch commands: berth\n"
      "speaks MCP (newline-delimited JSON-RPC) on its stdin and stdout,\n"
      "as one server offering every configured server's tools, prompts and\n"
      "resources. Logs go to stderr, never stdout. It stops when stdin\n"
      "ends, or on SIGINT or SIGTERM. Configure a client with\n"
      "  \"command\": \"berth\", \"args\": [\"stdio\", \"--config\", FILE]\n\n"
      "Options:\n" CONFIG_OPTION_HELP COMMON_OPTION_HELP,
      0, ARG_NONE, berth_cmd_stdio },
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
      1, ARG_NONE, berth_cmd_status },
    { "restart", "restart one server of a running berth serve",
      "SERVER [--config FILE]",
      "Asks the running berth serve (as for status) to stop SERVER and\n"
      "start it again, with its backoff reset.\n\n"
      "Options:\n" CONFIG_OPTION_HELP COMMON_OPTION_HELP,
      0, ARG_SERVER, berth_cmd_restart },
    { "service", "run berth in the background as an OS service",
      "ACTION [--user|--system] [--config FILE] [--no-start] [--json]",
      "Installs, starts, stops, removes or reports berth as a service of\n"
      "this OS's service manager, which runs 'berth serve' on the config\n"
      "from boot or login and restarts it if it fails. Details, and how\n"
      "to give the service Docker settings: docs/service.md.\n\n"
      "Actions:\n"
      "  install     write the service's files, make its config when there\n"
      "              is none (no servers yet), enable and start it\n"
      "  uninstall   stop it and remove its files (config and logs stay)\n"
      "  start, stop start or stop the installed service\n"
      "  status      whether it is installed and running, its config, logs,\n"
      "              endpoint and the health of each server; exit status 1\n"
      "              when it is not installed, not running, or every server\n"
      "              failed\n"
      "  run         what the Windows service manager starts (not for a\n"
      "              terminal)\n\n"
      "Where:\n"
      "  Linux    systemd. --system (the default for root): the unit\n"
      "           /etc/systemd/system/berth.service runs as the user berth\n"
      "           on /etc/berth/config.json, state in /var/lib/berth.\n"
      "           --user (the default otherwise): ~/.config/systemd/user/\n"
      "           berth.service on ~/.config/berth/config.json.\n"
      "  macOS    launchd, --user only: the LaunchAgent\n"
      "           ~/Library/LaunchAgents/io.berth.plist on ~/Library/\n"
      "           Application Support/berth/config.json, logs in\n"
      "           ~/Library/Logs/berth.\n"
      "  Windows  the service manager, --system only: the service \"berth\"\n"
      "           (LocalSystem, automatic delayed start, restarted on\n"
      "           failure) on %ProgramData%\\berth\\config.json, events in\n"
      "           the Application event log.\n\n"
      "Options:\n"
      "      --user          the service of the user running this\n"
      "      --system        the machine's service (administrator)\n"
      "  -c, --config FILE   install: the config the service reads\n"
      "                      (default: the scope's, above)\n"
      "      --no-start      install: do not start it yet\n"
      "      --json          status: print JSON\n"
      COMMON_OPTION_HELP,
      1, ARG_ACTION, berth_cmd_service },
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
                       berth_cmd_opts_t *opt, const command_t *cmd, FILE *err)
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
    if (cmd && cmd->takes_server == ARG_ACTION && !eq &&
        (strcmp(a, "--user") == 0 || strcmp(a, "--system") == 0)) {
        int scope = a[2] == 'u' ? 1 : 2;
        if (opt->scope && opt->scope != scope) {
            usage_error(err, cname, "%s", "--user and --system exclude each "
                        "other");
            return -1;
        }
        opt->scope = scope;
        return 1;
    }
    if (cmd && cmd->takes_server == ARG_ACTION && strcmp(a, "--no-start") == 0) {
        opt->no_start = 1;
        return 1;
    }
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


static void print_version(FILE *out)
{
    fprintf(out, "berth %s (%s; apr %s, jansson %s, pcre2 %d.%d)\n",
            BERTH_VERSION, berth_platform_os_name(), apr_version_string(),
            jansson_version_str(), PCRE2_MAJOR, PCRE2_MINOR);
}

int berth_cli_main(int argc, const char *const *argv, FILE *out, FILE *err,
                   apr_pool_t *pool)
{
    berth_cmd_opts_t opt = { 0 };
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
        if (cmd->takes_server == ARG_ACTION && !opt.action) {
            if (!berth_service_action_known(a))
                return usage_error(err, cmd->name, "unknown action '%s': "
                                   "install, uninstall, start, stop or "
                                   "status", a);
            opt.action = a;
            continue;
        }
        if (cmd->takes_server && cmd->takes_server != ARG_ACTION &&
            !opt.server) {
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
    if (cmd->takes_server == ARG_ACTION && !opt.action)
        return usage_error(err, cmd->name, "what should it do? %s",
                           "install, uninstall, start, stop or status");
    berth_redact_init();
    return cmd->run(&opt, out, err, pool);
}
