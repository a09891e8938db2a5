/* The Windows backend: the service "berth" in the service control manager
 * (SCM): its own process, LocalSystem, automatic delayed start, restarted
 * after 5, 10 and 30 s when it fails, PRESHUTDOWN accepted; config and
 * state in %ProgramData%\berth. install, uninstall, start, stop and status
 * talk to the SCM's API (no sc.exe); the running service is svcmain.c.
 *
 * install also brings a service that exists up to date: that is how the
 * MSI's service (installer/windows) gets the recovery actions and the
 * delayed start, which wixl cannot say. */
#include "win32svc.h"

#include <aclapi.h>
#include <sddl.h>
#include <string.h>

#include <apr_cstr.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "hostfacts.h"

#define DISPLAY_NAME L"berth MCP runtime"
#define START_WAIT_S 60   /* berth says READY once it listens */
#define STOP_WAIT_S 120   /* its servers stop in parallel, containers too */
#define PRESHUTDOWN_MS 60000
#define RESET_AFTER_S 86400

static berth_svc_scope_t default_scope(const berth_hostfacts_t *facts)
{
    (void)facts;
    return BERTH_SVC_SCOPE_SYSTEM;
}

/* %ProgramData%: the folder Windows knows, else the variable. */
static const char *program_data(const berth_svc_t *svc, apr_pool_t *pool)
{
    const berth_hostfacts_t *f = svc->facts;
    const char *pd = f->known_folders.program_data;
    if (!pd || !*pd)
        pd = berth_env_get(f, f->env, "ProgramData");
    if (!pd || !*pd)
        pd = berth_env_get(f, f->env, "ALLUSERSPROFILE");
    if (pd && *pd)
        return pd;
    /* no folder and no variable: the system drive's usual place */
    const char *drive = berth_env_get(f, f->env, "SystemDrive");
    return apr_pstrcat(pool, drive ? drive : "", "\\ProgramData", NULL);
}

static void locate(berth_svc_t *svc, apr_pool_t *pool)
{
    svc->state_dir = apr_pstrcat(pool, program_data(svc, pool), "\\berth",
                                 NULL);
    svc->config = apr_pstrcat(pool, svc->state_dir, "\\config.json", NULL);
    svc->unit = "berth";
    svc->log = apr_psprintf(pool, "%s; events in the Application event log "
                            "(source berth); server logs in %s\\logs",
                            berth_win_log_file(svc, pool), svc->state_dir);
}

const char *berth_win_log_file(const berth_svc_t *svc, apr_pool_t *pool)
{
    return apr_pstrcat(pool, svc->state_dir, "\\berth.log", NULL);
}

/* ---- talking to the SCM -------------------------------------------------- */

/* Says why DOING failed with CODE: an administrator's job, or Windows'
 * words. */
static apr_status_t refused(berth_svc_t *svc, const char *doing, DWORD code,
                            apr_pool_t *pool)
{
    if (code == ERROR_ACCESS_DENIED)
        fprintf(svc->err, "berth service: cannot %s: access denied; this "
                "needs an administrator: run it from an elevated prompt "
                "(Run as administrator)\n", doing);
    else if (code == ERROR_SERVICE_MARKED_FOR_DELETE)
        fprintf(svc->err, "berth service: cannot %s: it is being removed, "
                "which ends when its process has ended and every tool "
                "looking at it (services.msc) is closed; then try again\n",
                doing);
    else
        fprintf(svc->err, "berth service: cannot %s: %s\n", doing,
                berth_win_error_text(code, pool));
    return APR_FROM_OS_ERROR(code);
}

static SC_HANDLE open_scm(berth_svc_t *svc, DWORD access, apr_pool_t *pool)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, access);
    if (!scm)
        refused(svc, "open the service manager", GetLastError(), pool);
    return scm;
}

/* The service berth with ACCESS; NULL after saying why, or quietly with
 * *MISSING set when it is not installed. */
static SC_HANDLE open_berth(berth_svc_t *svc, SC_HANDLE scm, DWORD access,
                            int *missing, apr_pool_t *pool)
{
    SC_HANDLE s = OpenServiceW(scm, BERTH_WIN_SERVICE, access);
    DWORD code = s ? 0 : GetLastError();
    *missing = code == ERROR_SERVICE_DOES_NOT_EXIST;
    if (!s && !*missing)
        refused(svc, "open the service berth", code, pool);
    return s;
}

