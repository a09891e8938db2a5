#include <string.h>

#include <apr_cstr.h>

#include "test_util.h"
#include "doc_names.h"
#include "fake_facts.h"

#include "config.h"
#include "envset.h"
#include "winenv.h"

static berth_config_t *config(const char *text)
{
    berth_config_t *cfg;
    apr_array_header_t *d = apr_array_make(test_pool, 2, sizeof(berth_diag_t));
    if (berth_config_parse("t.json", text, strlen(text), &cfg, d, test_pool) !=
        APR_SUCCESS)
        fail_msg("config rejected");
    return cfg;
}

static apr_array_header_t *build(const berth_hostfacts_t *f,
                                 const berth_config_t *cfg,
                                 const apr_array_header_t *server_env,
                                 const berth_loginenv_t *login,
                                 const char *docker_dir)
{
    berth_envset_in_t in = { f, f->env, cfg, server_env, login, docker_dir };
    return berth_envset_build(&in, NULL, test_pool);
}

static const char *get(const berth_hostfacts_t *f,
                       const apr_array_header_t *env, const char *key)
{
    return berth_env_get(f, env, key);
}

static apr_array_header_t *kv(const char *const *pairs)
{
    apr_array_header_t *a = apr_array_make(test_pool, 4, sizeof(berth_kv_t));
    for (; pairs[0]; pairs += 2) {
        berth_kv_t *e = apr_array_push(a);
        e->key = pairs[0];
        e->value = pairs[1];
    }
    return a;
}

