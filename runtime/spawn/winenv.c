#include "winenv.h"

#include <stddef.h>
#include <string.h>

#include <apr_strings.h>

/* The variables a service running as LocalSystem may lack: the folder
 * Windows knows for each (an offset into berth_known_folders_t), its name
 * for the plan, and the usual location when Windows knows none. */
static const struct {
    const char *name;
    size_t folder;
    const char *folder_name;
    const char *usual;
} fallbacks[] = {
    { "ProgramW6432", offsetof(berth_known_folders_t, program_files_x64),
      "ProgramFilesX64", "C:\\Program Files" },
    { "ProgramFiles", offsetof(berth_known_folders_t, program_files),
      "ProgramFiles", "C:\\Program Files" },
    { "ProgramData", offsetof(berth_known_folders_t, program_data),
      "ProgramData", "C:\\ProgramData" },
    { "LOCALAPPDATA", offsetof(berth_known_folders_t, local_app_data),
      "LocalAppData", NULL },
    { "USERPROFILE", offsetof(berth_known_folders_t, profile), "Profile",
      NULL },
    { "SystemRoot", offsetof(berth_known_folders_t, windows), "Windows",
      "C:\\Windows" },
};

/* Windows programs cannot run without these (the C runtime, Winsock and
 * the temp-file calls look them up): every child gets them. */
static const char *const every_child[] = { "SYSTEMROOT", "SYSTEMDRIVE",
                                           "WINDIR", "TEMP", "TMP",
                                           "USERPROFILE", NULL };

static const char *known_folder(const berth_hostfacts_t *facts, size_t at)
{
    const char *const *f =
        (const char *const *)((const char *)&facts->known_folders + at);
    return *f;
}

void berth_winenv_fill(berth_hostfacts_t *facts, apr_pool_t *pool)
{
    if (facts->os != BERTH_OS_WINDOWS)
        return;
    if (!facts->env_fallbacks)
        facts->env_fallbacks = apr_array_make(pool, 6,
                                              sizeof(berth_env_fallback_t));
    for (size_t i = 0; i < sizeof fallbacks / sizeof fallbacks[0]; i++) {
        if (berth_env_get(facts, facts->env, fallbacks[i].name))
            continue;
        const char *known = known_folder(facts, fallbacks[i].folder);
        const char *value = known ? known : fallbacks[i].usual;
        if (!value)
            continue;
        berth_env_set(facts, facts->env, fallbacks[i].name, value);
        berth_env_fallback_t *fb = apr_array_push(facts->env_fallbacks);
        fb->name = fallbacks[i].name;
        fb->value = value;
        fb->source = known ? apr_pstrcat(pool, "the folder Windows knows for "
                                         "it (", fallbacks[i].folder_name, ")",
                                         NULL)
                           : "its usual location (Windows names no folder "
                             "for it)";
    }
    if (!facts->home)
        facts->home = berth_env_get(facts, facts->env, "USERPROFILE");
}

/* The fallback berth_winenv_fill recorded for KEY, or NULL. */
static const berth_env_fallback_t *fallback_for(const berth_hostfacts_t *f,
                                                const char *key)
{
    for (int i = 0; f->env_fallbacks && i < f->env_fallbacks->nelts; i++) {
        const berth_env_fallback_t *fb =
            &APR_ARRAY_IDX(f->env_fallbacks, i, berth_env_fallback_t);
        if (berth_env_key_eq(f, fb->name, strlen(fb->name), key))
            return fb;
    }
    return NULL;
}

static void reason(apr_array_header_t *reasons, const char *text)
{
    if (reasons)
        APR_ARRAY_PUSH(reasons, const char *) = text;
}

/* A line for every LocalSystem fallback that reached ENV as filled. */
static void explain_fallbacks(const berth_hostfacts_t *facts,
                              const apr_array_header_t *env,
                              apr_array_header_t *reasons, apr_pool_t *pool)
{
    for (int i = 0; facts->env_fallbacks && i < facts->env_fallbacks->nelts;
         i++) {
        const berth_env_fallback_t *fb =
            &APR_ARRAY_IDX(facts->env_fallbacks, i, berth_env_fallback_t);
        const char *v = berth_env_get(facts, env, fb->name);
        if (v && strcmp(v, fb->value) == 0)
            reason(reasons, apr_psprintf(pool, "%s is not in berth's "
                                         "environment (a service running as "
                                         "LocalSystem may lack it): %s, %s",
                                         fb->name, fb->value, fb->source));
    }
}

void berth_winenv_child(const berth_hostfacts_t *facts,
                        const apr_array_header_t *process_env,
                        apr_array_header_t *env, apr_array_header_t *reasons,
                        apr_pool_t *pool)
{
    const char *added = NULL;
    if (facts->os != BERTH_OS_WINDOWS)
        return;
    explain_fallbacks(facts, env, reasons, pool);
    for (const char *const *k = every_child; *k; k++) {
        if (berth_env_get(facts, env, *k))
            continue;
        const char *v = berth_env_get(facts, process_env, *k);
        if (!v || !*v || fallback_for(facts, *k))
            continue;
        berth_env_set(facts, env, *k, v);
        added = added ? apr_pstrcat(pool, added, ", ", *k, NULL) : *k;
    }
    if (added)
        reason(reasons, apr_pstrcat(pool, added, " from berth's environment: "
                                    "every Windows program gets SYSTEMROOT, "
                                    "SYSTEMDRIVE, WINDIR, TEMP, TMP and "
                                    "USERPROFILE", NULL));
}
