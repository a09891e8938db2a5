#include "cfgfile.h"

#include <stdlib.h>

#include <apr_file_info.h>
#include <apr_strings.h>

#include "platform.h"
#include "redact.h"

const char *berth_cfgfile_path(const char *option, const char **tried,
                               apr_pool_t *pool)
{
    const char *envp = getenv("BERTH_CONFIG");
    apr_finfo_t fi;
    *tried = NULL;
    if (option)
        return option;
    if (envp && *envp)
        return envp;
    apr_array_header_t *cands = berth_platform_config_candidates(pool);
    const char *list = "";
    for (int i = 0; i < cands->nelts; i++) {
        const char *c = APR_ARRAY_IDX(cands, i, const char *);
        if (apr_stat(&fi, c, APR_FINFO_TYPE, pool) == APR_SUCCESS)
            return c;
        list = apr_pstrcat(pool, list, *list ? ", " : "", c, NULL);
    }
    *tried = list;
    return NULL;
}

void berth_cfgfile_add_secrets(apr_array_header_t *secrets,
                               const berth_config_t *cfg)
{
    for (int i = 0; i < cfg->servers->nelts; i++)
        berth_config_server_secrets(
            cfg, APR_ARRAY_IDX(cfg->servers, i, berth_server_config_t *),
            secrets);
}

berth_config_t *berth_cfgfile_load(const char *option,
                                   const apr_array_header_t *keep,
                                   apr_array_header_t **secrets, FILE *err,
                                   apr_pool_t *pool)
{
    const char *tried;
    const char *file = berth_cfgfile_path(option, &tried, pool);
    berth_config_t *cfg;
    if (!file) {
        fprintf(err, "berth: no config file found (looked for %s); pass "
                "--config FILE or set BERTH_CONFIG\n", tried);
        return NULL;
    }
    apr_array_header_t *diags = apr_array_make(pool, 8, sizeof(berth_diag_t));
    apr_status_t rv = berth_config_load(file, &cfg, diags, pool);
    for (int i = 0; i < diags->nelts; i++)
        fprintf(err, "%s\n", berth_diag_format(&APR_ARRAY_IDX(diags, i,
                                                              berth_diag_t),
                                               pool));
    /* new lists each time: loggers on other threads read the one that is
     * set while these are filled */
    apr_array_header_t *mine = apr_array_make(pool, 8, sizeof(const char *));
    if (cfg && rv == APR_SUCCESS)
        berth_cfgfile_add_secrets(mine, cfg);
    apr_array_header_t *all = mine;
    if (keep) {
        all = apr_array_copy(pool, keep);
        apr_array_cat(all, mine);
    }
    berth_redact_set_log_secrets(all);
    if (rv != APR_SUCCESS) {
        int ne = berth_diag_count(diags, BERTH_DIAG_ERROR);
        int nw = berth_diag_count(diags, BERTH_DIAG_WARNING);
        fprintf(err, "%s: invalid: %d error%s, %d warning%s\n", file, ne,
                ne == 1 ? "" : "s", nw, nw == 1 ? "" : "s");
        return NULL;
    }
    if (secrets)
        *secrets = mine;
    return cfg;
}
