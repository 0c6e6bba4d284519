/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The API (`shop api`, :8000) answers everything that is not the app;
// `make web-dev` proxies those paths to it, as the :3000 server does.
const api = process.env.SHOP_API_URL ?? "http://127.0.0.1:8000";
const apiPaths = ["/shop.", "/api/", "/images/", "/web-config.json"];

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist/app",
    emptyOutDir: true,
    // The admin and the Stripe form are separate chunks, loaded on demand.
    chunkSizeWarningLimit: 600,
  },
  server: {
    port: 5173,
    proxy: Object.fromEntries(apiPaths.map((p) => [p, { target: api, changeOrigin: false }])),
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["src/test-setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
