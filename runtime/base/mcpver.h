/* MCP protocol revisions, in one place: what berth offers and accepts. */
#ifndef BERTH_MCPVER_H
#define BERTH_MCPVER_H

/* The newest stateful revision: offered first at initialize. */
#define BERTH_MCP_LATEST "2025-11-25"

/* Revisions berth speaks with servers and clients, newest first
 * (NULL-terminated). */
extern const char *const berth_mcp_versions[];

/* 1 when VERSION is one berth speaks. */
int berth_mcp_version_supported(const char *version);

#endif
