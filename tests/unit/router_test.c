#include <string.h>

#include "test_util.h"

#include <apr_strings.h>

#include "router.h"

static int valid(const char *n)
{
    size_t len = strlen(n);
    if (len < 1 || len > 64)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789_-", n[i]))
            return 0;
    return 1;
}

static void test_expose(void **state)
{
    (void)state;
    assert_string_equal(berth_router_expose("fs", "read_file",
                                            BERTH_NAMESPACE_PREFIX, test_pool),
                        "fs__read_file");
    assert_string_equal(berth_router_expose("fs", "read_file",
                                            BERTH_NAMESPACE_NONE, test_pool),
                        "read_file");
    /* a character clients refuse: sanitised, with the hash of the original
     * so that "my.srv" and "my_srv" stay apart */
    const char *a = berth_router_expose("my.srv", "t", BERTH_NAMESPACE_PREFIX,
                                        test_pool);
    const char *b = berth_router_expose("my_srv", "t", BERTH_NAMESPACE_PREFIX,
                                        test_pool);
    assert_true(valid(a));
    assert_string_equal(b, "my_srv__t");
    assert_string_not_equal(a, b);
    assert_memory_equal(a, "my_srv__t_", 10);
    /* too long: cut, and a stable hash keeps it unique */
    char longname[200];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const char *l1 = berth_router_expose("s", longname, BERTH_NAMESPACE_PREFIX,
                                         test_pool);
    longname[150] = 'y';
    const char *l2 = berth_router_expose("s", longname, BERTH_NAMESPACE_PREFIX,
                                         test_pool);
    assert_int_equal(strlen(l1), 64);
    assert_true(valid(l1) && valid(l2));
    assert_string_not_equal(l1, l2);
    /* stable: the same input gives the same name */
    longname[150] = 'x';
    assert_string_equal(l1, berth_router_expose("s", longname,
                                                BERTH_NAMESPACE_PREFIX,
                                                test_pool));
    /* exactly 64 valid characters stay as they are */
    char sixty4[65];
    memset(sixty4, 'a', 64);
    sixty4[64] = '\0';
    assert_string_equal(berth_router_clean_name(sixty4, test_pool), sixty4);
    assert_true(valid(berth_router_clean_name("", test_pool)));
    assert_true(valid(berth_router_clean_name("日本語", test_pool)));
}

static void test_template_match(void **state)
{
    (void)state;
    assert_true(berth_router_template_match("test://items/{id}",
                                            "test://items/42"));
    assert_false(berth_router_template_match("test://items/{id}",
                                             "test://items/"));
    assert_false(berth_router_template_match("test://items/{id}",
                                             "test://items/4/2"));
    assert_true(berth_router_template_match("file:///{+path}",
                                            "file:///a/b/c.txt"));
    assert_true(berth_router_template_match("x://{a}/{b}.json",
                                            "x://one/two.json"));
    assert_false(berth_router_template_match("x://{a}/{b}.json",
                                             "x://one/two.txt"));
    assert_false(berth_router_template_match("test://static", "test://other"));
    assert_true(berth_router_template_match("test://static", "test://static"));
    assert_false(berth_router_template_match("test://{broken", "test://x"));
    assert_false(berth_router_template_match(NULL, "x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expose),
        cmocka_unit_test(test_template_match),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
