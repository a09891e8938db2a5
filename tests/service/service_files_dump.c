/* Prints a file berth service would install, for the tests that check it
 * with outside tools (xmllint, Python's plistlib, systemd-analyze):
 *   service_files_dump plist LABEL EXE CONFIG LOG_DIR
 *   service_files_dump unit system|user EXE CONFIG [GROUP] */
#include <stdio.h>
#include <string.h>

#include <apr_general.h>

#include "service_files.h"

int main(int argc, const char *const *argv)
{
    apr_pool_t *pool;
    const char *why = "usage: service_files_dump plist LABEL EXE CONFIG "
                      "LOG_DIR | unit system|user EXE CONFIG [GROUP]";
    const char *text = NULL;
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&pool, NULL);
    if (argc == 6 && strcmp(argv[1], "plist") == 0)
        text = berth_svc_launchd_plist(argv[2], argv[3], argv[4], argv[5],
                                       &why, pool);
    else if ((argc == 5 || argc == 6) && strcmp(argv[1], "unit") == 0)
        text = berth_svc_systemd_unit(strcmp(argv[2], "system") == 0
                                          ? BERTH_SVC_SCOPE_SYSTEM
                                          : BERTH_SVC_SCOPE_USER,
                                      argv[3], argv[4],
                                      argc == 6 ? argv[5] : NULL, &why, pool);
    if (!text) {
        fprintf(stderr, "%s\n", why);
        return 2;
    }
    fputs(text, stdout);
    return 0;
}
