/* Shared by the cmocka unit tests: one APR pool per test binary. */
#ifndef BERTH_TEST_UTIL_H
#define BERTH_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <apr_general.h>
#include <apr_pools.h>

static apr_pool_t *test_pool;

static int test_setup(void **state)
{
    (void)state;
    apr_initialize();
    return apr_pool_create(&test_pool, NULL) == APR_SUCCESS ? 0 : -1;
}

static int test_teardown(void **state)
{
    (void)state;
    apr_pool_destroy(test_pool);
    apr_terminate();
    return 0;
}

#endif
