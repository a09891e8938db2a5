#include "cmd.h"

#include <apr_strings.h>

#include "cfgfile.h"
#include "hostfacts.h"

berth_config_t *berth_cmd_load_config(const berth_cmd_opts_t *opt, FILE *err,
                                      apr_pool_t *pool)
{
    return berth_cfgfile_load(opt->config, NULL, NULL, err, pool);
}

berth_config_t *berth_cmd_optional_config(const berth_cmd_opts_t *opt,
                                          int *failed, FILE *err,
                                          apr_pool_t *pool)
{
    const char *tried;
    berth_config_t *cfg = NULL;
    *failed = 0;
    if (opt->config || berth_cfgfile_path(NULL, &tried, pool)) {
        cfg = berth_cmd_load_config(opt, err, pool);
        *failed = cfg == NULL;
    }
    return cfg;
}

berth_spawnctx_t *berth_cmd_spawn_context(FILE *err, apr_pool_t *pool)
{
    berth_hostfacts_t *facts;
    char buf[128];
    apr_status_t rv = berth_hostfacts_real(&facts, pool);
    if (rv != APR_SUCCESS) {
        fprintf(err, "berth: cannot read this machine's facts: %s\n",
                apr_strerror(rv, buf, sizeof buf));
        return NULL;
    }
    return berth_spawnctx_create(facts, pool);
}

const berth_server_config_t *berth_cmd_find_server(const berth_config_t *cfg,
                                                   const char *name,
                                                   const char *cmd, FILE *err,
                                                   apr_pool_t *pool)
{
    const berth_server_config_t *srv = berth_config_find_server(cfg, name);
    if (srv)
        return srv;
    const char *names = "";
    for (int i = 0; i < cfg->servers->nelts; i++)
        names = apr_pstrcat(pool, names, i ? ", " : "",
                            APR_ARRAY_IDX(cfg->servers, i,
                                          berth_server_config_t *)->name,
                            NULL);
    fprintf(err, "berth %s: no server \"%s\" in %s (servers: %s)\n", cmd,
            name, cfg->file, *names ? names : "none");
    return NULL;
}

void berth_cmd_print_json(json_t *j, FILE *out)
{
    json_dumpf(j, out, JSON_INDENT(2));
    fputc('\n', out);
    json_decref(j);
}
