/* The environment rules of Windows (docs/spawn.md, "The child's
 * environment"): what berth puts into its own environment when it runs
 * where Windows gave it little (a service running as LocalSystem), and the
 * variables every Windows child gets. Decided from host facts alone, so they
 * are unit-tested on Linux with fake Windows facts; platform/win32 only
 * reports the environment and the known folders, and turns the finished
 * environment into a block. */
#ifndef BERTH_WINENV_H
#define BERTH_WINENV_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "hostfacts.h"

/* On Windows, the LocalSystem fallbacks: each of ProgramW6432, ProgramFiles,
 * ProgramData, LOCALAPPDATA, USERPROFILE and SystemRoot that FACTS->env
 * lacks is added from the folder Windows knows for it
 * (FACTS->known_folders), else from its usual location (C:\Program Files
 * for the first two, C:\ProgramData, C:\Windows; none for LOCALAPPDATA and
 * USERPROFILE). Each addition is recorded in FACTS->env_fallbacks, and
 * FACTS->home comes from USERPROFILE when the platform found none. Nothing on
 * other OSes, and nothing for a variable that is present, even empty. */
void berth_winenv_fill(berth_hostfacts_t *facts, apr_pool_t *pool);

/* On Windows, the last step of a child's environment ENV (built from
 * PROCESS_ENV, berth's environment): SYSTEMROOT, SYSTEMDRIVE, WINDIR, TEMP,
 * TMP and USERPROFILE, every one ENV lacks, from berth's environment as
 * Windows gave it (a LocalSystem fallback is not taken here; an empty value
 * is not taken). REASONS (may be NULL) gets a line for what this added, and
 * one for every LocalSystem fallback that reached ENV. Nothing on other
 * OSes. */
void berth_winenv_child(const berth_hostfacts_t *facts,
                        const apr_array_header_t *process_env,
                        apr_array_header_t *env, apr_array_header_t *reasons,
                        apr_pool_t *pool);

#endif
