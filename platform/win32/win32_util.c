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

/* The access tests leave a job handle with (berth_win_test_job_access);
 * 0, always outside the tests: all of it. Set before a spawn, on the
 * spawning thread. */
static DWORD g_test_job_access;

void berth_win_test_job_access(DWORD access)
{
    g_test_job_access = access;
}

/* *JOB replaced by a handle with only g_test_job_access. */
static apr_status_t restrict_job(HANDLE *job)
{
    HANDLE less;
    HANDLE self = GetCurrentProcess();
    if (!DuplicateHandle(self, *job, self, &less, g_test_job_access, FALSE,
                         0))
        return apr_get_os_error();
    CloseHandle(*job);
    *job = less;
    return APR_SUCCESS;
}

/* A Job Object whose last handle closing ends every process in it. */
static apr_status_t new_job(HANDLE *job)
{
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION lim;
    apr_status_t rv;
    *job = CreateJobObjectW(NULL, NULL);
    if (!*job)
        return apr_get_os_error();
    if (g_test_job_access && (rv = restrict_job(job)) != APR_SUCCESS)
        return rv;
    memset(&lim, 0, sizeof lim);
    lim.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    /* without the limit the job does not end with berth */
    if (!SetInformationJobObject(*job, JobObjectExtendedLimitInformation,
                                 &lim, sizeof lim))
        return apr_get_os_error();
    return APR_SUCCESS;
}

/* The child's stdin, stdout and stderr in STD (berth's ends in C): three
 * pipes, or with ALL_PIPES 0 a stdout pipe and NUL for the other two. */
static apr_status_t child_stdio(berth_win_child_t *c, int all_pipes,
                                HANDLE std[3])
{
    if (!make_pipe(&std[1], &c->out, 0))
        return apr_get_os_error();
    if (!all_pipes) {
        std[0] = nul_handle();
        std[2] = nul_handle();
        return APR_SUCCESS;
    }
    if (!make_pipe(&std[0], &c->in, 1) || !make_pipe(&std[2], &c->err, 0))
        return apr_get_os_error();
    return APR_SUCCESS;
}

static void close_child_ends(HANDLE std[3])
{
    for (int i = 0; i < 3; i++)
        if (std[i] && std[i] != INVALID_HANDLE_VALUE)
            CloseHandle(std[i]);
}

/* A thread attribute list naming STD as the only handles the child
 * inherits, whatever else berth has open and inheritable; NULL when
 * Windows refuses one. Free it with DeleteProcThreadAttributeList. */
static LPPROC_THREAD_ATTRIBUTE_LIST only_these(HANDLE *std, apr_pool_t *pool)
{
    SIZE_T size = 0;
    InitializeProcThreadAttributeList(NULL, 1, 0, &size);
    LPPROC_THREAD_ATTRIBUTE_LIST attrs = apr_palloc(pool, size);
    if (!InitializeProcThreadAttributeList(attrs, 1, 0, &size))
        return NULL;
    if (!UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
                                   std, 3 * sizeof(HANDLE), NULL, NULL)) {
        DeleteProcThreadAttributeList(attrs);
        return NULL;
    }
    return attrs;
}

/* CreateProcessW, suspended, with STD as the standard handles. */
static apr_status_t create_suspended(const char *program,
                                     const char *command_line,
                                     const apr_array_header_t *env,
                                     const char *cwd, HANDLE std[3],
                                     PROCESS_INFORMATION *pi,
                                     apr_pool_t *pool)
{
    STARTUPINFOEXW si;
    apr_status_t rv = APR_SUCCESS;
    LPPROC_THREAD_ATTRIBUTE_LIST attrs = only_these(std, pool);
    memset(&si, 0, sizeof si);
    si.StartupInfo.cb = sizeof si;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = std[0];
    si.StartupInfo.hStdOutput = std[1];
    si.StartupInfo.hStdError = std[2];
    si.lpAttributeList = attrs;
    DWORD flags = CREATE_UNICODE_ENVIRONMENT | CREATE_SUSPENDED |
                  CREATE_NO_WINDOW | (attrs ? EXTENDED_STARTUPINFO_PRESENT : 0);
    if (!CreateProcessW(berth_win_wide(program, pool),
                        berth_win_wide(command_line, pool), NULL, NULL, TRUE,
                        flags, berth_win_env_block(env, pool),
                        cwd ? berth_win_wide(cwd, pool) : NULL,
                        &si.StartupInfo, pi))
        rv = apr_get_os_error();
    if (attrs)
        DeleteProcThreadAttributeList(attrs);
    return rv;
}

apr_status_t berth_win_start(berth_win_child_t *c, const char *program,
                             const char *command_line,
                             const apr_array_header_t *env, const char *cwd,
                             int all_pipes, apr_pool_t *pool)
{
    HANDLE std[3] = { NULL, NULL, NULL };
    PROCESS_INFORMATION pi;
    apr_status_t rv;
    memset(c, 0, sizeof *c);

    c->step = BERTH_WIN_FAILED_JOB;
    if ((rv = new_job(&c->job)) != APR_SUCCESS)
        goto error;
    c->step = BERTH_WIN_FAILED_PIPE;
    if ((rv = child_stdio(c, all_pipes, std)) != APR_SUCCESS)
        goto error;
    c->step = BERTH_WIN_FAILED_CREATE;
    if ((rv = create_suspended(program, command_line, env, cwd, std, &pi,
                               pool)) != APR_SUCCESS)
        goto error;
    /* in the job before it runs a single instruction: its children too.
     * Outside it the tree would outlive berth, so it never runs. */
    if (!AssignProcessToJobObject(c->job, pi.hProcess)) {
        rv = apr_get_os_error();
        c->step = BERTH_WIN_FAILED_ASSIGN;
        TerminateProcess(pi.hProcess, 1);
        WaitForSingleObject(pi.hProcess, 5000);
        CloseHandle(pi.hThread);
        CloseHandle(pi.hProcess);
        goto error;
    }
    c->step = BERTH_WIN_STARTED;
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);
    c->process = pi.hProcess;
    c->pid = pi.dwProcessId;
    close_child_ends(std);
    return APR_SUCCESS;

error:
    close_child_ends(std);
    berth_win_child_close(c);
    return rv;
}
