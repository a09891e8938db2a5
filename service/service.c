/* berth service: what every OS shares (the actions, the scope, this
 * binary's path, the starter config, the files and the status report); the
 * manager's own steps are the backend's (backend.h). */
#include "service.h"

#include <string.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <jansson.h>

#include "backend.h"
#include "cli.h"
#include "config.h"
#include "control.h"
#include "platform.h"
#include "service_files.h"

static const char *const actions[] = { "install", "uninstall", "start",
                                       "stop", "status", "run" };

int berth_service_action_known(const char *action)
{
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (strcmp(actions[i], action) == 0)
            return 1;
    return 0;
}

static const char *scope_name(berth_svc_scope_t scope)
{
    return scope == BERTH_SVC_SCOPE_SYSTEM ? "system" : "user";
}

/* ---- what the backends share -------------------------------------------- */

static const char *command_text(const char *const *argv, apr_pool_t *pool)
{
    const char *t = "";
    for (int i = 0; argv[i]; i++)
        t = apr_pstrcat(pool, t, i ? " " : "", argv[i], NULL);
    return t;
}

/* OUT's lines, each indented, for a message. */
static void print_indented(FILE *f, const char *out)
{
    const char *p = out;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        int n = nl ? (int)(nl - p) : (int)strlen(p);
        fprintf(f, "    %.*s\n", n, p);
        p = nl ? nl + 1 : NULL;
    }
}

int berth_svc_exec(berth_svc_t *svc, const char *const *argv, int echo,
                   const char **out, apr_pool_t *pool)
{
    berth_capture_t res;
    char buf[128];
    const char *text = command_text(argv, pool);
    if (out)
        *out = "";
    fprintf(svc->out, "  $ %s\n", text);
    fflush(svc->out);
    apr_status_t rv = berth_platform_run(svc->facts, argv,
                                         apr_time_from_sec(120), &res, pool);
    if (rv != APR_SUCCESS) {
        fprintf(svc->err, "berth service: cannot run %s: %s\n", argv[0],
                APR_STATUS_IS_ENOENT(rv) ? "not found on PATH"
                                         : apr_strerror(rv, buf, sizeof buf));
        return -1;
    }
    int status = res.exited ? res.status : -1;
    if (echo || status != 0)
        print_indented(status != 0 ? svc->err : svc->out, res.out);
    if (res.timed_out)
        fprintf(svc->err, "berth service: %s did not end within 120 s\n",
                text);
    if (out)
        *out = res.out;
    return status;
}

apr_status_t berth_svc_write_file(berth_svc_t *svc, const char *path,
                                  const char *text, apr_fileperms_t perms,
                                  apr_pool_t *pool)
{
    char buf[128];
    const char *step = "make the folder of";
    const char *dir = berth_path_dirname(path, pool);
    const char *tmp = apr_pstrcat(pool, path, ".berth-new", NULL);
    apr_file_t *f = NULL;
    apr_size_t len = strlen(text);
    apr_status_t rv = apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, pool);
    if (rv == APR_SUCCESS) {
        step = "write";
        rv = apr_file_open(&f, tmp, APR_FOPEN_WRITE | APR_FOPEN_CREATE |
                                        APR_FOPEN_TRUNCATE | APR_FOPEN_BINARY,
                           perms, pool);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_file_write_full(f, text, len, NULL);
        apr_status_t crv = apr_file_close(f);
        if (rv == APR_SUCCESS)
            rv = crv;
    }
    if (rv == APR_SUCCESS)
        rv = apr_file_perms_set(tmp, perms);
    if (rv == APR_SUCCESS || APR_STATUS_IS_ENOTIMPL(rv))
        rv = apr_file_rename(tmp, path, pool);
    if (rv != APR_SUCCESS) {
        apr_file_remove(tmp, pool);
        fprintf(svc->err, "berth service: cannot %s %s: %s\n", step, path,
                apr_strerror(rv, buf, sizeof buf));
        return rv;
    }
    fprintf(svc->out, "  wrote %s\n", path);
    return APR_SUCCESS;
}

