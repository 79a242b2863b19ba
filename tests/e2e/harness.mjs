// Shared setup for the browser suites: one spotcheck server on a fresh data dir per suite
// file, users added with the CLI, one Chromium, and helpers to drive pages as a person would.
//
// Nothing is skipped: a missing Chromium or binary fails the run.
//
//   SPOTCHECK_BIN   the binary to test      (default: <repo>/target/debug/spotcheck)
//   CHROMIUM_PATH   the browser to drive    (default: /usr/bin/chromium)

import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const execFileP = promisify(execFile);

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.SPOTCHECK_BIN || path.join(ROOT, 'target', 'debug', 'spotcheck');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const SHOTS = path.join(ROOT, 'target', 'e2e');
export const STEP_TIMEOUT_MS = 10_000;
export const TEST_TIMEOUT_MS = 30_000;

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

function mustBeExecutable(file, what, hint) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    throw new Error(`${what} not found or not executable at ${file}. ${hint}`);
  }
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export async function text(locator) {
  return (await locator.innerText()).trim();
}

/**
 * One running spotcheck with its own data dir and browser.
 *
 *   const app = new Spotcheck({ admin: 'pw', kari: 'pw2' });
 *   before(() => app.start(async () => { await app.cli('users', 'add', 'kari', ...) }));
 *   after(() => app.stop());
 *   test(..., () => app.withPage('name', async (page) => { await app.signIn(page, 'kari'); }));
 */
export class Spotcheck {
  constructor(passwords, { serveArgs = ['serve'], env = {} } = {}) {
    this.passwords = passwords;
    this.serveArgs = serveArgs;
    this.extraEnv = env;
    this.server = null;
    this.log = '';
    this.browser = null;
    this.setupError = null;
    process.on('exit', () => {
      if (this.server && this.server.exitCode === null && this.server.signalCode === null) this.server.kill('SIGKILL');
    });
  }

  /** The environment for the binary: only our settings, none inherited from the shell. */
  env(extra = {}) {
    const env = { ...process.env };
    for (const k of Object.keys(env)) {
      if (k.startsWith('SPOTCHECK_')) delete env[k];
    }
    return {
      ...env,
      SPOTCHECK_DATA_DIR: this.dataDir,
      SPOTCHECK_RULES_DIR: path.join(ROOT, 'rules'),
      // Enrichment is never triggered here; point it at a closed loopback port regardless.
      SPOTCHECK_BRREG_URL: 'http://127.0.0.1:9/enhetsregisteret/api',
      RUST_LOG: 'warn',
      ...this.extraEnv,
      ...extra,
    };
  }

  /** Runs a CLI command against the same data dir; resolves to its stdout. */
  async cli(...args) {
    const { stdout } = await execFileP(BIN, args, { env: this.env(), timeout: 60_000, cwd: this.dataDir });
    return stdout;
  }

  /** Adds a user with the CLI, with the password given to the constructor. */
  async addUser(name, ...args) {
    await execFileP(BIN, ['users', 'add', name, ...args], {
      env: this.env({ SPOTCHECK_PASSWORD: this.passwords[name] }),
      timeout: 20_000,
    });
  }

