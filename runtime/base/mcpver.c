#include "mcpver.h"

#include <string.h>

const char *const berth_mcp_versions[] = { "2025-11-25", "2025-06-18",
                                           "2025-03-26", "2024-11-05", NULL };

int berth_mcp_version_supported(const char *version)
{
    for (const char *const *v = berth_mcp_versions; version && *v; v++)
        if (strcmp(*v, version) == 0)
            return 1;
    return 0;
}
