#include "platform.h"

#include <stdlib.h>

#include <apr_strings.h>

const char *berth_platform_os_name(void) { return "windows"; }

/* %ProgramData%\berth\config.json; a service may lack the variable, so fall
 * back to the literal default location. */
apr_array_header_t *berth_platform_config_candidates(apr_pool_t *pool)
{
    apr_array_header_t *out = apr_array_make(pool, 1, sizeof(const char *));
    const char *pd = getenv("ProgramData");
    if (!pd || !*pd)
        pd = "C:\\ProgramData";
    APR_ARRAY_PUSH(out, const char *) =
        apr_pstrcat(pool, pd, "\\berth\\config.json", NULL);
    return out;
}

berth_os_t berth_platform_os(void) { return BERTH_OS_WINDOWS; }

const char *berth_platform_state_dir(const berth_hostfacts_t *facts,
                                     apr_pool_t *pool)
{
    const char *la = berth_env_get(facts, facts->env, "LOCALAPPDATA");
    if (!la || !*la)
        la = "C:\\ProgramData";
    return apr_pstrcat(pool, la, "\\berth", NULL);
}
