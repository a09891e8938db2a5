// An MCP server as Node users write one: the official TypeScript SDK's
// McpServer over stdio, with one tool, echo {text} -> text (the shape
// http_bench calls). Run with the SDK's node_modules on NODE_PATH or from
// a folder that has them: node echo_sdk.mjs SDK_DIR
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const sdk = process.argv[2];
const { McpServer } = await import(
  pathToFileURL(join(sdk, "dist/esm/server/mcp.js")).href);
const { StdioServerTransport } = await import(
  pathToFileURL(join(sdk, "dist/esm/server/stdio.js")).href);
const { z } = await import(
  pathToFileURL(join(sdk, "..", "..", "zod", "index.js")).href);

const server = new McpServer({ name: "echo-sdk", version: "1.0.0" });
server.tool("echo", "says its text back", { text: z.string() },
  async ({ text }) => ({ content: [{ type: "text", text }] }));
await server.connect(new StdioServerTransport());