static const char *state_word(DWORD state)
{
    switch (state) {
    case SERVICE_STOPPED: return "stopped";
    case SERVICE_START_PENDING: return "starting";
    case SERVICE_STOP_PENDING: return "stopping";
    case SERVICE_RUNNING: return "running";
    case SERVICE_CONTINUE_PENDING: return "continuing";
    case SERVICE_PAUSE_PENDING: return "pausing";
    case SERVICE_PAUSED: return "paused";
    }
    return "in an unknown state";
}

static int status_of(SC_HANDLE s, SERVICE_STATUS_PROCESS *st)
{
    DWORD n = 0;
    return QueryServiceStatusEx(s, SC_STATUS_PROCESS_INFO, (LPBYTE)st,
                                sizeof *st, &n);
}

/* The exit code a stopped service reported: its own, or Windows'. */
static DWORD exit_code(const SERVICE_STATUS_PROCESS *st)
{
    return st->dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR
               ? st->dwServiceSpecificExitCode
               : st->dwWin32ExitCode;
}

/* Waits up to SECONDS for S to be in state WANT; 1 when it is. A service
 * that stopped while it should start has failed: no use waiting. */
static int wait_for(SC_HANDLE s, DWORD want, int seconds,
                    SERVICE_STATUS_PROCESS *st)
{
    for (int i = 0; i <= seconds * 4; i++) {
        if (!status_of(s, st))
            return 0;
        if (st->dwCurrentState == want)
            return 1;
        if (want == SERVICE_RUNNING && st->dwCurrentState == SERVICE_STOPPED)
            return 0;
        Sleep(250);
    }
    return 0;
}

/* The config a service command line names (--config "FILE"), or NULL. */
static const char *named_config(const char *line, apr_pool_t *pool)
{
    const char *p = strstr(line, " --config ");
    if (!p)
        return NULL;
    p += strlen(" --config ");
    if (*p != '"')
        return apr_pstrndup(pool, p, strcspn(p, " "));
    const char *end = strchr(p + 1, '"');
    return end ? apr_pstrndup(pool, p + 1, (apr_size_t)(end - p - 1)) : NULL;
}

/* S's configuration (opened with SERVICE_QUERY_CONFIG), or NULL; the
 * config its command line names becomes SVC's. */
static QUERY_SERVICE_CONFIGW *read_config(berth_svc_t *svc, SC_HANDLE s,
                                          apr_pool_t *pool)
{
    DWORD need = 0;
    QueryServiceConfigW(s, NULL, 0, &need);
    QUERY_SERVICE_CONFIGW *qc = need ? apr_palloc(pool, need) : NULL;
    if (!qc || !QueryServiceConfigW(s, qc, need, &need))
        return NULL;
    const char *config = qc->lpBinaryPathName
        ? named_config(berth_win_utf8(qc->lpBinaryPathName, pool), pool)
        : NULL;
    if (config)
        svc->config = config;
    return qc;
}

/* Starts S and waits until berth said it is ready. */
static apr_status_t start_and_wait(berth_svc_t *svc, SC_HANDLE s,
                                   apr_pool_t *pool)
{
    SERVICE_STATUS_PROCESS st;
    if (status_of(s, &st) && st.dwCurrentState == SERVICE_RUNNING) {
        fprintf(svc->out, "  berth is already running (pid %lu)\n",
                (unsigned long)st.dwProcessId);
        return APR_SUCCESS;
    }
    if (!StartServiceW(s, 0, NULL) &&
        GetLastError() != ERROR_SERVICE_ALREADY_RUNNING)
        return refused(svc, "start the service berth", GetLastError(), pool);
    if (wait_for(s, SERVICE_RUNNING, START_WAIT_S, &st)) {
        fprintf(svc->out, "  started berth (pid %lu)\n",
                (unsigned long)st.dwProcessId);
        return APR_SUCCESS;
    }
    if (st.dwCurrentState == SERVICE_STOPPED)
        fprintf(svc->err, "berth service: berth stopped as it started (exit "
                "code %lu): see %s and the Application event log\n",
                (unsigned long)exit_code(&st), berth_win_log_file(svc, pool));
    else
        fprintf(svc->err, "berth service: berth is still %s after %d s: see "
                "%s\n", state_word(st.dwCurrentState), START_WAIT_S,
                berth_win_log_file(svc, pool));
    return APR_EGENERAL;
}

