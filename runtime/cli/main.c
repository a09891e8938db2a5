#include <stdio.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "cli.h"
#include "platform.h"

int main(int argc, const char *const *argv)
{
    apr_pool_t *pool;
    int rc;
    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS) {
        fprintf(stderr, "berth: cannot initialise APR\n");
        return BERTH_EXIT_FAILURE;
    }
    berth_platform_init_stdio();
    apr_pool_create(&pool, NULL);
    rc = berth_cli_main(argc, argv, stdout, stderr, pool);
    fflush(stdout);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
