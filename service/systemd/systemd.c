/* The systemd backend: a system unit (/etc/systemd/system/berth.service,
 * as the user berth) or a user unit (~/.config/systemd/user/berth.service),
 * made from the templates beside this file, driven with systemctl. */
#include "systemd.h"

#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <apr_strings.h>

#include "backend.h"
#include "platform.h"
#include "service_files.h"

#define UNIT "berth.service"
#define SYSTEM_UNIT "/etc/systemd/system/" UNIT
#define PACKAGE_UNIT "/lib/systemd/system/" UNIT
#define SYSTEM_CONFIG "/etc/berth/config.json"
#define SYSTEM_STATE "/var/lib/berth"
#define ACCOUNT "berth"

static berth_svc_scope_t default_scope(const berth_hostfacts_t *facts)
{
    (void)facts;
    return geteuid() == 0 ? BERTH_SVC_SCOPE_SYSTEM : BERTH_SVC_SCOPE_USER;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* $XDG_CONFIG_HOME, else ~/.config. */
static const char *config_home(const berth_svc_t *svc, apr_pool_t *pool)
{
    const char *x = berth_env_get(svc->facts, svc->facts->env,
                                  "XDG_CONFIG_HOME");
    if (x && *x == '/')
        return x;
    return apr_pstrcat(pool, svc->facts->home ? svc->facts->home : "",
                       "/.config", NULL);
}

static void locate(berth_svc_t *svc, apr_pool_t *pool)
{
    if (svc->scope == BERTH_SVC_SCOPE_SYSTEM) {
        svc->config = SYSTEM_CONFIG;
        svc->state_dir = SYSTEM_STATE;
        /* berth's own unit wins over the package's, as for systemd */
        svc->unit = !exists(SYSTEM_UNIT) && exists(PACKAGE_UNIT)
                        ? PACKAGE_UNIT : SYSTEM_UNIT;
        svc->log = "the journal (journalctl -u berth); server logs in "
                   SYSTEM_STATE "/logs";
        return;
    }
    const char *home = config_home(svc, pool);
    svc->config = apr_pstrcat(pool, home, "/berth/config.json", NULL);
    /* the user manager's XDG_RUNTIME_DIR, whatever this shell has */
    svc->state_dir = apr_psprintf(pool, "/run/user/%lu/berth",
                                  (unsigned long)getuid());
    svc->unit = apr_pstrcat(pool, home, "/systemd/user/" UNIT, NULL);
    svc->log = apr_psprintf(pool, "the journal (journalctl --user -u berth);"
                            " server logs in %s/logs", svc->state_dir);
}

/* systemctl [--user] ARGS... */
static int systemctl(berth_svc_t *svc, const char *a, const char *b,
                     const char **out, apr_pool_t *pool)
{
    const char *argv[6];
    int n = 0;
    argv[n++] = "systemctl";
    if (svc->scope == BERTH_SVC_SCOPE_USER)
        argv[n++] = "--user";
    argv[n++] = a;
    if (b)
        argv[n++] = b;
    argv[n] = NULL;
    return berth_svc_exec(svc, argv, 0, out, pool);
}

/* sd_booted(3): the manager keeps this folder while it runs. */
static int systemd_runs(void)
{
    struct stat st;
    return lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

static apr_status_t need_systemd(berth_svc_t *svc)
{
    if (systemd_runs())
        return APR_SUCCESS;
    fprintf(svc->err, "berth service: systemd does not run this machine (no "
            "/run/systemd/system): start 'berth serve --config %s' from "
            "your own supervisor instead\n", svc->config);
    return APR_EGENERAL;
}

static apr_status_t need_root(berth_svc_t *svc, const char *action)
{
    if (svc->scope != BERTH_SVC_SCOPE_SYSTEM || geteuid() == 0)
        return APR_SUCCESS;
    fprintf(svc->err, "berth service: the system service is root's to %s: "
            "sudo berth service %s --system (or --user for your own)\n",
            action, action);
    return APR_EACCES;
}

/* ---- install -------------------------------------------------------------- */

/* The account the system service runs as, made when missing. */
static apr_status_t ensure_account(berth_svc_t *svc, apr_pool_t *pool)
{
    if (getpwnam(ACCOUNT))
        return APR_SUCCESS;
    const char *argv[] = { "useradd", "--system", "--user-group",
                           "--home-dir", SYSTEM_STATE, "--no-create-home",
                           "--shell", "/usr/sbin/nologin", "--comment",
                           "berth MCP runtime", ACCOUNT, NULL };
    return berth_svc_exec(svc, argv, 0, NULL, pool) == 0 ? APR_SUCCESS
                                                         : APR_EGENERAL;
}

/* The system service's config must be readable by the account. */
static void share_config(berth_svc_t *svc)
{
    struct passwd *pw = getpwnam(ACCOUNT);
    struct stat st;
    if (!pw || stat(svc->config, &st) != 0)
        return;
    if (st.st_uid == 0 && !(st.st_mode & S_IROTH) &&
        st.st_gid != pw->pw_gid && chown(svc->config, 0, pw->pw_gid) == 0 &&
        chmod(svc->config, (st.st_mode & 07777) | S_IRGRP) == 0) {
        fprintf(svc->out, "  %s: group %s may read it\n", svc->config,
                ACCOUNT);
        return;
    }
    int readable = st.st_uid == pw->pw_uid ||
                   (st.st_gid == pw->pw_gid && (st.st_mode & S_IRGRP)) ||
                   (st.st_mode & S_IROTH);
    if (!readable)
        fprintf(svc->err, "berth service: warning: the user %s cannot read "
                "%s: chgrp %s %s && chmod g+r %s\n", ACCOUNT, svc->config,
                ACCOUNT, svc->config, svc->config);
}

static apr_status_t write_unit(berth_svc_t *svc, apr_pool_t *pool)
{
    const char *why = NULL;
    const char *group = NULL;
    if (svc->scope == BERTH_SVC_SCOPE_SYSTEM && getgrnam("docker"))
        group = "docker"; /* the group of the Docker socket */
    const char *text = berth_svc_systemd_unit(svc->scope, svc->exe,
                                              svc->config, group, &why, pool);
    if (!text) {
        fprintf(svc->err, "berth service: cannot make the unit: %s\n", why);
        return APR_EINVAL;
    }
    return berth_svc_write_file(svc, svc->unit, text, BERTH_SVC_FILE_PERMS, pool);
}

static void tell_linger(berth_svc_t *svc, apr_array_header_t *notes,
                        apr_pool_t *pool)
{
    berth_capture_t res;
    const char *uid = apr_psprintf(pool, "%lu", (unsigned long)getuid());
    const char *argv[] = { "loginctl", "show-user", uid, "--property=Linger",
                           "--value", NULL };
    if (berth_platform_run(svc->facts, argv, apr_time_from_sec(10), &res,
                           pool) != APR_SUCCESS ||
        !res.exited || res.status != 0 ||
        strncmp(res.out, "no", 2) != 0)
        return;
    struct passwd *pw = getpwuid(getuid());
    APR_ARRAY_PUSH(notes, const char *) = apr_psprintf(
        pool, "it runs while you are logged in; to run it from boot: "
        "loginctl enable-linger %s", pw ? pw->pw_name : uid);
}

static apr_status_t install(berth_svc_t *svc, apr_pool_t *pool)
{
    apr_status_t rv = need_root(svc, "install");
    if (rv == APR_SUCCESS)
        rv = need_systemd(svc);
    if (rv == APR_SUCCESS && svc->scope == BERTH_SVC_SCOPE_SYSTEM)
        rv = ensure_account(svc, pool);
    if (rv == APR_SUCCESS && strcmp(svc->unit, PACKAGE_UNIT) == 0) {
        fprintf(svc->out, "  the berth package installed %s; writing %s "
                "instead\n", PACKAGE_UNIT, SYSTEM_UNIT);
        svc->unit = SYSTEM_UNIT;
    }
    if (rv == APR_SUCCESS)
        rv = write_unit(svc, pool);
    if (rv == APR_SUCCESS)
        rv = berth_svc_ensure_config(svc, pool);
    if (rv != APR_SUCCESS)
        return rv;
    if (svc->scope == BERTH_SVC_SCOPE_SYSTEM)
        share_config(svc);
    if (systemctl(svc, "daemon-reload", NULL, NULL, pool) != 0 ||
        systemctl(svc, "enable", UNIT, NULL, pool) != 0)
        return APR_EGENERAL;
    /* restart: a service that ran before gets the new unit and binary;
     * it returns once berth said READY=1 (Type=notify) */
    if (svc->start && systemctl(svc, "restart", UNIT, NULL, pool) != 0) {
        fprintf(svc->err, "berth service: berth did not start; see %s\n",
                svc->log);
        return APR_EGENERAL;
    }
    fprintf(svc->out, "berth is installed as a %s service%s; config %s\n"
            "  berth service status%s   how it is\n",
            svc->scope == BERTH_SVC_SCOPE_SYSTEM ? "system" : "user",
            svc->start ? " and running" : " (not started: --no-start)",
            svc->config,
            svc->scope == BERTH_SVC_SCOPE_SYSTEM ? " --system" : "");
    if (svc->scope == BERTH_SVC_SCOPE_USER) {
        apr_array_header_t *notes = apr_array_make(pool, 1,
                                                   sizeof(const char *));
        tell_linger(svc, notes, pool);
        for (int i = 0; i < notes->nelts; i++)
            fprintf(svc->out, "  note: %s\n",
                    APR_ARRAY_IDX(notes, i, const char *));
    }
    return APR_SUCCESS;
}

/* ---- the rest ------------------------------------------------------------- */

static apr_status_t uninstall(berth_svc_t *svc, apr_pool_t *pool)
{
    apr_status_t rv = need_root(svc, "uninstall");
    if (rv == APR_SUCCESS)
        rv = need_systemd(svc);
    if (rv != APR_SUCCESS)
        return rv;
    if (strcmp(svc->unit, PACKAGE_UNIT) == 0) {
        fprintf(svc->err, "berth service: the berth package installed %s: "
                "remove it with 'apt-get remove berth'\n", PACKAGE_UNIT);
        return APR_EGENERAL;
    }
    /* a unit that is not loaded cannot be stopped nor disabled: fine */
    systemctl(svc, "stop", UNIT, NULL, pool);
    systemctl(svc, "disable", UNIT, NULL, pool);
    rv = berth_svc_remove_file(svc, svc->unit, pool);
    if (rv != APR_SUCCESS)
        return rv;
    systemctl(svc, "daemon-reload", NULL, NULL, pool);
    fprintf(svc->out, "berth's service is removed; its config %s and state "
            "%s stay\n", svc->config, svc->state_dir);
    return APR_SUCCESS;
}

/* systemctl VERB berth.service, for start and stop. */
static apr_status_t manage(berth_svc_t *svc, const char *verb,
                           apr_pool_t *pool)
{
    apr_status_t rv = need_root(svc, verb);
    if (rv == APR_SUCCESS)
        rv = need_systemd(svc);
    if (rv == APR_SUCCESS && systemctl(svc, verb, UNIT, NULL, pool) != 0)
        rv = APR_EGENERAL;
    return rv;
}

static apr_status_t start(berth_svc_t *svc, apr_pool_t *pool)
{
    return manage(svc, "start", pool);
}

static apr_status_t stop(berth_svc_t *svc, apr_pool_t *pool)
{
    return manage(svc, "stop", pool);
}

/* The value of KEY in `systemctl show` output ("KEY=VALUE" lines). */
static const char *show_value(const char *out, const char *key,
                              apr_pool_t *pool)
{
    size_t kl = strlen(key);
    for (const char *p = out; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n > kl && strncmp(p, key, kl) == 0 && p[kl] == '=')
            return apr_pstrndup(pool, p + kl + 1, n - kl - 1);
        p = nl ? nl + 1 : NULL;
    }
    return "";
}

static void query(berth_svc_t *svc, berth_svc_info_t *info, apr_pool_t *pool)
{
    berth_capture_t res;
    info->manager = svc->scope == BERTH_SVC_SCOPE_SYSTEM ? "systemd (system)"
                                                         : "systemd (user)";
    info->installed = exists(svc->unit);
    if (!systemd_runs()) {
        info->state = "systemd does not run this machine";
        return;
    }
    const char *argv[6];
    int n = 0;
    argv[n++] = "systemctl";
    if (svc->scope == BERTH_SVC_SCOPE_USER)
        argv[n++] = "--user";
    argv[n++] = "show";
    argv[n++] = UNIT;
    argv[n++] = "--property=LoadState,ActiveState,SubState,FragmentPath,"
                "StatusText,MainPID,UnitFileState";
    argv[n] = NULL;
    if (berth_platform_run(svc->facts, argv, apr_time_from_sec(10), &res,
                           pool) != APR_SUCCESS || !res.exited ||
        res.status != 0) {
        info->state = "systemctl did not answer";
        return;
    }
    const char *frag = show_value(res.out, "FragmentPath", pool);
    const char *active = show_value(res.out, "ActiveState", pool);
    info->installed = strcmp(show_value(res.out, "LoadState", pool),
                             "loaded") == 0;
    if (*frag)
        svc->unit = frag;
    info->running = strcmp(active, "active") == 0 ||
                    strcmp(active, "reloading") == 0;
    info->state = apr_psprintf(pool, "%s (%s), %s, pid %s; systemd says: %s",
                               active, show_value(res.out, "SubState", pool),
                               show_value(res.out, "UnitFileState", pool),
                               show_value(res.out, "MainPID", pool),
                               show_value(res.out, "StatusText", pool));
    if (strcmp(svc->unit, PACKAGE_UNIT) == 0)
        APR_ARRAY_PUSH(info->notes, const char *) =
            "the unit is the berth package's";
    if (svc->scope == BERTH_SVC_SCOPE_USER)
        tell_linger(svc, info->notes, pool);
}

const berth_svc_backend_t berth_svc_backend = {
    .name = "systemd",
    .scopes = 1u << BERTH_SVC_SCOPE_USER | 1u << BERTH_SVC_SCOPE_SYSTEM,
    .default_scope = default_scope,
    .locate = locate,
    .install = install,
    .uninstall = uninstall,
    .start = start,
    .stop = stop,
    .query = query,
    .run = NULL, /* systemd runs berth serve itself */
    .serve_hooks = berth_systemd_serve_hooks,
};