/* Asks S to stop (berth's own shutdown: its servers and containers stop)
 * and waits until it did. */
static apr_status_t stop_and_wait(berth_svc_t *svc, SC_HANDLE s,
                                  apr_pool_t *pool)
{
    SERVICE_STATUS_PROCESS st;
    SERVICE_STATUS ss;
    if (!status_of(s, &st))
        return refused(svc, "ask how berth is", GetLastError(), pool);
    if (st.dwCurrentState == SERVICE_STOPPED) {
        fprintf(svc->out, "  berth is not running\n");
        return APR_SUCCESS;
    }
    /* a service that is starting takes no control yet */
    if (st.dwCurrentState == SERVICE_START_PENDING)
        wait_for(s, SERVICE_RUNNING, START_WAIT_S, &st);
    if (st.dwCurrentState != SERVICE_STOP_PENDING &&
        !ControlService(s, SERVICE_CONTROL_STOP, &ss) &&
        GetLastError() != ERROR_SERVICE_NOT_ACTIVE)
        return refused(svc, "stop the service berth", GetLastError(), pool);
    if (!wait_for(s, SERVICE_STOPPED, STOP_WAIT_S, &st)) {
        fprintf(svc->err, "berth service: berth is still %s after %d s (pid "
                "%lu): see %s\n", state_word(st.dwCurrentState), STOP_WAIT_S,
                (unsigned long)st.dwProcessId, berth_win_log_file(svc, pool));
        return APR_EGENERAL;
    }
    fprintf(svc->out, "  stopped berth (exit code %lu)\n",
            (unsigned long)exit_code(&st));
    return APR_SUCCESS;
}

/* ---- install ------------------------------------------------------------- */

/* What the SCM runs: this berth, and --config when the config is not the
 * default one (a path cannot hold a double quote on Windows). */
static const char *command_line(const berth_svc_t *svc, apr_pool_t *pool)
{
    berth_svc_t dflt = *svc;
    locate(&dflt, pool);
    const char *line = apr_psprintf(pool, "\"%s\" service run", svc->exe);
    if (apr_cstr_casecmp(dflt.config, svc->config) != 0)
        line = apr_psprintf(pool, "%s --config \"%s\"", line, svc->config);
    return line;
}

/* The service berth, made, or brought up to date when it exists (made by
 * the MSI or an earlier install; its account is left as it is). NULL after
 * saying why. */
static SC_HANDLE put_service(berth_svc_t *svc, SC_HANDLE scm,
                             apr_pool_t *pool)
{
    const char *line = command_line(svc, pool);
    const wchar_t *wline = berth_win_wide(line, pool);
    SC_HANDLE s = OpenServiceW(scm, BERTH_WIN_SERVICE, SERVICE_ALL_ACCESS);
    if (s) {
        if (ChangeServiceConfigW(s, SERVICE_WIN32_OWN_PROCESS,
                                 SERVICE_AUTO_START, SERVICE_ERROR_NORMAL,
                                 wline, NULL, NULL, NULL, NULL, NULL,
                                 DISPLAY_NAME)) {
            fprintf(svc->out, "  updated the service berth: %s\n", line);
            return s;
        }
        refused(svc, "change the service berth", GetLastError(), pool);
        CloseServiceHandle(s);
        return NULL;
    }
    if (GetLastError() != ERROR_SERVICE_DOES_NOT_EXIST) {
        refused(svc, "open the service berth", GetLastError(), pool);
        return NULL;
    }
    /* no account: LocalSystem, which reaches Docker Desktop's engine */
    s = CreateServiceW(scm, BERTH_WIN_SERVICE, DISPLAY_NAME,
                       SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
                       SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, wline, NULL,
                       NULL, NULL, NULL, NULL);
    if (!s) {
        refused(svc, "create the service berth", GetLastError(), pool);
        return NULL;
    }
    fprintf(svc->out, "  created the service berth (LocalSystem): %s\n",
            line);
    return s;
}

/* What the SCM cannot take from CreateServiceW: the description, the
 * delayed start, the recovery actions (also when berth stops with an error
 * of its own, not only when it crashes) and the time it may take to stop
 * at shutdown. Says what was set. */
