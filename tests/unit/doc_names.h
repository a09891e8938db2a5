/* Reading the lists a doc page states, for the tests that hold the code's
 * tables to them: the page's text, a span of it, and the `backticked`
 * variable names in a span. */
#ifndef BERTH_DOC_NAMES_H
#define BERTH_DOC_NAMES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

/* docs/NAME, whole, or fails. */
static inline const char *doc_text(const char *name, apr_pool_t *pool)
{
    const char *dir = getenv("BERTH_TEST_DATA");
    if (!dir)
        fail_msg("BERTH_TEST_DATA is not set (ctest sets it)");
    const char *path = apr_pstrcat(pool, dir, "/../docs/", name, NULL);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    apr_array_header_t *b = apr_array_make(pool, 65536, 1);
    int c;
    while ((c = fgetc(f)) != EOF)
        if (c != '\r')
            APR_ARRAY_PUSH(b, char) = (char)c;
    APR_ARRAY_PUSH(b, char) = '\0';
    fclose(f);
    return b->elts;
}

/* The text of DOC from START (included) to the first END after it
 * (excluded), or fails naming what is missing. */
static inline const char *doc_span(const char *doc, const char *start,
                                   const char *end, apr_pool_t *pool)
{
    const char *a = strstr(doc, start);
    if (!a)
        fail_msg("the doc has no \"%s\"", start);
    const char *b = strstr(a + strlen(start), end);
    if (!b)
        fail_msg("the doc has no \"%s\" after \"%s\"", end, start);
    return apr_pstrmemdup(pool, a, (apr_size_t)(b - a));
}

/* The `backticked` words of TEXT that are variable names
 * ([A-Za-z_][A-Za-z0-9_]*), in order. */
static inline apr_array_header_t *doc_ticked_names(const char *text,
                                                   apr_pool_t *pool)
{
    apr_array_header_t *out = apr_array_make(pool, 32, sizeof(const char *));
    for (const char *p = strchr(text, '`'); p; p = strchr(p + 1, '`')) {
        const char *q = strchr(p + 1, '`');
        if (!q)
            break;
        apr_size_t n = (apr_size_t)(q - p - 1);
        int name = n > 0 && !(p[1] >= '0' && p[1] <= '9');
        for (apr_size_t i = 1; name && i <= n; i++)
            name = (p[i] >= 'A' && p[i] <= 'Z') ||
                   (p[i] >= 'a' && p[i] <= 'z') ||
                   (p[i] >= '0' && p[i] <= '9') || p[i] == '_';
        if (name)
            APR_ARRAY_PUSH(out, const char *) = apr_pstrmemdup(pool, p + 1, n);
        p = q;
    }
    return out;
}

/* Whether the list A (const char *) holds S. */
static inline int names_have(const apr_array_header_t *a, const char *s)
{
    for (int i = 0; i < a->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(a, i, const char *), s) == 0)
            return 1;
    return 0;
}

#endif
