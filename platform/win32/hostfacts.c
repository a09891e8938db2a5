/* Host facts for Windows: the environment (keys compare case-insensitively),
 * the known folders, the user and machine PATH from the registry, a
 * stat-like probe, a capture that owns a Job Object, and a monotonic clock.
 * What berth makes of the environment and the folders is runtime/spawn/winenv.c's
 * to decide. */
#include "hostfacts.h"
#include "knownfolder.h"
#include "platform.h"
#include "shellquote.h"
#include "win32_util.h"

#include <string.h>

#include <stdlib.h>

#include <windows.h>

#include <apr_strings.h>

static berth_probe_t win_probe(const berth_hostfacts_t *facts,
                               const char *path)
{
    apr_pool_t *pool;
    berth_probe_t r = BERTH_PROBE_MISSING;
    (void)facts;
    apr_pool_create(&pool, NULL);
    DWORD attr = GetFileAttributesW(berth_win_wide(path, pool));
    if (attr != INVALID_FILE_ATTRIBUTES)
        r = (attr & FILE_ATTRIBUTE_DIRECTORY) ? BERTH_PROBE_DIR
                                              : BERTH_PROBE_FILE;
    apr_pool_destroy(pool);
    return r;
}

static apr_time_t win_now(const berth_hostfacts_t *facts)
{
    (void)facts;
    return berth_platform_clock();
}

static apr_status_t win_capture(const berth_hostfacts_t *facts,
                                const char *const *argv,
                                const char *command_line,
                                const apr_array_header_t *env,
                                apr_interval_time_t timeout,
                                berth_capture_t *res, apr_pool_t *pool)
{
    apr_array_header_t *args = apr_array_make(pool, 8, sizeof(const char *));
    for (int i = 0; argv[i]; i++)
        APR_ARRAY_PUSH(args, const char *) = argv[i];
    memset(res, 0, sizeof *res);
    berth_win_child_t child;
    apr_status_t rv = berth_win_start(&child, argv[0],
                                      command_line ? command_line
                                                   : berth_join_windows(args,
                                                                        pool),
                                      env ? env : facts->env, NULL, 0, pool);
    if (rv != APR_SUCCESS)
        return rv;
    apr_size_t cap = 4096, len = 0;
    char *buf = apr_palloc(pool, cap);
    ULONGLONG deadline = GetTickCount64() + (ULONGLONG)(timeout / 1000);
    int exited = 0;
    for (;;) {
        DWORD avail = 0;
        BOOL ok = PeekNamedPipe(child.out, NULL, 0, NULL, &avail, NULL);
        if (ok && avail) {
            if (len + avail + 1 > cap) {
                while (len + avail + 1 > cap)
                    cap *= 2;
                char *bigger = apr_palloc(pool, cap);
                memcpy(bigger, buf, len);
                buf = bigger;
            }
            DWORD got = 0;
            if (ReadFile(child.out, buf + len, avail, &got, NULL))
                len += got;
            continue;
        }
        if (!ok || exited)
            break; /* the pipe is closed, or drained after the exit */
        if (WaitForSingleObject(child.process, 0) == WAIT_OBJECT_0) {
            exited = 1; /* one more pass reads what is left */
            continue;
        }
        if (GetTickCount64() >= deadline) {
            res->timed_out = 1;
            break;
        }
        Sleep(5);
    }
    if (!res->timed_out) {
        DWORD code = 0;
        WaitForSingleObject(child.process,
                            (DWORD)(deadline > GetTickCount64()
                                        ? deadline - GetTickCount64()
                                        : 0));
        if (GetExitCodeProcess(child.process, &code) && code != STILL_ACTIVE) {
            res->exited = 1;
            res->status = (int)code;
        } else {
            res->timed_out = 1;
        }
    }
    /* the job takes everything the command left running with it */
    TerminateJobObject(child.job, 1);
    berth_win_child_close(&child);
    buf[len] = '\0';
    res->out = buf;
    res->out_len = len;
    return APR_SUCCESS;
}

/* The Path value of a registry key, REG_EXPAND_SZ references expanded.
 * (RegGetValueW refuses RRF_RT_REG_EXPAND_SZ without RRF_NOEXPAND, so the
 * raw text is read and expanded here.) */