static void test_allow_list_unix_exact(void **state)
{
    (void)state;
    const char *env[] = { "PATH=/usr/local/bin:/usr/bin", "HOME=/home/ada",
                          "path=lower", "LC_TIME=de_DE", "LC_FOO=x",
                          "AWS_SECRET_ACCESS_KEY=aws-s", "GITHUB_TOKEN=gh-s",
                          "DOCKER_HOST=unix:///d", "NVM_DIR=/n",
                          "HTTP_PROXY=http://p", "XDG_RUNTIME_DIR=/run/u",
                          "MY_ONE=1", "MY_TWO=2", "MYX=3", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
    apr_array_header_t *e = build(f, NULL, NULL, NULL, NULL);
    assert_string_equal(get(f, e, "HOME"), "/home/ada");
    assert_string_equal(get(f, e, "LC_TIME"), "de_DE");
    assert_string_equal(get(f, e, "DOCKER_HOST"), "unix:///d");
    assert_string_equal(get(f, e, "NVM_DIR"), "/n");
    assert_string_equal(get(f, e, "XDG_RUNTIME_DIR"), "/run/u");
    assert_null(get(f, e, "path"));        /* exact on Unix */
    assert_null(get(f, e, "LC_FOO"));      /* not one of the 13 */
    assert_null(get(f, e, "AWS_SECRET_ACCESS_KEY"));
    assert_null(get(f, e, "GITHUB_TOKEN"));
    assert_null(get(f, e, "HTTP_PROXY"));  /* proxies only on request */
    assert_null(get(f, e, "MY_ONE"));
    /* the user's extension, with a prefix */
    berth_config_t *cfg = config("{\"env\": {\"allow\": [\"MY_*\", "
                                 "\"GITHUB_TOKEN\"]}}");
    e = build(f, cfg, NULL, NULL, NULL);
    assert_string_equal(get(f, e, "MY_ONE"), "1");
    assert_string_equal(get(f, e, "MY_TWO"), "2");
    assert_null(get(f, e, "MYX"));
    assert_string_equal(get(f, e, "GITHUB_TOKEN"), "gh-s");
    assert_string_equal(get(f, e, "HOME"), "/home/ada");
    /* replacing the list keeps only the user's names, and docker's */
    cfg = config("{\"env\": {\"allow\": [\"MY_ONE\"], "
                 "\"allow_defaults\": false}}");
    e = build(f, cfg, NULL, NULL, NULL);
    assert_string_equal(get(f, e, "MY_ONE"), "1");
    assert_string_equal(get(f, e, "DOCKER_HOST"), "unix:///d");
    assert_null(get(f, e, "HOME"));
    assert_null(get(f, e, "NVM_DIR"));
}

static void test_allow_list_windows_case_insensitive(void **state)
{
    (void)state;
    const char *env[] = { "Path=C:\\Windows", "SystemRoot=C:\\Windows",
                          "comspec=C:\\Windows\\system32\\cmd.exe",
                          "ProgramFiles=C:\\Program Files",
                          "HOME=C:\\Users\\ada", "SHELL=/usr/bin/bash",
                          "GITHUB_TOKEN=gh-s", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_WINDOWS, env, test_pool);
    apr_array_header_t *e = build(f, NULL, NULL, NULL, NULL);
    assert_string_equal(get(f, e, "SYSTEMROOT"), "C:\\Windows");
    assert_string_equal(get(f, e, "COMSPEC"),
                        "C:\\Windows\\system32\\cmd.exe");
    assert_string_equal(get(f, e, "PROGRAMFILES"), "C:\\Program Files");
    assert_null(get(f, e, "SHELL"));   /* a Unix name */
    assert_null(get(f, e, "GITHUB_TOKEN"));
    /* a server's "PATH" replaces berth's "Path": one variable on Windows */
    const char *pairs[] = { "PATH", "C:\\mine", NULL };
    e = build(f, NULL, kv(pairs), NULL, NULL);
    int paths = 0;
    for (int i = 0; i < e->nelts; i++)
        if (apr_cstr_casecmpn(APR_ARRAY_IDX(e, i, const char *), "path=", 5) ==
            0)
            paths++;
    assert_int_equal(paths, 1);
    assert_string_equal(get(f, e, "path"), "C:\\mine");
    berth_config_t *cfg = config("{\"env\": {\"allow\": [\"github_*\"]}}");
    e = build(f, cfg, NULL, NULL, NULL);
    assert_string_equal(get(f, e, "GITHUB_TOKEN"), "gh-s");
}

static void test_server_env_overrides(void **state)
{
    (void)state;
    const char *env[] = { "PATH=/usr/local/bin", "LANG=C", "HOME=/h", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
    const char *pairs[] = { "LANG", "de_DE.UTF-8", "API_KEY", "k", NULL };
    apr_array_header_t *e = build(f, NULL, kv(pairs), NULL, NULL);
    assert_string_equal(get(f, e, "LANG"), "de_DE.UTF-8");
    assert_string_equal(get(f, e, "API_KEY"), "k");
    assert_string_equal(get(f, e, "HOME"), "/h");
}

static void test_path_enhancement(void **state)
{
    (void)state;
    /* A launchd/systemd-minimal PATH: login PATH first, then tool folders
     * that exist, then the old entries; no duplicates, order kept. */
    const char *env[] = { "PATH=/usr/bin:/bin:/usr/bin", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_DARWIN, env, test_pool);
    fake_path(f, "/usr/bin", BERTH_PROBE_DIR);
    fake_path(f, "/bin", BERTH_PROBE_DIR);
    fake_path(f, "/opt/homebrew/bin", BERTH_PROBE_DIR);
    fake_path(f, "/usr/sbin", BERTH_PROBE_DIR);
    fake_path(f, "/Applications/Docker.app/Contents/Resources/bin",
              BERTH_PROBE_DIR);
    fake_path(f, "/Users/ada/.cargo/bin", BERTH_PROBE_DIR);
    fake_path(f, "/usr/local/bin", BERTH_PROBE_MISSING);
    berth_loginenv_t login = { 1, 1, "/bin/zsh", NULL, NULL,
                               "/Users/ada/.nvm/bin:/usr/bin:/opt/homebrew/bin" };
    apr_array_header_t *e = build(f, NULL, NULL, &login, NULL);
    assert_string_equal(get(f, e, "PATH"),
                        "/Users/ada/.nvm/bin:/usr/bin:/opt/homebrew/bin:/bin:"
                        "/usr/sbin:/Applications/Docker.app/Contents/"
                        "Resources/bin:/Users/ada/.cargo/bin");
    /* without a login capture: the tool folders alone */
    e = build(f, NULL, NULL, NULL, NULL);
    assert_string_equal(get(f, e, "PATH"),
                        "/usr/bin:/bin:/opt/homebrew/bin:/usr/sbin:"
                        "/Applications/Docker.app/Contents/Resources/bin:"
                        "/Users/ada/.cargo/bin");
    /* a PATH with a tool folder is left as it is */
    const char *full[] = { "PATH=/x:/usr/local/bin:/x", NULL };
    berth_hostfacts_t *g = fake_facts(BERTH_OS_LINUX, full, test_pool);
    e = build(g, NULL, NULL, &login, NULL);
    assert_string_equal(get(g, e, "PATH"), "/x:/usr/local/bin:/x");
    /* no PATH at all */
    berth_hostfacts_t *h = fake_facts(BERTH_OS_LINUX, NULL, test_pool);
    fake_path(h, "/usr/bin", BERTH_PROBE_DIR);
    e = build(h, NULL, NULL, NULL, NULL);
    assert_string_equal(get(h, e, "PATH"), "/usr/bin");
    /* a server that sets PATH itself keeps it */
    const char *pairs[] = { "PATH", "/only/mine", NULL };
    e = build(f, NULL, kv(pairs), &login, NULL);
    assert_string_equal(get(f, e, "PATH"), "/only/mine");
}

static void test_path_enhancement_windows_registry(void **state)
{
    (void)state;
    const char *env[] = { "Path=C:\\Windows\\system32", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_WINDOWS, env, test_pool);
    f->registry_user_path = "C:\\Users\\ada\\AppData\\Roaming\\npm;"
                            "C:\\WINDOWS\\system32";
    f->registry_machine_path = "C:\\Program Files\\Docker\\Docker\\resources"
                               "\\bin;C:\\Program Files\\nodejs";
    apr_array_header_t *e = build(f, NULL, NULL, NULL, NULL);
    assert_string_equal(get(f, e, "PATH"),
                        "C:\\Users\\ada\\AppData\\Roaming\\npm;"
                        "C:\\WINDOWS\\system32;C:\\Program Files\\Docker\\"
                        "Docker\\resources\\bin;C:\\Program Files\\nodejs");
    /* Docker's resources\bin already there: nothing to do */
    const char *has[] = { "Path=C:\\Program Files\\Docker\\Docker\\resources"
                          "\\bin\\", NULL };
    berth_hostfacts_t *g = fake_facts(BERTH_OS_WINDOWS, has, test_pool);
    g->registry_user_path = "C:\\other";
    e = build(g, NULL, NULL, NULL, NULL);
    assert_string_equal(get(g, e, "PATH"), "C:\\Program Files\\Docker\\Docker"
                                           "\\resources\\bin\\");
}

static void test_docker_dir_prepend(void **state)
{
    (void)state;
    const char *env[] = { "PATH=/usr/local/bin:/usr/bin", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
    apr_array_header_t *e = build(f, NULL, NULL, NULL, "/opt/docker");
    assert_string_equal(get(f, e, "PATH"), "/opt/docker:/usr/local/bin:/usr/bin");
    e = build(f, NULL, NULL, NULL, "/usr/bin");
    assert_string_equal(get(f, e, "PATH"), "/usr/local/bin:/usr/bin");
}

static void test_strip_credentials(void **state)
{
    (void)state;
    struct { const char *in, *out; } rows[] = {
        { "http://user:pass@proxy:3128", "http://proxy:3128" },
        { "https://u%40x:p@ss@proxy.corp/path", "https://proxy.corp/path" },
        { "user:pass@proxy:3128", "proxy:3128" },
        { "  http://proxy:3128 \n", "http://proxy:3128" },
        { "socks5://proxy:1080", "socks5://proxy:1080" },
        { "proxy:8080", "proxy:8080" },
        { "http://proxy/x@y", "http://proxy/x@y" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_string_equal(berth_envset_strip_credentials(rows[i].in,
                                                           test_pool),
                            rows[i].out);
}

static void test_proxy_groups(void **state)
{
    (void)state;
    const char *env[] = { "PATH=/usr/local/bin",
                          "HTTP_PROXY=http://u:p@proxy:3128",
                          "http_proxy=http://u:p@proxy:3128",
                          "HTTPS_PROXY= u:p@sproxy:443 ",
                          "ALL_PROXY=socks5://all:1080",
                          "NO_PROXY=localhost,user@internal,.corp",
                          "ftp_proxy=ftp://a:b@ftp:21", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
    /* off by default */
    apr_array_header_t *e = build(f, NULL, NULL, NULL, NULL);
    assert_null(get(f, e, "HTTP_PROXY"));
    assert_null(get(f, e, "NO_PROXY"));
    berth_config_t *cfg = config("{\"env\": {\"forward_proxy_env\": true}}");
    const char *pairs[] = { "https_proxy", "http://server-own:1", NULL };
    e = build(f, cfg, kv(pairs), NULL, NULL);
    assert_string_equal(get(f, e, "HTTP_PROXY"), "http://proxy:3128");
    assert_string_equal(get(f, e, "http_proxy"), "http://proxy:3128");
    /* the server set one spelling: the whole group is its own */
    assert_string_equal(get(f, e, "https_proxy"), "http://server-own:1");
    assert_null(get(f, e, "HTTPS_PROXY"));
    assert_string_equal(get(f, e, "ALL_PROXY"), "socks5://all:1080");
    assert_string_equal(get(f, e, "NO_PROXY"),
                        "localhost,user@internal,.corp");
    assert_string_equal(get(f, e, "ftp_proxy"), "ftp://ftp:21");
    /* without the server's setting, the schemeless one is cleaned too */
    e = build(f, cfg, NULL, NULL, NULL);
    assert_string_equal(get(f, e, "HTTPS_PROXY"), "sproxy:443");
}

static int has_reason(const apr_array_header_t *reasons, const char *text)
{
    for (int i = 0; i < reasons->nelts; i++)
        if (strstr(APR_ARRAY_IDX(reasons, i, const char *), text))
            return 1;
    return 0;
}

static apr_array_header_t *build_why(const berth_hostfacts_t *f,
                                     const berth_config_t *cfg,
                                     const apr_array_header_t *server_env,
                                     apr_array_header_t **reasons)
{
    berth_envset_in_t in = { f, f->env, cfg, server_env, NULL, NULL };
    *reasons = apr_array_make(test_pool, 4, sizeof(const char *));
    return berth_envset_build(&in, *reasons, test_pool);
}

/* Windows has one variable whatever its case: a server that sets
 * Https_Proxy has set HTTPS_PROXY, and berth's own value must not replace
 * it. On Unix the two spellings are two variables, and the check stays
 * exact. */
static void test_proxy_set_by_server_any_case(void **state)
{
    (void)state;
    berth_config_t *cfg = config("{\"env\": {\"forward_proxy_env\": true}}");
    const char *pairs[] = { "Https_Proxy", "http://server-own:1", NULL };
    const char *wenv[] = { "Path=C:\\Windows",
                           "HTTPS_PROXY=http://berth-proxy:3128", NULL };
    berth_hostfacts_t *w = fake_facts(BERTH_OS_WINDOWS, wenv, test_pool);
    apr_array_header_t *why;
    apr_array_header_t *e = build_why(w, cfg, kv(pairs), &why);
    assert_string_equal(get(w, e, "HTTPS_PROXY"), "http://server-own:1");
    int n = 0;
    for (int i = 0; i < e->nelts; i++)
        n += apr_cstr_casecmpn(APR_ARRAY_IDX(e, i, const char *),
                               "https_proxy=", 12) == 0;
    assert_int_equal(n, 1);
    assert_true(has_reason(why, "HTTPS_PROXY set by the server; berth's not "
                                "forwarded"));
    const char *uenv[] = { "PATH=/usr/local/bin",
                           "HTTPS_PROXY=http://berth-proxy:3128", NULL };
    berth_hostfacts_t *u = fake_facts(BERTH_OS_LINUX, uenv, test_pool);
    e = build_why(u, cfg, kv(pairs), &why);
    assert_string_equal(get(u, e, "Https_Proxy"), "http://server-own:1");
    assert_string_equal(get(u, e, "HTTPS_PROXY"), "http://berth-proxy:3128");
}

/* Proxy credentials are the opt-in's to give, and even it gives none: a
 * proxy variable that reaches the child through env.allow loses its
 * user:password@ too, in any spelling and under any pattern. Only the
 * server's own env can hand a child proxy credentials. */
static void test_allowed_proxy_loses_credentials(void **state)
{
    (void)state;
    const char *env[] = { "PATH=/usr/local/bin",
                          "HTTPS_PROXY=http://user:pw@proxy:3128",
                          "HTTP_PROXY=user:pw@proxy:3128",
                          "http_proxy=http://u:p@lower:3128",
                          "npm_config_https_proxy=http://n:pw@npm:8080",
                          "HTTP_PROXY_PORT=3128",
                          "NO_PROXY=localhost,user@internal", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
    berth_config_t *cfg = config("{\"env\": {\"allow\": [\"HTTP*\", "
                                 "\"http_*\", \"npm_config_*\", "
                                 "\"NO_PROXY\"]}}");
    apr_array_header_t *why;
    apr_array_header_t *e = build_why(f, cfg, NULL, &why);
    assert_string_equal(get(f, e, "HTTPS_PROXY"), "http://proxy:3128");
    assert_string_equal(get(f, e, "HTTP_PROXY"), "proxy:3128");
    assert_string_equal(get(f, e, "http_proxy"), "http://lower:3128");
    assert_string_equal(get(f, e, "npm_config_https_proxy"),
                        "http://npm:8080");
    /* not a proxy URL: as it was */
    assert_string_equal(get(f, e, "HTTP_PROXY_PORT"), "3128");
    assert_string_equal(get(f, e, "NO_PROXY"), "localhost,user@internal");
    assert_true(has_reason(why, "HTTPS_PROXY, HTTP_PROXY, http_proxy, "
                                "npm_config_https_proxy: berth's proxy "
                                "credentials removed"));
    /* a wider pattern, the same */
    e = build(f, config("{\"env\": {\"allow\": [\"H*\"]}}"), NULL, NULL,
              NULL);
    assert_string_equal(get(f, e, "HTTPS_PROXY"), "http://proxy:3128");
    /* and with the opt-in as well */
    e = build(f, config("{\"env\": {\"allow\": [\"HTTP*\"], "
                        "\"forward_proxy_env\": true}}"), NULL, NULL, NULL);
    assert_string_equal(get(f, e, "HTTPS_PROXY"), "http://proxy:3128");
    /* the server's own value is the user's to give: untouched */
    const char *pairs[] = { "HTTPS_PROXY", "http://own:pw@proxy:1", NULL };
    e = build(f, cfg, kv(pairs), NULL, NULL);
    assert_string_equal(get(f, e, "HTTPS_PROXY"), "http://own:pw@proxy:1");
    /* Windows: any case is the proxy variable */
    const char *wenv[] = { "Path=C:\\Windows",
                           "Https_Proxy=http://user:pw@proxy:3128", NULL };
    berth_hostfacts_t *w = fake_facts(BERTH_OS_WINDOWS, wenv, test_pool);
    e = build(w, config("{\"env\": {\"allow\": [\"HTTPS_*\"]}}"), NULL,
              NULL, NULL);
    assert_string_equal(get(w, e, "HTTPS_PROXY"), "http://proxy:3128");
}

/* A service running as LocalSystem: no USERPROFILE, LOCALAPPDATA,
 * ProgramW6432, ProgramData or TEMP in its environment. */
static berth_hostfacts_t *localsystem(void)
{
    const char *env[] = { "Path=C:\\Windows\\system32",
                          "SystemRoot=C:\\Windows", "SystemDrive=C:",
                          "windir=C:\\Windows",
                          "ProgramFiles=C:\\Program Files", "TMP=",
                          "ComSpec=C:\\Windows\\system32\\cmd.exe", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_WINDOWS, env, test_pool);
    f->home = NULL;
    f->known_folders.profile = "C:\\Windows\\system32\\config\\systemprofile";
    f->known_folders.local_app_data = "C:\\Windows\\system32\\config\\"
                                      "systemprofile\\AppData\\Local";
    f->known_folders.program_files = "C:\\Program Files (known)";
    f->known_folders.windows = "D:\\Windows";
    /* Windows names no folder for these two: the usual locations */
    f->known_folders.program_files_x64 = NULL;
    f->known_folders.program_data = NULL;
    return f;
}

/* The LocalSystem fallbacks fill berth's own environment from the known
 * folders, else the usual locations, never over a variable that is there;
 * the child gets them through the allow-list, each with its reason. */
static void test_windows_localsystem_fallbacks(void **state)
{
    (void)state;
    berth_hostfacts_t *f = localsystem();
    berth_winenv_fill(f, test_pool);
    assert_string_equal(get(f, f->env, "USERPROFILE"),
                        "C:\\Windows\\system32\\config\\systemprofile");
    assert_string_equal(f->home,
                        "C:\\Windows\\system32\\config\\systemprofile");
    assert_string_equal(get(f, f->env, "LOCALAPPDATA"),
                        "C:\\Windows\\system32\\config\\systemprofile\\"
                        "AppData\\Local");
    assert_string_equal(get(f, f->env, "ProgramW6432"), "C:\\Program Files");
    assert_string_equal(get(f, f->env, "ProgramData"), "C:\\ProgramData");
    /* present: kept as they are */
    assert_string_equal(get(f, f->env, "ProgramFiles"), "C:\\Program Files");
    assert_string_equal(get(f, f->env, "SystemRoot"), "C:\\Windows");
    assert_int_equal(f->env_fallbacks->nelts, 4);
    /* twice is once */
    berth_winenv_fill(f, test_pool);
    assert_int_equal(f->env_fallbacks->nelts, 4);

    apr_array_header_t *why;
    apr_array_header_t *e = build_why(f, NULL, NULL, &why);
    assert_string_equal(get(f, e, "USERPROFILE"),
                        "C:\\Windows\\system32\\config\\systemprofile");
    assert_string_equal(get(f, e, "PROGRAMDATA"), "C:\\ProgramData");
    assert_string_equal(get(f, e, "ProgramW6432"), "C:\\Program Files");
    assert_null(get(f, e, "TEMP"));   /* nowhere to take it from */
    assert_string_equal(get(f, e, "TMP"), "");
    assert_true(has_reason(why, "USERPROFILE is not in berth's environment "
                                "(a service running as LocalSystem may lack "
                                "it): C:\\Windows\\system32\\config\\"
                                "systemprofile, the folder Windows knows for "
                                "it (Profile)"));
    assert_true(has_reason(why, "ProgramData is not in berth's environment "
                                "(a service running as LocalSystem may lack "
                                "it): C:\\ProgramData, its usual location"));
    assert_true(has_reason(why, "LOCALAPPDATA is not in berth's"));
    assert_true(has_reason(why, "ProgramW6432 is not in berth's"));
    assert_false(has_reason(why, "from berth's environment: every Windows"));

    /* the server's own value is no fallback */
    const char *pairs[] = { "USERPROFILE", "C:\\Users\\svc", NULL };
    e = build_why(f, NULL, kv(pairs), &why);
    assert_string_equal(get(f, e, "USERPROFILE"), "C:\\Users\\svc");
    assert_false(has_reason(why, "USERPROFILE is not in berth's"));

    /* no folder and no usual location: nothing */
    berth_hostfacts_t *g = localsystem();
    g->known_folders.profile = NULL;
    g->known_folders.local_app_data = NULL;
    berth_winenv_fill(g, test_pool);
    assert_null(get(g, g->env, "USERPROFILE"));
    assert_null(get(g, g->env, "LOCALAPPDATA"));
    assert_null(g->home);
    /* a home the platform found stays */
    berth_hostfacts_t *h = localsystem();
    h->home = "C:\\elsewhere";
    berth_winenv_fill(h, test_pool);
    assert_string_equal(h->home, "C:\\elsewhere");
}

/* Every Windows child gets SYSTEMROOT, SYSTEMDRIVE, WINDIR, TEMP, TMP and
 * USERPROFILE: under a replaced allow-list too, from berth's environment as
 * Windows gave it (not from a LocalSystem fallback, not an empty value). */
static void test_windows_every_child_gets(void **state)
{
    (void)state;
    const char *env[] = { "Path=C:\\Windows", "SystemRoot=C:\\Windows",
                          "SystemDrive=C:", "windir=C:\\Windows",
                          "TEMP=C:\\Temp", "TMP=C:\\Tmp",
                          "USERPROFILE=C:\\Users\\ada", "MY_ONE=1",
                          "GITHUB_TOKEN=gh-s", NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_WINDOWS, env, test_pool);
    berth_winenv_fill(f, test_pool);
    berth_config_t *cfg = config("{\"env\": {\"allow\": [\"MY_ONE\"], "
                                 "\"allow_defaults\": false}}");
    apr_array_header_t *why;
    apr_array_header_t *e = build_why(f, cfg, NULL, &why);
    assert_string_equal(get(f, e, "SYSTEMROOT"), "C:\\Windows");
    assert_string_equal(get(f, e, "SYSTEMDRIVE"), "C:");
    assert_string_equal(get(f, e, "WINDIR"), "C:\\Windows");
    assert_string_equal(get(f, e, "TEMP"), "C:\\Temp");
    assert_string_equal(get(f, e, "TMP"), "C:\\Tmp");
    assert_string_equal(get(f, e, "USERPROFILE"), "C:\\Users\\ada");
    assert_string_equal(get(f, e, "MY_ONE"), "1");
    assert_null(get(f, e, "GITHUB_TOKEN"));
    assert_true(has_reason(why, "SYSTEMROOT, SYSTEMDRIVE, WINDIR, TEMP, TMP, "
                                "USERPROFILE from berth's environment: every "
                                "Windows program gets"));
    /* the allow-list already gave them: nothing added, no reason */
    e = build_why(f, NULL, NULL, &why);
    assert_false(has_reason(why, "every Windows program gets"));
    /* the server's value stays */
    const char *pairs[] = { "TEMP", "C:\\mine", NULL };
    e = build_why(f, cfg, kv(pairs), &why);
    assert_string_equal(get(f, e, "TEMP"), "C:\\mine");
    assert_true(has_reason(why, "SYSTEMROOT, SYSTEMDRIVE, WINDIR, TMP, "
                                "USERPROFILE from berth's environment"));

    /* LocalSystem: the filled USERPROFILE and the empty TMP are not taken */
    berth_hostfacts_t *ls = localsystem();
    berth_winenv_fill(ls, test_pool);
    e = build_why(ls, cfg, NULL, &why);
    assert_null(get(ls, e, "USERPROFILE"));
    assert_null(get(ls, e, "TMP"));
    assert_null(get(ls, e, "TEMP"));
    assert_string_equal(get(ls, e, "SYSTEMROOT"), "C:\\Windows");
    assert_true(has_reason(why, "SYSTEMROOT, SYSTEMDRIVE, WINDIR from "
                                "berth's environment"));
    assert_false(has_reason(why, "is not in berth's environment"));
}

/* The Windows rules stay on Windows. */
static void test_windows_rules_only_on_windows(void **state)
{
    (void)state;
    const char *env[] = { "PATH=/usr/local/bin", "SYSTEMROOT=C:\\Windows",
                          NULL };
    berth_hostfacts_t *f = fake_facts(BERTH_OS_LINUX, env, test_pool);
    f->known_folders.profile = "/nowhere";
    const char *home = f->home;
    berth_winenv_fill(f, test_pool);
    assert_null(get(f, f->env, "USERPROFILE"));
    assert_ptr_equal(f->home, home);
    berth_config_t *cfg = config("{\"env\": {\"allow_defaults\": false}}");
    apr_array_header_t *why;
    apr_array_header_t *e = build_why(f, cfg, NULL, &why);
    assert_null(get(f, e, "SYSTEMROOT"));
    assert_false(has_reason(why, "every Windows program"));
}

/* ---- the lists, entry by entry ---------------------------------------- */

/* Which built-in list a name is on (docs/spawn.md, step 1). EVERY_WIN: one
 * of the six every Windows child gets even under a replaced list. */
enum { L_UNIX = 1, L_WIN = 2, L_TOOL = 4, L_DOCKER = 8, EVERY_WIN = 16 };
static const struct {
    const char *name;
    int lists;
} k_allow_rows[] = {
    { "PATH", L_UNIX | L_WIN }, { "HOME", L_UNIX }, { "TMPDIR", L_UNIX },
    { "TEMP", L_UNIX | L_WIN | EVERY_WIN },
    { "TMP", L_UNIX | L_WIN | EVERY_WIN }, { "SHELL", L_UNIX },
    { "TERM", L_UNIX }, { "LANG", L_UNIX }, { "USER", L_UNIX },
    { "USERNAME", L_UNIX | L_WIN }, { "LC_ALL", L_UNIX },
    { "LC_CTYPE", L_UNIX }, { "LC_NUMERIC", L_UNIX }, { "LC_TIME", L_UNIX },
    { "LC_COLLATE", L_UNIX }, { "LC_MONETARY", L_UNIX },
    { "LC_MESSAGES", L_UNIX }, { "LC_PAPER", L_UNIX }, { "LC_NAME", L_UNIX },
    { "LC_ADDRESS", L_UNIX }, { "LC_TELEPHONE", L_UNIX },
    { "LC_MEASUREMENT", L_UNIX }, { "LC_IDENTIFICATION", L_UNIX },
    { "XDG_CONFIG_HOME", L_UNIX }, { "XDG_DATA_HOME", L_UNIX },
    { "XDG_CACHE_HOME", L_UNIX }, { "XDG_RUNTIME_DIR", L_UNIX },
    { "USERPROFILE", L_WIN | EVERY_WIN }, { "APPDATA", L_WIN },
    { "LOCALAPPDATA", L_WIN }, { "PROGRAMFILES", L_WIN },
    { "ProgramW6432", L_WIN }, { "PROGRAMDATA", L_WIN },
    { "SYSTEMROOT", L_WIN | EVERY_WIN }, { "SYSTEMDRIVE", L_WIN | EVERY_WIN },
    { "WINDIR", L_WIN | EVERY_WIN }, { "COMSPEC", L_WIN },
    { "PATHEXT", L_WIN }, { "NVM_DIR", L_TOOL }, { "ASDF_DIR", L_TOOL },
    { "PYENV_ROOT", L_TOOL }, { "VOLTA_HOME", L_TOOL },
    { "HOMEBREW_PREFIX", L_TOOL }, { "COLIMA_HOME", L_TOOL },
    { "DOCKER_HOST", L_DOCKER }, { "DOCKER_CONTEXT", L_DOCKER },
    { "DOCKER_CONFIG", L_DOCKER }, { "DOCKER_CERT_PATH", L_DOCKER },
    { "DOCKER_TLS_VERIFY", L_DOCKER },
};
#define N_ALLOW_ROWS (sizeof k_allow_rows / sizeof k_allow_rows[0])

/* berth's environment holding every row's name (PATH with a tool folder,
 * so it is not enhanced), each value naming its variable. */
static berth_hostfacts_t *every_listed(berth_os_t os)
{
    int win = os == BERTH_OS_WINDOWS;
    apr_array_header_t *env = apr_array_make(test_pool, 64,
                                             sizeof(const char *));
    for (size_t i = 0; i < N_ALLOW_ROWS; i++) {
        const char *n = k_allow_rows[i].name;
        APR_ARRAY_PUSH(env, const char *) = apr_pstrcat(
            test_pool, n, "=",
            strcmp(n, "PATH") != 0 ? apr_pstrcat(test_pool, "v-", n, NULL)
            : win ? "C:\\Program Files\\Docker\\Docker\\resources\\bin"
                  : "/usr/local/bin",
            NULL);
    }
    APR_ARRAY_PUSH(env, const char *) = "UNLISTED_NAME=v";
    APR_ARRAY_PUSH(env, const char *) = NULL;
    return fake_facts(os, (const char *const *)env->elts, test_pool);
}

/* Each entry reaches a child on the OSes whose list has it, and none
 * other: with the built-in list, and with only docker's (plus, on
 * Windows, the six every program gets). */
static void test_every_allow_list_entry_reaches_a_child(void **state)
{
    (void)state;
    berth_os_t oses[] = { BERTH_OS_LINUX, BERTH_OS_DARWIN, BERTH_OS_WINDOWS };
    berth_config_t *dropped = config("{\"env\": {\"allow_defaults\": false}}");
    for (size_t o = 0; o < 3; o++) {
        int win = oses[o] == BERTH_OS_WINDOWS;
        berth_hostfacts_t *f = every_listed(oses[o]);
        for (int d = 0; d < 2; d++) {
            apr_array_header_t *e = build(f, d ? dropped : NULL, NULL, NULL,
                                          NULL);
            for (size_t i = 0; i < N_ALLOW_ROWS; i++) {
                int l = k_allow_rows[i].lists;
                int want = (l & L_DOCKER) || (win && (l & EVERY_WIN)) ||
                           (!d && ((l & L_TOOL) ||
                                   (l & (win ? L_WIN : L_UNIX))));
                const char *got = get(f, e, k_allow_rows[i].name);
                /* step 3 builds a PATH whatever the list says */
                if (d && strcmp(k_allow_rows[i].name, "PATH") == 0)
                    continue;
                if (!!got != want)
                    fail_msg("%s on %s%s: %s, want %s", k_allow_rows[i].name,
                             berth_os_name(oses[o]),
                             d ? " (allow_defaults false)" : "",
                             got ? "passed" : "not passed",
                             want ? "passed" : "not");
                if (got && strcmp(k_allow_rows[i].name, "PATH") != 0 &&
                    strcmp(got + 2, k_allow_rows[i].name) != 0)
                    fail_msg("%s got the value %s", k_allow_rows[i].name, got);
            }
            assert_null(get(f, e, "UNLISTED_NAME"));
        }
    }
}

/* The list in force is exactly the rows for the OS: nothing on it that the
 * doc and these rows do not name. */
static void test_allow_list_is_exactly_the_documented_one(void **state)
{
    (void)state;
    berth_os_t oses[] = { BERTH_OS_LINUX, BERTH_OS_WINDOWS };
    for (size_t o = 0; o < 2; o++) {
        int win = oses[o] == BERTH_OS_WINDOWS;
        berth_hostfacts_t *f = fake_facts(oses[o], NULL, test_pool);
        apr_array_header_t *a = berth_envset_allowlist(f, NULL, test_pool);
        size_t want = 0;
        for (size_t i = 0; i < N_ALLOW_ROWS; i++) {
            int l = k_allow_rows[i].lists;
            if (!(l & (L_TOOL | L_DOCKER | (win ? L_WIN : L_UNIX))))
                continue;
            want++;
            if (!names_have(a, k_allow_rows[i].name))
                fail_msg("%s is not on the %s list", k_allow_rows[i].name,
                         berth_os_name(oses[o]));
        }
        if ((size_t)a->nelts != want)
            fail_msg("the %s list has %d names, the doc %zu",
                     berth_os_name(oses[o]), a->nelts, want);
    }
}

/* Whether the doc's TEXT names exactly the rows with FLAG. */
static void assert_doc_list(const char *what, const char *text, int flag)
{
    apr_array_header_t *all = doc_ticked_names(text, test_pool);
    apr_array_header_t *names = apr_array_make(test_pool, all->nelts,
                                               sizeof(const char *));
    for (int i = 0; i < all->nelts; i++)
        if (!names_have(names, APR_ARRAY_IDX(all, i, const char *)))
            APR_ARRAY_PUSH(names, const char *) =
                APR_ARRAY_IDX(all, i, const char *);
    int n = 0;
    for (size_t i = 0; i < N_ALLOW_ROWS; i++) {
        if (!(k_allow_rows[i].lists & flag))
            continue;
        n++;
        if (!names_have(names, k_allow_rows[i].name))
            fail_msg("%s does not list %s", what, k_allow_rows[i].name);
    }
    if (names->nelts != n)
        fail_msg("%s lists %d names, the rows %d", what, names->nelts, n);
}

/* docs/spawn.md states the same lists, bullet by bullet, and config.md
 * names the same variables. */
static void test_allow_lists_as_documented(void **state)
{
    (void)state;
    const char *doc = doc_text("spawn.md", test_pool);
    const char *step = doc_span(doc, "1. **The allow-list**",
                                "   Names compare exactly", test_pool);
    assert_doc_list("spawn.md's Unix list",
                    doc_span(step, "   - Unix:", "   - Windows:", test_pool),
                    L_UNIX);
    assert_doc_list("spawn.md's Windows list",
                    doc_span(step, "   - Windows:", "   - both:", test_pool),
                    L_WIN);
    assert_doc_list("spawn.md's tool homes",
                    doc_span(step, "   - both:", "and always", test_pool),
                    L_TOOL);
    assert_doc_list("spawn.md's docker names",
                    doc_span(step, "and always", "reaches docker", test_pool),
                    L_DOCKER);
    const char *cfg = doc_text("config.md", test_pool);
    assert_doc_list("config.md's env section",
                    doc_span(cfg, "The built-in allow-list", "`allow` adds",
                             test_pool),
                    L_UNIX | L_WIN | L_TOOL | L_DOCKER);
}

/* The LocalSystem fallbacks (docs/spawn.md's table), one row each: the
 * folder Windows knows, else the usual location, else nothing. */
static const struct {
    const char *name, *known, *usual;
} k_fallback_rows[] = {
    { "ProgramW6432", "K-x64", "C:\\Program Files" },
    { "ProgramFiles", "K-pf", "C:\\Program Files" },
    { "ProgramData", "K-pd", "C:\\ProgramData" },
    { "LOCALAPPDATA", "K-lad", NULL },
    { "USERPROFILE", "K-prof", NULL },
    { "SystemRoot", "K-win", "C:\\Windows" },
};
#define N_FALLBACK_ROWS (sizeof k_fallback_rows / sizeof k_fallback_rows[0])

static void test_every_localsystem_fallback(void **state)
{
    (void)state;
    for (size_t r = 0; r < N_FALLBACK_ROWS; r++) {
        for (int known = 0; known < 2; known++) {
            berth_hostfacts_t *f = fake_facts(BERTH_OS_WINDOWS, NULL,
                                              test_pool);
            for (size_t i = 0; i < N_FALLBACK_ROWS; i++)
                if (i != r)
                    berth_env_set(f, f->env, k_fallback_rows[i].name, "set");
            if (known) {
                berth_known_folders_t k = { "K-x64", "K-pf", "K-pd", "K-lad",
                                            "K-prof", "K-win" };
                f->known_folders = k;
            }
            berth_winenv_fill(f, test_pool);
            const char *want = known ? k_fallback_rows[r].known
                                     : k_fallback_rows[r].usual;
            const char *got = get(f, f->env, k_fallback_rows[r].name);
            if (want ? !got || strcmp(got, want) != 0 : got != NULL)
                fail_msg("%s %s known folders: %s, want %s",
                         k_fallback_rows[r].name, known ? "with" : "without",
                         got ? got : "unset", want ? want : "unset");
            assert_int_equal(f->env_fallbacks->nelts, want ? 1 : 0);
        }
    }
    /* the doc's table has these rows, no more */
    const char *doc = doc_text("spawn.md", test_pool);
    const char *table = doc_span(doc, "| variable | Windows' known folder",
                                 "\n\n", test_pool);
    int rows = 0;
    for (const char *l = strstr(table, "\n| `"); l; l = strstr(l + 1, "\n| `"))
        rows++;
    assert_int_equal(rows, (int)N_FALLBACK_ROWS);
    for (size_t r = 0; r < N_FALLBACK_ROWS; r++) {
        const char *line = apr_pstrcat(test_pool, "\n| `",
                                       k_fallback_rows[r].name, "` |", NULL);
        const char *at = strstr(table, line);
        if (!at)
            fail_msg("spawn.md's fallback table lacks %s",
                     k_fallback_rows[r].name);
        const char *eol = strchr(at + 1, '\n');
        const char *usual = k_fallback_rows[r].usual
                                ? apr_pstrcat(test_pool, "`",
                                              k_fallback_rows[r].usual, "`",
                                              NULL)
                                : "(left unset)";
        const char *u = strstr(at, usual);
        if (!u || (eol && u > eol))
            fail_msg("spawn.md's %s row does not say %s",
                     k_fallback_rows[r].name, usual);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allow_list_unix_exact),
        cmocka_unit_test(test_allow_list_windows_case_insensitive),
        cmocka_unit_test(test_server_env_overrides),
        cmocka_unit_test(test_path_enhancement),
        cmocka_unit_test(test_path_enhancement_windows_registry),
        cmocka_unit_test(test_docker_dir_prepend),
        cmocka_unit_test(test_strip_credentials),
        cmocka_unit_test(test_proxy_groups),
        cmocka_unit_test(test_proxy_set_by_server_any_case),
        cmocka_unit_test(test_allowed_proxy_loses_credentials),
        cmocka_unit_test(test_windows_localsystem_fallbacks),
        cmocka_unit_test(test_windows_every_child_gets),
        cmocka_unit_test(test_windows_rules_only_on_windows),
        cmocka_unit_test(test_every_allow_list_entry_reaches_a_child),
        cmocka_unit_test(test_allow_list_is_exactly_the_documented_one),
        cmocka_unit_test(test_allow_lists_as_documented),
        cmocka_unit_test(test_every_localsystem_fallback),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