static apr_status_t configure(berth_svc_t *svc, SC_HANDLE s, apr_pool_t *pool)
{
    SERVICE_DESCRIPTIONW desc = { berth_win_wide(apr_psprintf(pool,
        "Runs the MCP servers of %s and serves them at one local endpoint "
        "(berth serve). Log: %s", svc->config,
        berth_win_log_file(svc, pool)), pool) };
    SERVICE_DELAYED_AUTO_START_INFO delayed = { TRUE };
    SC_ACTION actions[] = { { SC_ACTION_RESTART, 5000 },
                            { SC_ACTION_RESTART, 10000 },
                            { SC_ACTION_RESTART, 30000 } };
    SERVICE_FAILURE_ACTIONSW failure = { RESET_AFTER_S, NULL, NULL, 3,
                                         actions };
    SERVICE_FAILURE_ACTIONS_FLAG on_error = { TRUE };
    SERVICE_PRESHUTDOWN_INFO pre = { PRESHUTDOWN_MS };
    const struct {
        DWORD level;
        void *info;
        const char *what;
    } steps[] = {
        { SERVICE_CONFIG_DESCRIPTION, &desc, "description" },
        { SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &delayed,
          "delayed automatic start" },
        { SERVICE_CONFIG_FAILURE_ACTIONS, &failure, "restart 5, 10 and 30 s "
          "after a failure (counted again after a day)" },
        { SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &on_error,
          "restart also when berth stops with an error" },
        { SERVICE_CONFIG_PRESHUTDOWN_INFO, &pre,
          apr_psprintf(pool, "%d s to stop at shutdown (preshutdown)",
                       PRESHUTDOWN_MS / 1000) },
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (ChangeServiceConfig2W(s, steps[i].level, steps[i].info)) {
            fprintf(svc->out, "  set: %s\n", steps[i].what);
            continue;
        }
        DWORD code = GetLastError();
        /* a service manager without the setting (Wine has no delayed
         * start): the service runs without it, and install says so */
        if (code != ERROR_INVALID_LEVEL)
            return refused(svc, apr_psprintf(pool, "set the service's %s",
                                             steps[i].what), code, pool);
        fprintf(svc->err, "berth service: warning: this service manager "
                "cannot set this: %s (%s); the service runs without it\n",
                steps[i].what, berth_win_error_text(code, pool));
    }
    return APR_SUCCESS;
}

/* The state folder holds the config (the servers' secrets) and the
 * control token: only SYSTEM and the administrators may read it, not every
 * user, as ProgramData would let them. The folder's own DACL, protected
 * from ProgramData's, inherited by what is in it. A warning when Windows
 * will not (Wine keeps no ACLs). */
static void protect_state_dir(berth_svc_t *svc, apr_pool_t *pool)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    BOOL present = FALSE, defaulted = FALSE;
    DWORD code = ERROR_SUCCESS;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(
            L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)", SDDL_REVISION_1, &sd,
            NULL) ||
        !GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted))
        code = GetLastError();
    if (code == ERROR_SUCCESS)
        code = SetNamedSecurityInfoW(
            berth_win_wide(svc->state_dir, pool), SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            NULL, NULL, dacl, NULL);
    if (sd)
        LocalFree(sd);
    if (code == ERROR_SUCCESS)
        fprintf(svc->out, "  %s: SYSTEM and Administrators only\n",
                svc->state_dir);
    else
        fprintf(svc->err, "berth service: warning: cannot keep %s to SYSTEM "
                "and Administrators (%s): every user may read its config\n",
                svc->state_dir, berth_win_error_text(code, pool));
}

/* The service's state folder and its config (a starter one when there is
 * none), before the service that reads them. */
static apr_status_t prepare_files(berth_svc_t *svc, apr_pool_t *pool)
{
    char buf[128];
    apr_status_t rv = apr_dir_make_recursive(svc->state_dir,
                                             APR_FPROT_OS_DEFAULT, pool);
    if (rv != APR_SUCCESS) {
        fprintf(svc->err, "berth service: cannot make %s: %s\n",
                svc->state_dir, apr_strerror(rv, buf, sizeof buf));
        return rv;
    }
    protect_state_dir(svc, pool);
    return berth_svc_ensure_config(svc, pool);
}

/* Runs the service again so that it runs what install just set. */
static apr_status_t restart(berth_svc_t *svc, SC_HANDLE s, apr_pool_t *pool)
{
    apr_status_t rv = stop_and_wait(svc, s, pool);
    return rv == APR_SUCCESS ? start_and_wait(svc, s, pool) : rv;
}