static const char *reg_path(HKEY root, const wchar_t *subkey,
                            apr_pool_t *pool)
{
    const DWORD flags = RRF_RT_REG_SZ | RRF_RT_REG_EXPAND_SZ | RRF_NOEXPAND;
    DWORD size = 0, type = 0;
    if (RegGetValueW(root, subkey, L"Path", flags, &type, NULL, &size) !=
            ERROR_SUCCESS ||
        size == 0)
        return NULL;
    wchar_t *raw = apr_palloc(pool, size + sizeof(wchar_t));
    if (RegGetValueW(root, subkey, L"Path", flags, &type, raw, &size) !=
        ERROR_SUCCESS)
        return NULL;
    if (type != REG_EXPAND_SZ)
        return berth_win_utf8(raw, pool);
    DWORD n = ExpandEnvironmentStringsW(raw, NULL, 0);
    if (n == 0)
        return berth_win_utf8(raw, pool);
    wchar_t *exp = apr_palloc(pool, n * sizeof(wchar_t));
    if (ExpandEnvironmentStringsW(raw, exp, n) == 0)
        return berth_win_utf8(raw, pool);
    return berth_win_utf8(exp, pool);
}

/* The folder Windows knows as WHICH, in POOL; NULL when it knows none. */
static const char *known(berth_win_folder_t which, apr_pool_t *pool)
{
    char *path = berth_win_known_folder(which);
    const char *copy = path ? apr_pstrdup(pool, path) : NULL;
    free(path);
    return copy;
}

static void known_folders(berth_known_folders_t *k, apr_pool_t *pool)
{
    k->program_files_x64 = known(BERTH_FOLDER_PROGRAM_FILES_X64, pool);
    k->program_files = known(BERTH_FOLDER_PROGRAM_FILES, pool);
    k->program_data = known(BERTH_FOLDER_PROGRAM_DATA, pool);
    k->local_app_data = known(BERTH_FOLDER_LOCAL_APP_DATA, pool);
    k->profile = known(BERTH_FOLDER_PROFILE, pool);
    k->windows = known(BERTH_FOLDER_WINDOWS, pool);
}

apr_status_t berth_platform_hostfacts(berth_hostfacts_t **out,
                                      apr_pool_t *pool)
{
    berth_hostfacts_t *f = apr_pcalloc(pool, sizeof *f);
    f->os = BERTH_OS_WINDOWS;
    f->env = apr_array_make(pool, 64, sizeof(const char *));
    wchar_t *block = GetEnvironmentStringsW();
    for (wchar_t *e = block; e && *e; e += wcslen(e) + 1) {
        if (e[0] == L'=')
            continue; /* per-drive current folders ("=C:=C:\\x") */
        APR_ARRAY_PUSH(f->env, const char *) = berth_win_utf8(e, pool);
    }
    if (block)
        FreeEnvironmentStringsW(block);
    f->path_sep = ';';
    f->dir_sep = '\\';
    known_folders(&f->known_folders, pool);
    f->home = berth_env_get(f, f->env, "USERPROFILE");
    const char *comspec = berth_env_get(f, f->env, "ComSpec");
    f->login_shell = comspec && *comspec ? comspec : "cmd.exe";
    f->registry_user_path = reg_path(HKEY_CURRENT_USER, L"Environment", pool);
    f->registry_machine_path = reg_path(
        HKEY_LOCAL_MACHINE,
        L"SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment",
        pool);
    f->probe = win_probe;
    f->capture = win_capture;
    f->now = win_now;
    *out = f;
    return APR_SUCCESS;
}

/* The Windows service is driven through the service manager's API, never
 * a command. */
apr_status_t berth_platform_run(const berth_hostfacts_t *facts,
                                const char *const *argv,
                                apr_interval_time_t timeout,
                                berth_capture_t *res, apr_pool_t *pool)
{
    (void)facts;
    (void)argv;
    (void)timeout;
    (void)pool;
    memset(res, 0, sizeof *res);
    return APR_ENOTIMPL;
}