apr_status_t berth_svc_remove_file(berth_svc_t *svc, const char *path,
                                   apr_pool_t *pool)
{
    char buf[128];
    apr_status_t rv = apr_file_remove(path, pool);
    if (APR_STATUS_IS_ENOENT(rv))
        return APR_SUCCESS;
    if (rv != APR_SUCCESS) {
        fprintf(svc->err, "berth service: cannot remove %s: %s\n", path,
                apr_strerror(rv, buf, sizeof buf));
        return rv;
    }
    fprintf(svc->out, "  removed %s\n", path);
    return APR_SUCCESS;
}

apr_status_t berth_svc_ensure_config(berth_svc_t *svc, apr_pool_t *pool)
{
    apr_finfo_t fi;
    if (apr_stat(&fi, svc->config, APR_FINFO_TYPE, pool) == APR_SUCCESS)
        return APR_SUCCESS;
    /* the servers' env values are secrets: the file is its owner's, and
     * for the system service also its account's group (the backend gives
     * the group) */
    apr_fileperms_t perms = APR_FPROT_UREAD | APR_FPROT_UWRITE;
    if (svc->scope == BERTH_SVC_SCOPE_SYSTEM)
        perms |= APR_FPROT_GREAD;
    apr_status_t rv = berth_svc_write_file(
        svc, svc->config, berth_svc_starter_config(), perms, pool);
    if (rv == APR_SUCCESS)
        fprintf(svc->out, "  (a config with no servers yet: add yours to its "
                "\"mcpServers\")\n");
    return rv;
}

/* ---- the service this command means ------------------------------------- */

/* SVC for REQ, or an exit status after a usage error. */
static int make_service(const berth_svc_request_t *req, berth_svc_t *svc,
                        FILE *out, FILE *err, apr_pool_t *pool)
{
    const berth_svc_backend_t *b = &berth_svc_backend;
    berth_hostfacts_t *facts;
    char buf[128];
    apr_status_t rv = berth_hostfacts_real(&facts, pool);
    if (rv != APR_SUCCESS) {
        fprintf(err, "berth service: cannot read this machine's facts: %s\n",
                apr_strerror(rv, buf, sizeof buf));
        return BERTH_EXIT_FAILURE;
    }
    memset(svc, 0, sizeof *svc);
    svc->facts = facts;
    svc->out = out;
    svc->err = err;
    svc->start = !req->no_start;
    svc->scope = req->scope ? req->scope : b->default_scope(facts);
    if (!(b->scopes & (1u << svc->scope))) {
        fprintf(err, "berth service: %s has no %s service; %s\n", b->name,
                scope_name(svc->scope),
                svc->scope == BERTH_SVC_SCOPE_SYSTEM
                    ? "use --user (the default)"
                    : "use --system (the default)");
        return BERTH_EXIT_USAGE;
    }
    svc->exe = berth_platform_exe_path(pool);
    if (!svc->exe) {
        fprintf(err, "berth service: this OS does not say where the berth "
                "binary is\n");
        return BERTH_EXIT_FAILURE;
    }
    b->locate(svc, pool);
    if (req->config) {
        char *abs = NULL;
        rv = apr_filepath_merge(&abs, NULL, req->config,
                                APR_FILEPATH_NATIVE, pool);
        if (rv != APR_SUCCESS) {
            fprintf(err, "berth service: --config %s: %s\n", req->config,
                    apr_strerror(rv, buf, sizeof buf));
            return BERTH_EXIT_USAGE;
        }
        svc->config = abs;
    }
    return BERTH_EXIT_OK;
}

/* ---- status --------------------------------------------------------------- */

/* The running service's status document, through its control API (the
 * listen address from its config, the token from its state folder); NULL
 * with *WHY when it cannot be asked. */