  /** Starts server and browser; `seed` runs once the server answers. Never throws: a failure
   *  is kept and fails every test that uses `withPage` (a throwing hook only "cancels"). */
  async start(seed = async () => {}) {
    try {
      mustBeExecutable(CHROMIUM, 'Chromium', 'Install it with: apt-get install -y chromium (or run tests/e2e/run.sh).');
      mustBeExecutable(BIN, 'The spotcheck binary', 'Build it with: cargo build (or run tests/e2e/run.sh).');
      fs.mkdirSync(SHOTS, { recursive: true });
      this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'spotcheck-e2e-'));
      const port = await freePort();
      this.baseUrl = `http://127.0.0.1:${port}`;
      this.server = spawn(BIN, this.serveArgs, {
        cwd: this.dataDir,
        env: this.env({
          SPOTCHECK_BIND: `127.0.0.1:${port}`,
          SPOTCHECK_BASE_URL: this.baseUrl,
          SPOTCHECK_ADMIN_PASSWORD: this.passwords.admin,
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const keep = (chunk) => {
        this.log += chunk;
        if (this.log.length > 50_000) this.log = this.log.slice(-50_000);
      };
      this.server.stdout.on('data', keep);
      this.server.stderr.on('data', keep);
      this.server.on('error', (e) => keep(`spawn error: ${e.message}\n`));
      const launch = chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
      launch.catch(() => {});
      try {
        await this.waitUntilReady(60_000);
        await seed();
      } finally {
        this.browser = await launch;
      }
    } catch (err) {
      this.setupError = err;
    }
  }

  async waitUntilReady(deadlineMs) {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      if (this.server.exitCode !== null || this.server.signalCode !== null) {
        throw new Error(`spotcheck serve exited early (${this.server.exitCode ?? this.server.signalCode}):\n${this.log}`);
      }
      try {
        const r = await fetch(`${this.baseUrl}/readyz`);
        if (r.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`spotcheck did not become ready within ${deadlineMs} ms:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop() {
    await this.browser?.close().catch(() => {});
    const s = this.server;
    if (s && s.exitCode === null && s.signalCode === null) {
      const exited = new Promise((resolve) => s.once('exit', resolve));
      s.kill('SIGTERM');
      const timer = setTimeout(() => s.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    if (this.dataDir) fs.rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Runs `fn` with a fresh page in its own browser context (own cookies); screenshots on failure.
   *  `bypassCSP` lets the accessibility checker's script in (the pages allow only 'self'). */
  async withPage(name, fn, { width = 1366, height = 800, bypassCSP = false } = {}) {
    if (this.setupError) throw new Error(`setup failed: ${this.setupError.message}`, { cause: this.setupError });
    const context = await this.browser.newContext({ locale: 'nb-NO', viewport: { width, height }, bypassCSP });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
    try {
      await fn(page);
    } catch (err) {
      await page.screenshot({ path: path.join(SHOTS, `fail-${name}.png`), fullPage: true }).catch(() => {});
      throw err;
    } finally {
      await context.close();
    }
  }

  async signIn(page, username, password = this.passwords[username]) {
    await page.goto(`${this.baseUrl}/login`);
    await page.getByLabel('Brukernavn').fill(username);
    await page.getByLabel('Passord', { exact: true }).fill(password);
    await Promise.all([
      page.waitForURL(`${this.baseUrl}/`),
      page.getByRole('button', { name: 'Logg inn' }).click(),
    ]);
  }

  /** Follows a link of the main menu and waits for the page. */
  async menu(page, name) {
    await Promise.all([
      page.waitForLoadState('load'),
      page.getByRole('navigation', { name: 'Hovedmeny' }).getByRole('link', { name, exact: true }).click(),
    ]);
  }

  async navLinks(page) {
    return page.getByRole('navigation', { name: 'Hovedmeny' }).getByRole('link').allInnerTexts();
  }

  url(p) {
    return `${this.baseUrl}${p}`;
  }
}

const AXE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'node_modules', 'axe-core', 'axe.min.js');

/**
 * Runs axe-core (WCAG 2.1 A and AA rules) on the page and fails with every violation named:
 * rule, impact, and the elements it found. The page's context must bypass CSP.
 */
export async function assertAccessible(page, what) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  const problems = result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join('\n    ')}`,
  );
  assert.equal(problems.length, 0, `${what}: accessibility problems:\n  ${problems.join('\n  ')}`);
}

/** Whether the page scrolls sideways at its width (it must not at 390 px: tables scroll in their box). */
export async function assertNoSidewaysScroll(page, what) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 1, `${what}: the page is ${overflow} px wider than the window`);
}

export { assert };
