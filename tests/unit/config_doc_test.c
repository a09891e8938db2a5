/* docs/config.md documents every setting of the table, as the table says
 * it (berth_setting_doc_line), and nothing the table does not have. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "test_util.h"

#include "config.h"

/* The doc's lines (without "\r"), or fails. */
static apr_array_header_t *doc_lines(void)
{
    const char *dir = getenv("BERTH_TEST_DATA");
    assert_non_null(dir);
    const char *path = apr_pstrcat(test_pool, dir, "/../docs/config.md",
                                   NULL);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    apr_array_header_t *lines = apr_array_make(test_pool, 200,
                                               sizeof(const char *));
    char buf[4096];
    while (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        APR_ARRAY_PUSH(lines, const char *) = apr_pstrdup(test_pool, buf);
    }
    fclose(f);
    return lines;
}

static int has_line(const apr_array_header_t *lines, const char *want)
{
    for (int i = 0; i < lines->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(lines, i, const char *), want) == 0)
            return 1;
    return 0;
}

static void test_every_setting_documented(void **state)
{
    (void)state;
    apr_array_header_t *lines = doc_lines();
    int missing = 0;
    for (const berth_setting_t *r = berth_config_settings(); r->name; r++) {
        const char *want = berth_setting_doc_line(r, test_pool);
        if (has_line(lines, want))
            continue;
        /* whole, to be pasted into the doc (fail_msg would cut it) */
        print_error("docs/config.md lacks: %s\n", want);
        missing++;
    }
    if (missing)
        fail_msg("%d setting%s not documented as the table says (above)",
                 missing, missing == 1 ? "" : "s");
}

/* The table of settings runs from its header to the first line that is
 * not a table row. */
static void test_only_settings_documented(void **state)
{
    (void)state;
    apr_array_header_t *lines = doc_lines();
    int in_table = 0, rows = 0;
    for (int i = 0; i < lines->nelts; i++) {
        const char *l = APR_ARRAY_IDX(lines, i, const char *);
        if (strncmp(l, "| setting |", 11) == 0) {
            in_table = 1;
            continue;
        }
        if (!in_table || strncmp(l, "|---", 4) == 0)
            continue;
        if (l[0] != '|')
            break;
        rows++;
        const berth_setting_t *r = berth_config_settings();
        while (r->name &&
               strcmp(berth_setting_doc_line(r, test_pool), l) != 0)
            r++;
        if (!r->name)
            fail_msg("docs/config.md documents what no setting has: %s", l);
    }
    int n = 0;
    for (const berth_setting_t *r = berth_config_settings(); r->name; r++)
        n++;
    assert_int_equal(rows, n);
}

/* The doc stands alone: no link leaves the repository's docs. */
static void test_no_link_outside(void **state)
{
    (void)state;
    apr_array_header_t *lines = doc_lines();
    for (int i = 0; i < lines->nelts; i++) {
        const char *l = APR_ARRAY_IDX(lines, i, const char *);
        if (strstr(l, "](../") || strstr(l, "`../") || strstr(l, "shared/"))
            fail_msg("docs/config.md line %d points outside the "
                     "repository: %s", i + 1, l);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_setting_documented),
        cmocka_unit_test(test_only_settings_documented),
        cmocka_unit_test(test_no_link_outside),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