static json_t *ask_service(const berth_svc_t *svc, const char **why,
                           apr_pool_t *pool)
{
    berth_config_t *cfg = NULL;
    apr_array_header_t *diags = apr_array_make(pool, 4,
                                               sizeof(berth_diag_t));
    const char *error = NULL;
    int status = 0;
    json_t *body = NULL;
    if (berth_config_load(svc->config, &cfg, diags, pool) != APR_SUCCESS ||
        !cfg) {
        *why = apr_psprintf(pool, "its config %s cannot be read (run 'berth "
                            "check --config %s')", svc->config, svc->config);
        return NULL;
    }
    const char *file = berth_path_child(svc->facts, svc->state_dir,
                                        "control.token", pool);
    const char *token = berth_control_token_read(file, pool);
    if (!token) {
        *why = apr_psprintf(pool, "no control token readable at %s%s", file,
                            svc->scope == BERTH_SVC_SCOPE_SYSTEM
                                ? " (ask as root, or as an administrator on Windows)" : "");
        return NULL;
    }
    if (berth_control_call(cfg->listen_host, cfg->listen_port, "GET",
                           "/api/v1/status", token, apr_time_from_sec(10),
                           &status, &body, &error, pool) != APR_SUCCESS) {
        *why = apr_psprintf(pool, "nothing answers at %s:%u: %s",
                            cfg->listen_host, cfg->listen_port, error);
        return NULL;
    }
    if (status != 200 || !json_is_object(body)) {
        *why = apr_psprintf(pool, "its control API answered HTTP %d", status);
        json_decref(body);
        return NULL;
    }
    return body;
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void print_servers(json_t *doc, FILE *out, apr_pool_t *pool)
{
    size_t i;
    json_t *sv;
    json_array_foreach(json_object_get(doc, "servers"), i, sv) {
        const char *state = jstr(sv, "state");
        const char *last = jstr(sv, "last_error");
        int ready = strcmp(state, "ready") == 0;
        fprintf(out, "    %-20s %-10s restarts %lld%s%s\n", jstr(sv, "name"),
                berth_control_state_words(state),
                (long long)json_integer_value(json_object_get(sv, "restarts")),
                !ready && *last ? "  " : "",
                !ready ? berth_control_error_line(last, pool) : "");
    }
}

/* Where the service's docker CLI came from (dockerpath's source), said. */
static const char *docker_source(const char *source)
{
    static const char *const words[][2] = {
        { "path", "found on PATH" },
        { "bundled", "found where Docker installs it" },
        { "login_shell", "found by the login shell" },
        { "config", "named in the config" },
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(words[i][0], source) == 0)
            return words[i][1];
    return source;
}

/* How docker looks from inside the service, and what the macOS import
 * brought it: the outcome of the spawn rules in the manager's context. */
static void print_docker(json_t *doc, FILE *out)
{
    json_t *d = json_object_get(doc, "docker");
    json_t *hy = json_object_get(doc, "hydration");
    const char *path = jstr(d, "path");
    if (!*path)
        fprintf(out, "  docker:   no docker CLI found: %s\n",
                jstr(d, "error"));
    else if (json_is_true(json_object_get(d, "available")))
        fprintf(out, "  docker:   %s (%s), Docker Engine %s\n", path,
                docker_source(jstr(d, "source")), jstr(d, "server_version"));
    else
        fprintf(out, "  docker:   %s (%s); the daemon does not answer: %s\n",
                path, docker_source(jstr(d, "source")), jstr(d, "error"));
    if (!json_is_true(json_object_get(hy, "applied")))
        return;
    const char *names = "";
    size_t i;
    json_t *k;
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    json_array_foreach(json_object_get(hy, "keys"), i, k)
        names = apr_pstrcat(pool, names, i ? ", " : "", json_string_value(k),
                            NULL);
    fprintf(out, "  login environment: set %s (%s)\n", names,
            jstr(hy, "reason"));
    apr_pool_destroy(pool);
}

static void print_status(const berth_svc_t *svc, const berth_svc_info_t *info,
                         json_t *doc, const char *why, FILE *out,
                         apr_pool_t *pool)
{
    fprintf(out, "berth service: %s, %s\n", info->manager,
            !info->installed ? "not installed"
            : info->running  ? "installed, running"
                             : "installed, not running");
    fprintf(out, "  unit:     %s\n", svc->unit);
    if (info->state && *info->state)
        fprintf(out, "  state:    %s\n", info->state);
    fprintf(out, "  config:   %s\n", svc->config);
    fprintf(out, "  logs:     %s\n", svc->log);
    if (doc) {
        json_t *h = json_object_get(doc, "health");
        fprintf(out, "  endpoint: http://%s/mcp\n", jstr(doc, "listen"));
        fprintf(out, "  health:   %s\n", jstr(h, "summary"));
        print_docker(doc, out);
        print_servers(doc, out, pool);
    } else if (info->running) {
        fprintf(out, "  health:   unknown: %s\n", why);
    }
    for (int i = 0; info->notes && i < info->notes->nelts; i++)
        fprintf(out, "  note: %s\n", APR_ARRAY_IDX(info->notes, i,
                                                  const char *));
}

static json_t *status_json(const berth_svc_t *svc,
                           const berth_svc_info_t *info, json_t *doc,
                           const char *why)
{
    json_t *notes = json_array();
    for (int i = 0; info->notes && i < info->notes->nelts; i++)
        json_array_append_new(notes, json_string(APR_ARRAY_IDX(
                                         info->notes, i, const char *)));
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:b, s:b, s:s, s:s, s:s, s:s, s:s, s:o}", "backend",
        berth_svc_backend.name, "scope", scope_name(svc->scope), "manager",
        info->manager, "installed", info->installed, "running",
        info->running, "state", info->state ? info->state : "", "unit",
        svc->unit, "config", svc->config, "logs", svc->log, "state_dir",
        svc->state_dir, "notes", notes);
    json_object_set_new(j, "daemon", doc ? doc : json_null());
    if (!doc && why)
        json_object_set_new(j, "daemon_error", json_string(why));
    return j;
}

