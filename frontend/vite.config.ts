import { defineConfig } from "vite";

// Built assets are served by Django from STATIC_URL ("/static/"), so the
// output lives in the platform app's static dir and every asset URL written
// into CSS/JS starts with /static/dist/. Django reads dist/manifest.json to
// find the hashed file names for the "src/main.ts" entry (every page) and the
// "src/minimap.ts" entry (MapLibre, loaded only by the pages that show a map) and the "src/map.ts" entry (the
// staff map page: MapLibre + Terra Draw).
export default defineConfig({
  base: "/static/dist/",
  publicDir: false,
  build: {
    outDir: "../imis/platform/static/dist",
    emptyOutDir: true,
    manifest: "manifest.json",
    // Never inline assets as data: URIs; fonts and icons ship as files.
    assetsInlineLimit: 0,
    // No inline/injected scripts: the page is served with script-src 'self'.
    modulePreload: { polyfill: false },
    // MapLibre GL alone is ~1 MB minified (~290 KB gzipped); it loads only on map pages.
    chunkSizeWarningLimit: 1200,
    rolldownOptions: {
      input: { main: "src/main.ts", minimap: "src/minimap.ts", map: "src/map.ts", charts: "src/charts.ts",
               digitise: "src/digitise.ts" },
      onwarn(warning, warn) {
        // htmx's internalEval() contains a direct eval(); it is unreachable
        // with htmx.config.allowEval = false (and blocked by the CSP anyway).
        if (warning.code === "EVAL" && warning.id?.includes("/node_modules/htmx.org/")) return;
        warn(warning);
      },
    },
  },
  server: {
    port: 5173,
    strictPort: true,
    // Asset URLs (fonts, icons) in dev must point at the Vite server,
    // not at the Django origin that renders the page.
    origin: "http://localhost:5173",
  },
});
