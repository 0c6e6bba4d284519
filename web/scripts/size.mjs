// Prints the gzipped size of the JavaScript the storefront's first page loads
// (the entry script and the chunks index.html preloads) and fails above the
// budget. Lazy pages and the admin are not part of the first page.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";

const dir = "dist/app";
const budget = Number(process.env.WEB_FIRST_PAGE_BUDGET_KB ?? 250) * 1000;
const html = readFileSync(join(dir, "index.html"), "utf8");
const srcs = [...html.matchAll(/<(?:script[^>]*\bsrc|link[^>]*\brel="modulepreload"[^>]*\bhref)="([^"]+\.js)"/g)].map((m) => m[1]);
if (srcs.length === 0) throw new Error("no scripts in dist/app/index.html: run the build first");
let total = 0;
for (const src of srcs) {
  const bytes = readFileSync(join(dir, src.replace(/^\//, "")));
  const gz = gzipSync(bytes, { level: 9 }).length;
  total += gz;
  console.log(`  ${src}  ${(bytes.length / 1000).toFixed(1)} kB, ${(gz / 1000).toFixed(1)} kB gzipped`);
}
console.log(`first-page JavaScript: ${(total / 1000).toFixed(1)} kB gzipped (budget ${budget / 1000} kB)`);
if (total > budget) {
  console.error("over budget");
  process.exit(1);
}
