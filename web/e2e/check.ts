import fs from "node:fs";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";

// Every page the journey visits is checked with axe (WCAG 2.1 A and AA) and
// photographed into $TEST_ARTIFACTS_DIR/web; WEB_SCREENSHOTS_DIR also gets
// the README's named screenshots.
export const artifactsDir = path.join(process.env.TEST_ARTIFACTS_DIR ?? "test-results", "web");
const docsDir = process.env.WEB_SCREENSHOTS_DIR;

interface Finding {
  page: string;
  url: string;
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

const summary = { checks: 0, findings: [] as Finding[] };
let shots = 0;

// Only serious and critical findings fail the journey; every finding is printed.
const failing = new Set(["serious", "critical"]);

/**
 * visited checks the page as it is now: axe's findings (printed; serious or
 * critical ones fail the test, softly, so the journey goes on), then a
 * screenshot `NN-name.png`; `docs` names the README's copy of it.
 */
export async function visited(page: Page, name: string, docs?: string): Promise<void> {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  summary.checks++;
  const findings = results.violations.map((v) => ({
    page: name,
    url: page.url(),
    id: v.id,
    impact: v.impact ?? "unknown",
    help: v.help,
    targets: v.nodes.map((n) => n.target.join(" ")),
  }));
  summary.findings.push(...findings);
  for (const f of findings) {
    console.log(`axe ${f.impact} on ${name} (${f.url}): ${f.id}: ${f.help}\n  ${f.targets.join("\n  ")}`);
  }
  const serious = findings.filter((f) => failing.has(f.impact));
  expect.soft(serious, `serious or critical accessibility violations on ${name}`).toEqual([]);

  fs.mkdirSync(artifactsDir, { recursive: true });
  shots++;
  const file = path.join(artifactsDir, `${String(shots).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file });
  if (docs && docsDir) {
    fs.mkdirSync(docsDir, { recursive: true });
    await page.screenshot({ path: path.join(docsDir, docs) });
  }
}

/** writeSummary prints and saves (axe.json) what axe found over the journey. */
export function writeSummary(): void {
  const serious = summary.findings.filter((f) => failing.has(f.impact)).length;
  console.log(
    `axe: ${summary.checks} page checks, ${summary.findings.length} violations (${serious} serious or critical)`,
  );
  fs.mkdirSync(artifactsDir, { recursive: true });
  fs.writeFileSync(path.join(artifactsDir, "axe.json"), JSON.stringify(summary, null, 2));
}
