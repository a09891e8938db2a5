#include "service_files.h"

#include <string.h>

#include <apr_strings.h>


const char *berth_svc_fill(const char *tpl, const char *const *pairs,
                           const char **missing, apr_pool_t *pool)
{
    const char *out = "";
    const char *p = tpl;
    *missing = NULL;
    for (;;) {
        const char *at = strchr(p, '@');
        const char *end = at ? strchr(at + 1, '@') : NULL;
        if (!end) {
            return apr_pstrcat(pool, out, p, NULL);
        }
        size_t klen = (size_t)(end - at - 1);
        /* a key is upper case, digits and _; any other "@...@" is text */
        int is_key = klen > 0 && strspn(at + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                "0123456789_") == klen;
        if (!is_key) {
            out = apr_pstrcat(pool, out, apr_pstrndup(pool, p,
                                                      (size_t)(at + 1 - p)),
                              NULL);
            p = at + 1;
            continue;
        }
        const char *value = NULL;
        for (int i = 0; pairs[i] && pairs[i + 1]; i += 2)
            if (strlen(pairs[i]) == klen && strncmp(pairs[i], at + 1, klen) == 0)
                value = pairs[i + 1];
        if (!value) {
            *missing = apr_pstrndup(pool, at + 1, klen);
            return NULL;
        }
        out = apr_pstrcat(pool, out, apr_pstrndup(pool, p, (size_t)(at - p)),
                          value, NULL);
        p = end + 1;
    }
}

static int has_control(const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return 1;
    return 0;
}

const char *berth_svc_systemd_word(const char *s, apr_pool_t *pool)
{
    if (has_control(s))
        return NULL;
    char *out = apr_palloc(pool, strlen(s) * 2 + 3);
    char *o = out;
    *o++ = '"';
    for (const char *c = s; *c; c++) {
        if (*c == '\\' || *c == '"')
            *o++ = '\\';
        else if (*c == '%' || *c == '$')
            *o++ = *c;
        *o++ = *c;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

const char *berth_svc_xml_text(const char *s, apr_pool_t *pool)
{
    if (has_control(s))
        return NULL;
    const char *out = "";
    const char *run = s;
    for (const char *c = s;; c++) {
        const char *ent = *c == '&' ? "&amp;" : *c == '<' ? "&lt;"
                        : *c == '>' ? "&gt;" : NULL;
        if (!ent && *c)
            continue;
        out = apr_pstrcat(pool, out, apr_pstrndup(pool, run, (size_t)(c - run)),
                          ent, NULL);
        if (!*c)
            return out;
        run = c + 1;
    }
}

/* PATH said by ESCAPE, or NULL with *WHY naming WHAT. */
static const char *escaped(const char *(*escape)(const char *, apr_pool_t *),
                           const char *path, const char *what,
                           const char **why, apr_pool_t *pool)
{
    const char *e = escape(path, pool);
    if (!e)
        *why = apr_psprintf(pool, "the %s path holds a control character",
                            what);
    return e;
}

static const char *filled(const char *tpl, const char *const *pairs,
                          const char **why, apr_pool_t *pool)
{
    const char *missing;
    const char *text = berth_svc_fill(tpl, pairs, &missing, pool);
    if (!text)
        *why = apr_psprintf(pool, "bug: the template names @%s@", missing);
    return text;
}

const char *berth_svc_systemd_unit(berth_svc_scope_t scope, const char *exe,
                                   const char *config, const char *group,
                                   const char **why, apr_pool_t *pool)
{
    const char *e = escaped(berth_svc_systemd_word, exe, "program", why, pool);
    const char *c = e ? escaped(berth_svc_systemd_word, config, "config",
                                why, pool)
                      : NULL;
    if (!c)
        return NULL;
    const char *groups =
        group ? apr_pstrcat(pool, "SupplementaryGroups=", group, NULL)
              : "# (no docker group on this machine when the unit was made)";
    const char *pairs[] = { "BERTH_EXE", e, "BERTH_CONFIG", c,
                            "BERTH_GROUPS", groups, NULL };
    return filled(scope == BERTH_SVC_SCOPE_SYSTEM ? berth_tpl_systemd_system
                                                  : berth_tpl_systemd_user,
                  pairs, why, pool);
}

const char *berth_svc_launchd_plist(const char *label, const char *exe,
                                    const char *config, const char *log_dir,
                                    const char **why, apr_pool_t *pool)
{
    const char *l = escaped(berth_svc_xml_text, label, "label", why, pool);
    const char *e = l ? escaped(berth_svc_xml_text, exe, "program", why, pool)
                      : NULL;
    const char *c = e ? escaped(berth_svc_xml_text, config, "config", why,
                                pool)
                      : NULL;
    const char *d = c ? escaped(berth_svc_xml_text, log_dir, "log", why, pool)
                      : NULL;
    if (!d)
        return NULL;
    const char *pairs[] = { "BERTH_LABEL", l, "BERTH_EXE", e, "BERTH_CONFIG",
                            c, "BERTH_LOG_DIR", d, NULL };
    return filled(berth_tpl_launchd_plist, pairs, why, pool);
}

const char *berth_svc_starter_config(void)
{
    return berth_tpl_config;
}