static int run_status(berth_svc_t *svc, int as_json, apr_pool_t *pool)
{
    berth_svc_info_t info;
    const char *why = NULL;
    json_t *doc = NULL;
    memset(&info, 0, sizeof info);
    info.notes = apr_array_make(pool, 2, sizeof(const char *));
    berth_svc_backend.query(svc, &info, pool);
    if (info.running)
        doc = ask_service(svc, &why, pool);
    int all_failed = doc && json_is_true(json_object_get(
                                json_object_get(doc, "health"), "all_failed"));
    if (as_json) {
        json_t *j = status_json(svc, &info, doc, why);
        json_dumpf(j, svc->out, JSON_INDENT(2));
        fputc('\n', svc->out);
        json_decref(j);
    } else {
        print_status(svc, &info, doc, why, svc->out, pool);
        json_decref(doc);
    }
    return info.installed && info.running && !all_failed ? BERTH_EXIT_OK
                                                         : BERTH_EXIT_FAILURE;
}

/* ---- the command ---------------------------------------------------------- */

static int done(apr_status_t rv)
{
    return rv == APR_SUCCESS ? BERTH_EXIT_OK : BERTH_EXIT_FAILURE;
}

int berth_service_main(const berth_svc_request_t *req, FILE *out, FILE *err,
                       apr_pool_t *pool)
{
    const berth_svc_backend_t *b = &berth_svc_backend;
    berth_svc_t svc;
    int rc = make_service(req, &svc, out, err, pool);
    if (rc != BERTH_EXIT_OK)
        return rc;
    const char *a = req->action;
    if (strcmp(a, "status") == 0)
        return run_status(&svc, req->json, pool);
    if (strcmp(a, "run") == 0) {
        if (!b->run) {
            fprintf(err, "berth service run: %s starts 'berth serve' itself; "
                    "run that in a terminal\n", b->name);
            return BERTH_EXIT_USAGE;
        }
        return b->run(&svc, pool);
    }
    fprintf(out, "berth service %s (%s, %s):\n", a, b->name,
            scope_name(svc.scope));
    if (strcmp(a, "install") == 0)
        return done(b->install(&svc, pool));
    if (strcmp(a, "uninstall") == 0)
        return done(b->uninstall(&svc, pool));
    if (strcmp(a, "start") == 0)
        return done(b->start(&svc, pool));
    return done(b->stop(&svc, pool));
}

void berth_service_serve_hooks(berth_serve_opts_t *opts, apr_pool_t *pool)
{
    if (berth_svc_backend.serve_hooks)
        berth_svc_backend.serve_hooks(opts, pool);
}

const char *berth_service_system_state_dir(apr_pool_t *pool)
{
    const berth_svc_backend_t *b = &berth_svc_backend;
    berth_hostfacts_t *facts;
    berth_svc_t svc;
    if (!(b->scopes & (1u << BERTH_SVC_SCOPE_SYSTEM)) ||
        berth_hostfacts_real(&facts, pool) != APR_SUCCESS)
        return NULL;
    memset(&svc, 0, sizeof svc);
    svc.scope = BERTH_SVC_SCOPE_SYSTEM;
    svc.facts = facts;
    b->locate(&svc, pool);
    return svc.state_dir;
}
