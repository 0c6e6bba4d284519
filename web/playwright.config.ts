import path from "node:path";
import { defineConfig } from "@playwright/test";

// The browser journey (e2e/): Playwright drives Debian's Chromium (installed by
// `deploy/stack.sh tools`; CHROMIUM_PATH overrides), never a downloaded
// browser. `go test -run '^TestWebJourney$' ./api/` serves the built app with
// the real API and sets BASE_URL and the credentials; see README, "Web app".
const artifacts = path.join(process.env.TEST_ARTIFACTS_DIR ?? "test-results", "web");

export default defineConfig({
  testDir: "e2e",
  outputDir: path.join(artifacts, "results"),
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: true,
  // The journey is one serial story of many pages on a shared, busy machine.
  timeout: 4 * 60_000,
  expect: { timeout: 20_000 },
  reporter: [["list"]],
  use: {
    baseURL: process.env.BASE_URL ?? "http://127.0.0.1:3000",
    browserName: "chromium",
    headless: true,
    viewport: { width: 1280, height: 800 },
    actionTimeout: 20_000,
    navigationTimeout: 30_000,
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
      args: ["--disable-dev-shm-usage"],
    },
  },
});
