/**
 * Real Chromium for the dashboard's browser tests: Debian's `chromium` (never a downloaded browser)
 * driven by playwright-core, headless, sandbox-free (CI runs as root), with a fresh profile per
 * launch and no traffic of its own (no component updates, sync or background networking). Plus
 * axe-core run in the page, and screenshots saved where the README points.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.KLUIS_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.resolve(__dirname, '..', '..', 'dist', 'screenshots');

export interface RunningBrowser {
  /** The fresh profile's context: every page shares its storage, as tabs of one browser do. */
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<RunningBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM_PATH}: apt-get install -y chromium (.ci/run does), or set KLUIS_CHROMIUM.`);
  }
  const profile = mkdtempSync(path.join(tmpdir(), 'kluis-chromium-'));
  // Playwright passes the profile as --user-data-dir itself.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[]; html: string; failureSummary?: string }>;
}

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is now (WCAG 2.1 A/AA rules and best practices). */
export async function seriousAccessibilityViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated through the DevTools protocol: the page's Content-Security-Policy (script-src 'self') stays on.
  // Colours mid-animation (a dialog fading in) are not the page's colours: let animations end first.
  await animationsSettled(page);
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) await page.evaluate(AXE_SOURCE);
  const result = (await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } })`)) as { violations: AxeViolation[] };
  return result.violations
    .map((violation) => ({ ...violation, nodes: violation.nodes.filter((node) => !isTabsterFocusGuard(violation.id, node)) }))
    .filter((violation) => violation.nodes.length > 0 && (violation.impact === 'serious' || violation.impact === 'critical'));
}

/**
 * Fluent's focus manager (tabster) brackets focus traps and arrow-key groups with focusable,
 * aria-hidden `<i data-tabster-dummy>` guards that pass focus on at once: a documented false positive
 * of axe's aria-hidden-focus (Accessibility Insights drops it the same way). Only that rule, only them.
 */
function isTabsterFocusGuard(ruleId: string, node: AxeViolation['nodes'][number]): boolean {
  return ruleId === 'aria-hidden-focus' && /^<i [^>]*data-tabster-dummy/.test(node.html);
}

/**
 * Waits until no finite animation runs (endless ones, as a spinner's, do not count). Polled with
 * evaluate, which the page's Content-Security-Policy allows, unlike waitForFunction's eval.
 */
async function animationsSettled(page: Page, timeoutInMs = 10_000): Promise<void> {
  const running = 'document.getAnimations().filter((a) => a.playState === "running" && a.effect?.getComputedTiming().iterations !== Infinity).length';
  const deadline = Date.now() + timeoutInMs;
  while ((await page.evaluate(running)) !== 0) {
    if (Date.now() > deadline) throw new Error(`Animations still running after ${timeoutInMs} ms.`);
    await page.waitForTimeout(100);
  }
}

/** A readable list of violations for a failure message. */
export function describeViolations(violations: readonly AxeViolation[]): string {
  return violations.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`).join('\n');
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