static apr_status_t install(berth_svc_t *svc, apr_pool_t *pool)
{
    SC_HANDLE s = NULL;
    SC_HANDLE scm = open_scm(svc, SC_MANAGER_CONNECT |
                                      SC_MANAGER_CREATE_SERVICE, pool);
    apr_status_t rv = scm ? prepare_files(svc, pool) : APR_EACCES;
    if (rv == APR_SUCCESS && !(s = put_service(svc, scm, pool)))
        rv = APR_EGENERAL;
    if (rv == APR_SUCCESS)
        rv = configure(svc, s, pool);
    if (rv == APR_SUCCESS)
        rv = berth_win_event_source_add(svc, pool);
    if (rv == APR_SUCCESS && svc->start)
        rv = restart(svc, s, pool);
    if (s)
        CloseServiceHandle(s);
    if (scm)
        CloseServiceHandle(scm);
    if (rv != APR_SUCCESS)
        return rv;
    fprintf(svc->out, "berth is installed as the Windows service berth%s; "
            "config %s\n  berth service status   how it is\n",
            svc->start ? " and running" : " (not started: --no-start)",
            svc->config);
    return APR_SUCCESS;
}

/* ---- the rest ------------------------------------------------------------ */

static apr_status_t uninstall(berth_svc_t *svc, apr_pool_t *pool)
{
    int missing = 0;
    SC_HANDLE scm = open_scm(svc, SC_MANAGER_CONNECT, pool);
    SC_HANDLE s = scm ? open_berth(svc, scm, SERVICE_STOP |
                                                 SERVICE_QUERY_STATUS |
                                                 SERVICE_QUERY_CONFIG | DELETE,
                                   &missing, pool)
                      : NULL;
    apr_status_t rv = s || missing ? APR_SUCCESS : APR_EGENERAL;
    if (s) {
        read_config(svc, s, pool); /* the config that stays */
        /* stopped first: berth's shutdown stops its servers and
         * containers; a service that will not stop is still removed once
         * it does */
        stop_and_wait(svc, s, pool);
        if (DeleteService(s))
            fprintf(svc->out, "  removed the service berth\n");
        else if (GetLastError() != ERROR_SERVICE_MARKED_FOR_DELETE)
            rv = refused(svc, "remove the service berth", GetLastError(),
                         pool);
        CloseServiceHandle(s);
    } else if (missing) {
        fprintf(svc->out, "  no service berth is installed\n");
    }
    if (scm)
        CloseServiceHandle(scm);
    if (rv == APR_SUCCESS)
        rv = berth_win_event_source_remove(svc, pool);
    if (rv == APR_SUCCESS)
        fprintf(svc->out, "berth's service is removed; its config %s and "
                "logs in %s stay\n", svc->config, svc->state_dir);
    return rv;
}

/* Runs ACT on the installed service opened with ACCESS. */
static apr_status_t on_service(berth_svc_t *svc, DWORD access,
                               apr_status_t (*act)(berth_svc_t *, SC_HANDLE,
                                                   apr_pool_t *),
                               apr_pool_t *pool)
{
    int missing = 0;
    apr_status_t rv = APR_EGENERAL;
    SC_HANDLE scm = open_scm(svc, SC_MANAGER_CONNECT, pool);
    SC_HANDLE s = scm ? open_berth(svc, scm, access, &missing, pool) : NULL;
    if (s)
        rv = act(svc, s, pool);
    else if (missing)
        fprintf(svc->err, "berth service: the service berth is not "
                "installed: berth service install (from an elevated "
                "prompt)\n");
    if (s)
        CloseServiceHandle(s);
    if (scm)
        CloseServiceHandle(scm);
    return rv;
}

static apr_status_t start(berth_svc_t *svc, apr_pool_t *pool)
{
    return on_service(svc, SERVICE_START | SERVICE_QUERY_STATUS,
                      start_and_wait, pool);
}

static apr_status_t stop(berth_svc_t *svc, apr_pool_t *pool)
{
    return on_service(svc, SERVICE_STOP | SERVICE_QUERY_STATUS,
                      stop_and_wait, pool);
}

/* ---- status -------------------------------------------------------------- */

