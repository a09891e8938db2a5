#include "platform.h"

#include <stdlib.h>

#include <apr_strings.h>

const char *berth_platform_os_name(void) { return "linux"; }

/* $XDG_CONFIG_HOME/berth/config.json (else ~/.config/...), then the system
 * service's /etc/berth/config.json. */
apr_array_header_t *berth_platform_config_candidates(apr_pool_t *pool)
{
    apr_array_header_t *out = apr_array_make(pool, 2, sizeof(const char *));
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg == '/')
        APR_ARRAY_PUSH(out, const char *) =
            apr_pstrcat(pool, xdg, "/berth/config.json", NULL);
    else if (home && *home)
        APR_ARRAY_PUSH(out, const char *) =
            apr_pstrcat(pool, home, "/.config/berth/config.json", NULL);
    APR_ARRAY_PUSH(out, const char *) = "/etc/berth/config.json";
    return out;
}

berth_os_t berth_platform_os(void) { return BERTH_OS_LINUX; }

const char *berth_platform_state_dir(const berth_hostfacts_t *facts,
                                     apr_pool_t *pool)
{
    const char *run = berth_env_get(facts, facts->env, "XDG_RUNTIME_DIR");
    if (run && *run == '/')
        return apr_pstrcat(pool, run, "/berth", NULL);
    return apr_pstrcat(pool, facts->home ? facts->home : "/tmp",
                       "/.cache/berth", NULL);
}
