#include "platform.h"

#include <stdlib.h>

#include <apr_strings.h>

const char *berth_platform_os_name(void) { return "darwin"; }

apr_array_header_t *berth_platform_config_candidates(apr_pool_t *pool)
{
    apr_array_header_t *out = apr_array_make(pool, 1, sizeof(const char *));
    const char *home = getenv("HOME");
    if (home && *home)
        APR_ARRAY_PUSH(out, const char *) = apr_pstrcat(
            pool, home, "/Library/Application Support/berth/config.json", NULL);
    return out;
}

berth_os_t berth_platform_os(void) { return BERTH_OS_DARWIN; }

const char *berth_platform_state_dir(const berth_hostfacts_t *facts,
                                     apr_pool_t *pool)
{
    return apr_pstrcat(pool, facts->home ? facts->home : "/tmp",
                       "/Library/Caches/berth", NULL);
}
