/* The berth command line. Exit codes: 0 success, 1 failure, 2 usage error. */
#ifndef BERTH_CLI_H
#define BERTH_CLI_H

#include <stdio.h>

#include <apr_pools.h>

#define BERTH_EXIT_OK 0
#define BERTH_EXIT_FAILURE 1
#define BERTH_EXIT_USAGE 2

/* Runs berth with ARGV (argv[0] is the program); output goes to OUT and ERR. */
int berth_cli_main(int argc, const char *const *argv, FILE *out, FILE *err,
                   apr_pool_t *pool);

#endif
