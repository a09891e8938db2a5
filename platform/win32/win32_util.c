#include "win32_util.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <apr_strings.h>

wchar_t *berth_win_wide(const char *utf8, apr_pool_t *pool)
{
    int n = MultiByteToWideChar(CP_UTF8, 0, utf8, -1, NULL, 0);
    wchar_t *w = apr_palloc(pool, sizeof(wchar_t) * (size_t)(n > 0 ? n : 1));
    if (n <= 0 || !MultiByteToWideChar(CP_UTF8, 0, utf8, -1, w, n))
        w[0] = L'\0';
    return w;
}

char *berth_win_utf8(const wchar_t *wide, apr_pool_t *pool)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, wide, -1, NULL, 0, NULL, NULL);
    char *s = apr_palloc(pool, (size_t)(n > 0 ? n : 1));
    if (n <= 0 || !WideCharToMultiByte(CP_UTF8, 0, wide, -1, s, n, NULL, NULL))
        s[0] = '\0';
    return s;
}

static int key_cmp(const void *a, const void *b)
{
    const wchar_t *x = *(const wchar_t *const *)a;
    const wchar_t *y = *(const wchar_t *const *)b;
    const wchar_t *xe = wcschr(x + 1, L'='), *ye = wcschr(y + 1, L'=');
    int xl = xe ? (int)(xe - x) : (int)wcslen(x);
    int yl = ye ? (int)(ye - y) : (int)wcslen(y);
    int r = CompareStringOrdinal(x, xl, y, yl, TRUE);
    return r == CSTR_LESS_THAN ? -1 : r == CSTR_GREATER_THAN ? 1 : 0;
}

wchar_t *berth_win_env_block(const apr_array_header_t *env, apr_pool_t *pool)
{
    wchar_t **w = apr_palloc(pool, sizeof(wchar_t *) * (size_t)(env->nelts + 1));
    size_t total = 1;
    for (int i = 0; i < env->nelts; i++) {
        w[i] = berth_win_wide(APR_ARRAY_IDX(env, i, const char *), pool);
        total += wcslen(w[i]) + 1;
    }
    qsort(w, (size_t)env->nelts, sizeof(wchar_t *), key_cmp);
    wchar_t *block = apr_palloc(pool, sizeof(wchar_t) * (total + 1));
    wchar_t *p = block;
    for (int i = 0; i < env->nelts; i++) {
        size_t n = wcslen(w[i]);
        memcpy(p, w[i], n * sizeof(wchar_t));
        p += n;
        *p++ = L'\0';
    }
    *p++ = L'\0';
    if (env->nelts == 0)
        *p = L'\0';
    return block;
}

static HANDLE nul_handle(void)
{
    SECURITY_ATTRIBUTES sa = { sizeof sa, NULL, TRUE };
    return CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE,
                       FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_EXISTING,
                       0, NULL);
}

/* A pipe whose child end is inheritable and berth's end is not. */
static int make_pipe(HANDLE *child_end, HANDLE *our_end, int child_reads)
{
    SECURITY_ATTRIBUTES sa = { sizeof sa, NULL, TRUE };
    HANDLE r, w;
    if (!CreatePipe(&r, &w, &sa, 0))
        return 0;
    *child_end = child_reads ? r : w;
    *our_end = child_reads ? w : r;
    SetHandleInformation(*our_end, HANDLE_FLAG_INHERIT, 0);
    return 1;
}

void berth_win_child_close(berth_win_child_t *c)
{
    HANDLE *hs[] = { &c->in, &c->out, &c->err, &c->process, &c->job };
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
        if (*hs[i] && *hs[i] != INVALID_HANDLE_VALUE)
            CloseHandle(*hs[i]);
        *hs[i] = NULL;
    }
}

apr_status_t berth_win_start(berth_win_child_t *c, const char *program,
                             const char *command_line,
                             const apr_array_header_t *env, const char *cwd,
                             int all_pipes, apr_pool_t *pool)
{
    HANDLE cin = NULL, cout = NULL, cerr = NULL;
    apr_status_t rv = APR_SUCCESS;
    memset(c, 0, sizeof *c);

    c->job = CreateJobObjectW(NULL, NULL);
    if (!c->job)
        return apr_get_os_error();
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION lim;
    memset(&lim, 0, sizeof lim);
    lim.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    SetInformationJobObject(c->job, JobObjectExtendedLimitInformation, &lim,
                            sizeof lim);

    if (!make_pipe(&cout, &c->out, 0)) {
        rv = apr_get_os_error();
        goto fail;
    }
    if (all_pipes) {
        if (!make_pipe(&cin, &c->in, 1) || !make_pipe(&cerr, &c->err, 0)) {
            rv = apr_get_os_error();
            goto fail;
        }
    } else {
        cin = nul_handle();
        cerr = nul_handle();
    }

    /* Only these three handles reach the child, whatever else berth has
     * open and inheritable. */
    SIZE_T size = 0;
    InitializeProcThreadAttributeList(NULL, 1, 0, &size);
    LPPROC_THREAD_ATTRIBUTE_LIST attrs = apr_palloc(pool, size);
    HANDLE list[3] = { cin, cout, cerr };
    int have_list = InitializeProcThreadAttributeList(attrs, 1, 0, &size) &&
                    UpdateProcThreadAttribute(attrs, 0,
                                              PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
                                              list, sizeof list, NULL, NULL);

    STARTUPINFOEXW si;
    memset(&si, 0, sizeof si);
    si.StartupInfo.cb = sizeof si;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = cin;
    si.StartupInfo.hStdOutput = cout;
    si.StartupInfo.hStdError = cerr;
    si.lpAttributeList = have_list ? attrs : NULL;

    PROCESS_INFORMATION pi;
    wchar_t *line = berth_win_wide(command_line, pool);
    DWORD flags = CREATE_UNICODE_ENVIRONMENT | CREATE_SUSPENDED |
                  CREATE_NO_WINDOW |
                  (have_list ? EXTENDED_STARTUPINFO_PRESENT : 0);
    if (!CreateProcessW(berth_win_wide(program, pool), line, NULL, NULL, TRUE,
                        flags, berth_win_env_block(env, pool),
                        cwd ? berth_win_wide(cwd, pool) : NULL,
                        &si.StartupInfo, &pi)) {
        rv = apr_get_os_error();
        if (have_list)
            DeleteProcThreadAttributeList(attrs);
        goto fail;
    }
    if (have_list)
        DeleteProcThreadAttributeList(attrs);
    /* in the job before it runs a single instruction: its children too */
    AssignProcessToJobObject(c->job, pi.hProcess);
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);
    c->process = pi.hProcess;
    c->pid = pi.dwProcessId;
    CloseHandle(cin);
    CloseHandle(cout);
    CloseHandle(cerr);
    return APR_SUCCESS;

fail:
    if (cin && cin != INVALID_HANDLE_VALUE)
        CloseHandle(cin);
    if (cout)
        CloseHandle(cout);
    if (cerr && cerr != INVALID_HANDLE_VALUE)
        CloseHandle(cerr);
    berth_win_child_close(c);
    return rv;
}