static const char *start_words(SC_HANDLE s, DWORD type, apr_pool_t *pool)
{
    SERVICE_DELAYED_AUTO_START_INFO delayed = { FALSE };
    DWORD n = 0;
    if (type == SERVICE_DEMAND_START)
        return "started by hand";
    if (type == SERVICE_DISABLED)
        return "disabled";
    if (type != SERVICE_AUTO_START)
        return apr_psprintf(pool, "start type %lu", (unsigned long)type);
    QueryServiceConfig2W(s, SERVICE_CONFIG_DELAYED_AUTO_START_INFO,
                         (LPBYTE)&delayed, sizeof delayed, &n);
    return delayed.fDelayedAutostart ? "automatic (delayed start)"
                                     : "automatic";
}

/* The recovery actions the SCM keeps for S, in words. */
static const char *recovery_words(SC_HANDLE s, apr_pool_t *pool)
{
    DWORD need = 0;
    QueryServiceConfig2W(s, SERVICE_CONFIG_FAILURE_ACTIONS, NULL, 0, &need);
    SERVICE_FAILURE_ACTIONSW *fa = need ? apr_palloc(pool, need) : NULL;
    if (!fa || !QueryServiceConfig2W(s, SERVICE_CONFIG_FAILURE_ACTIONS,
                                     (LPBYTE)fa, need, &need))
        return "recovery actions unknown";
    const char *restarts = NULL;
    for (DWORD i = 0; i < fa->cActions; i++)
        if (fa->lpsaActions[i].Type == SC_ACTION_RESTART)
            restarts = apr_psprintf(pool, "%s%s%lu", restarts ? restarts : "",
                                    restarts ? ", " : "",
                                    (unsigned long)(fa->lpsaActions[i].Delay
                                                    / 1000));
    if (!restarts)
        return "not restarted on failure";
    return apr_psprintf(pool, "restarted %s s after a failure", restarts);
}

/* The service's configuration: how it starts, as whom, its command line
 * (and the config that names), into INFO. */
static const char *config_words(berth_svc_t *svc, SC_HANDLE s,
                                berth_svc_info_t *info, apr_pool_t *pool)
{
    QUERY_SERVICE_CONFIGW *qc = read_config(svc, s, pool);
    if (!qc)
        return "its configuration unreadable";
    APR_ARRAY_PUSH(info->notes, const char *) = apr_pstrcat(
        pool, "runs: ", berth_win_utf8(qc->lpBinaryPathName, pool), NULL);
    return apr_psprintf(pool, "%s, as %s; %s",
                        start_words(s, qc->dwStartType, pool),
                        qc->lpServiceStartName
                            ? berth_win_utf8(qc->lpServiceStartName, pool)
                            : "LocalSystem",
                        recovery_words(s, pool));
}

static void query(berth_svc_t *svc, berth_svc_info_t *info, apr_pool_t *pool)
{
    SERVICE_STATUS_PROCESS st;
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    SC_HANDLE s = scm ? OpenServiceW(scm, BERTH_WIN_SERVICE,
                                     SERVICE_QUERY_STATUS |
                                         SERVICE_QUERY_CONFIG)
                      : NULL;
    DWORD code = s ? 0 : GetLastError();
    info->manager = "windows (service control manager)";
    if (!s && code != ERROR_SERVICE_DOES_NOT_EXIST)
        info->state = apr_pstrcat(pool, "the service manager would not say: ",
                                  berth_win_error_text(code, pool), NULL);
    if (s && status_of(s, &st)) {
        info->installed = 1;
        info->running = st.dwCurrentState == SERVICE_RUNNING;
        const char *how = config_words(svc, s, info, pool);
        info->state = st.dwCurrentState == SERVICE_STOPPED
            ? apr_psprintf(pool, "stopped, last exit code %lu; %s",
                           (unsigned long)exit_code(&st), how)
            : apr_psprintf(pool, "%s, pid %lu; %s",
                           state_word(st.dwCurrentState),
                           (unsigned long)st.dwProcessId, how);
    }
    if (s)
        CloseServiceHandle(s);
    if (scm)
        CloseServiceHandle(scm);
}

const berth_svc_backend_t berth_svc_backend = {
    .name = "windows",
    .scopes = 1u << BERTH_SVC_SCOPE_SYSTEM,
    .default_scope = default_scope,
    .locate = locate,
    .install = install,
    .uninstall = uninstall,
    .start = start,
    .stop = stop,
    .query = query,
    .run = berth_win_service_run, /* what the service manager starts */
    .serve_hooks = NULL,          /* run reports to the manager itself */
};
