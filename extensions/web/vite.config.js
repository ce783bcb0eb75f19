// Builds the page into dist/ as plain static files (relative URLs, so any static server and any path work).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  base: "./",
  resolve: {
    // monaco-editor's package exports map every subpath to a .js file, so its CSS cannot be imported
    // through them: address its ESM tree directly.
    alias: { "@monaco": fileURLToPath(new URL("./node_modules/monaco-editor/esm/vs", import.meta.url)) },
  },
  // `npm run dev`: serve Monaco's ES modules as they are; pre-bundling them breaks the `?worker` import.
  optimizeDeps: { noDiscovery: true, include: [] },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 5000, // Monaco is one large chunk; the page loads from a local server
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  worker: { format: "es" },
});
