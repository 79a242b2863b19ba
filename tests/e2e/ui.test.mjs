// Real-browser end-to-end test of spotcheck's web pages.
//
// Starts target/debug/spotcheck on a free loopback port with a fresh temporary data dir,
// adds users with the CLI, and drives Debian's Chromium (/usr/bin/chromium) through
// playwright-core the way a person would: sign in, read the overview, upload a contract
// register, get refused where the role does not reach, sign out.
//
// Nothing is skipped: a missing Chromium or binary fails the run.
// Screenshots go to target/e2e/ (login.png, import_report.png; fail-*.png on failure).
//
//   SPOTCHECK_BIN   the binary to test      (default: <repo>/target/debug/spotcheck)
//   CHROMIUM_PATH   the browser to drive    (default: /usr/bin/chromium)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const execFileP = promisify(execFile);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = process.env.SPOTCHECK_BIN || path.join(ROOT, 'target', 'debug', 'spotcheck');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const FIXTURE = path.join(ROOT, 'fixtures', 'import', 'register_nb.xlsx');
const SHOTS = path.join(ROOT, 'target', 'e2e');

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

const PASSWORDS = {
  admin: 'admin-passord-e2e-1',
  kari: 'kari-passord-e2e-2',
  ola: 'ola-passord-e2e-3',
};

const STEP_TIMEOUT_MS = 10_000;
const TEST_TIMEOUT_MS = 30_000;

let dataDir;
let server;
let serverLog = '';
let baseUrl;
let browser;
let browserLaunch;
// Set when the `before` hook fails, so every test FAILS with the reason (a throwing hook
// would only mark them "cancelled", which reads like nothing went wrong).
let setupError;

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

/** The environment for the binary: only our settings, none inherited from the shell. */
function spotcheckEnv(extra) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k.startsWith('SPOTCHECK_')) delete env[k];
  }
  return {
    ...env,
    SPOTCHECK_DATA_DIR: dataDir,
    SPOTCHECK_RULES_DIR: path.join(ROOT, 'rules'),
    // Enrichment is never triggered here; point it at a closed loopback port regardless.
    SPOTCHECK_BRREG_URL: 'http://127.0.0.1:9/enhetsregisteret/api',
    RUST_LOG: 'warn',
    ...extra,
  };
}

async function waitUntilReady(deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`spotcheck serve exited early (${server.exitCode ?? server.signalCode}):\n${serverLog}`);
    }
    try {
      const r = await fetch(`${baseUrl}/readyz`);
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`spotcheck did not become ready within ${deadlineMs} ms:\n${serverLog}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function addUser(name, ...args) {
  await execFileP(BIN, ['users', 'add', name, ...args], {
    env: spotcheckEnv({ SPOTCHECK_PASSWORD: PASSWORDS[name] }),
    timeout: 20_000,
  });
}

async function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

// Last resort if the runner ends the process before `after` runs.
process.on('exit', () => {
  if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
});

/** Runs `fn` with a fresh page in its own browser context (own cookies); screenshots on failure. */
async function withPage(name, fn) {
  if (setupError) throw new Error(`setup failed: ${setupError.message}`, { cause: setupError });
  const context = await browser.newContext({ locale: 'nb-NO', viewport: { width: 1280, height: 800 } });
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

async function signIn(page, username, password) {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Brukernavn').fill(username);
  await page.getByLabel('Passord', { exact: true }).fill(password);
  await Promise.all([
    page.waitForURL(`${baseUrl}/`),
    page.getByRole('button', { name: 'Logg inn' }).click(),
  ]);
}

async function navLinks(page) {
  return page.getByRole('navigation', { name: 'Hovedmeny' }).getByRole('link').allInnerTexts();
}

async function text(locator) {
  return (await locator.innerText()).trim();
}

describe('spotcheck web UI in Chromium', { timeout: 120_000 }, () => {
  before(async () => {
    try {
      await setUp();
    } catch (err) {
      setupError = err;
    }
  });

  after(async () => {
    // Also closes a browser whose launch was still under way when setup failed.
    const b = browser ?? (await browserLaunch?.catch(() => null));
    await b?.close().catch(() => {});
    await stopServer();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function setUp() {
    // Fail, never skip, when something the suite needs is missing.
    mustBeExecutable(CHROMIUM, 'Chromium', 'Install it with: apt-get install -y chromium (or run tests/e2e/run.sh).');
    mustBeExecutable(BIN, 'The spotcheck binary', 'Build it with: cargo build (or run tests/e2e/run.sh).');
    assert.ok(fs.existsSync(FIXTURE), `fixture missing: ${FIXTURE}`);
    fs.mkdirSync(SHOTS, { recursive: true });
    for (const f of fs.readdirSync(SHOTS)) {
      if (f.startsWith('fail-') && f.endsWith('.png')) fs.rmSync(path.join(SHOTS, f));
    }

    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'spotcheck-e2e-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    server = spawn(BIN, ['serve'], {
      cwd: dataDir,
      env: spotcheckEnv({
        SPOTCHECK_BIND: `127.0.0.1:${port}`,
        SPOTCHECK_BASE_URL: baseUrl,
        SPOTCHECK_ADMIN_PASSWORD: PASSWORDS.admin,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk) => {
      serverLog += chunk;
      if (serverLog.length > 20_000) serverLog = serverLog.slice(-20_000);
    };
    server.stdout.on('data', keep);
    server.stderr.on('data', keep);
    server.on('error', (e) => keep(`spawn error: ${e.message}\n`));

    // The browser starts while the server comes up.
    browserLaunch = chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 30_000,
    });
    browserLaunch.catch(() => {}); // awaited below; no unhandled rejection if readiness fails first
    await waitUntilReady(20_000);
    // `serve` creates admin on the empty database; the other users come from the CLI.
    await addUser('kari', '--role', 'innkjoper');
    await addUser('ola', '--role', 'akrim', '--agency', 'politiet');
    browser = await browserLaunch;
  }

  test('login page shows the Norwegian form, styled', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage('login', async (page) => {
      const resp = await page.goto(`${baseUrl}/login`);
      assert.equal(resp.status(), 200);
      assert.equal(await page.title(), 'Logg inn – spotcheck');
      assert.equal(await page.locator('html').getAttribute('lang'), 'nb');
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Logg inn');
      await page.getByLabel('Brukernavn').waitFor();
      assert.equal(await page.getByLabel('Passord', { exact: true }).getAttribute('type'), 'password');
      const button = page.getByRole('button', { name: 'Logg inn' });
      // The stylesheet loaded and applied (the CSP allows only 'self').
      const bg = await button.evaluate((el) => getComputedStyle(el).backgroundColor);
      assert.equal(bg, 'rgb(11, 83, 148)', 'button uses the accent colour from /static/style.css');
      await page.screenshot({ path: path.join(SHOTS, 'login.png'), fullPage: true });
    });
  });

  test('wrong password shows «Feil brukernavn eller passord.»', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage('wrong-password', async (page) => {
      await page.goto(`${baseUrl}/login`);
      await page.getByLabel('Brukernavn').fill('admin');
      await page.getByLabel('Passord', { exact: true }).fill('dette-er-feil-passord');
      const [resp] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${baseUrl}/login` && r.request().method() === 'POST'),
        page.getByRole('button', { name: 'Logg inn' }).click(),
      ]);
      assert.equal(resp.status(), 401);
      await page.waitForLoadState();
      assert.equal(await text(page.getByRole('alert')), 'Feil brukernavn eller passord.');
      assert.equal(new URL(page.url()).pathname, '/login');
      assert.equal(await page.getByLabel('Brukernavn').inputValue(), 'admin', 'the user name is kept');
      assert.equal(await page.getByLabel('Passord', { exact: true }).inputValue(), '', 'the password is not');
    });
  });

  test('admin signs in and sees the overview', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage('admin-overview', async (page) => {
      await signIn(page, 'admin', PASSWORDS.admin);
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Velkommen, admin');
      assert.match(await text(page.locator('main p').first()), /^Du er logget inn som Administrator/);
      const links = await navLinks(page);
      for (const l of ['Oversikt', 'Brukere', 'Revisjonslogg']) assert.ok(links.includes(l), `nav has ${l}: ${links}`);
      await page.getByRole('button', { name: 'Logg ut' }).waitFor();

      // The users added with the CLI are listed on Brukere.
      await Promise.all([
        page.waitForURL(`${baseUrl}/admin/users`),
        page.getByRole('navigation', { name: 'Hovedmeny' }).getByRole('link', { name: 'Brukere' }).click(),
      ]);
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Brukere');
      const names = await page.locator('table tbody tr td:first-child').allInnerTexts();
      assert.deepEqual([...names].sort(), ['admin', 'kari', 'ola']);
    });
  });

  test('innkjøper uploads register_nb.xlsx and sees the import report with rejected rows', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage('import', async (page) => {
      await signIn(page, 'kari', PASSWORDS.kari);
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Velkommen, kari');
      await Promise.all([
        page.waitForURL(`${baseUrl}/imports`),
        page.getByRole('navigation', { name: 'Hovedmeny' }).getByRole('link', { name: 'Import' }).click(),
      ]);
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Import av kontraktsregistre');

      await page.getByLabel(/^Kontraktsregister/).setInputFiles(FIXTURE);
      const [resp] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${baseUrl}/imports` && r.request().method() === 'POST'),
        page.getByRole('button', { name: 'Last opp' }).click(),
      ]);
      assert.equal(resp.status(), 200);
      const heading = page.getByRole('heading', { level: 1 });
      await heading.filter({ hasText: 'Importrapport' }).waitFor();
      assert.equal(await text(heading), 'Importrapport: register_nb.xlsx');
      assert.match(await text(page.getByRole('status')), /^Lagret som import \d+\.$/);
      const rows = await text(page.locator('xpath=//dt[normalize-space()="Rader"]/following-sibling::dd[1]'));
      assert.equal(rows, '21 i alt, 8 importert, 13 avvist');

      const caption = page.locator('table caption');
      assert.match(await text(caption), /^Avviste rader: /);
      // 13 rejected rows carry 14 errors (one row has two); see fixtures/import/README.md.
      const errorRows = page.locator('table tbody tr');
      assert.equal(await errorRows.count(), 14);
      const firstRow = await errorRows.first().locator('td').allInnerTexts();
      assert.equal(firstRow.length, 5);
      assert.ok(firstRow[4].trim().length > 0, 'each rejected row says what to fix');
      await page.screenshot({ path: path.join(SHOTS, 'import_report.png'), fullPage: true });

      // The import is listed under «Dine importer».
      await Promise.all([
        page.waitForURL(`${baseUrl}/imports`),
        page.getByRole('link', { name: 'Tilbake til importer' }).click(),
      ]);
      assert.equal(await text(page.locator('table caption')), 'Dine importer');
      const listed = await page.locator('table tbody tr').first().locator('td').allInnerTexts();
      assert.equal(listed[1], 'register_nb.xlsx');
      assert.deepEqual(listed.slice(3, 6), ['21', '8', '13']);

      // The imported contracts are scored: «Kontrakter» lists them with points and tier,
      // and a contract's page explains its score.
      await Promise.all([
        page.waitForURL(`${baseUrl}/contracts`),
        page.getByRole('navigation', { name: 'Hovedmeny' }).getByRole('link', { name: 'Kontrakter' }).click(),
      ]);
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Kontrakter og risiko');
      assert.match(await text(page.locator('table caption')), /^8 kontrakter, høyest risiko først/);
      const contractRows = page.locator('table tbody tr');
      assert.equal(await contractRows.count(), 8);
      const points = await page.locator('table tbody tr td:nth-child(6)').allInnerTexts();
      const scores = points.map((p) => parseInt(p, 10));
      assert.ok(scores.every((s) => Number.isInteger(s)), `every contract scored: ${points}`);
      assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'highest first');
      await page.screenshot({ path: path.join(SHOTS, 'contracts.png'), fullPage: true });
      await Promise.all([
        page.waitForURL(/\/contracts\/\d+$/),
        contractRows.first().locator('a').click(),
      ]);
      assert.match(await text(page.getByRole('heading', { level: 2 }).first()), /^Risikovurdering: \d+ poeng, nivå /);
      assert.match(await text(page.locator('table caption').nth(1)), /^Kunne ikke beregnes \(\d+\)/);
      await page.screenshot({ path: path.join(SHOTS, 'contract.png'), fullPage: true });
    });
  });

  test('A-krim partner gets «Ingen tilgang» (403) on the admin page', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage('akrim-403', async (page) => {
      await signIn(page, 'ola', PASSWORDS.ola);
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Velkommen, ola');
      assert.match(await text(page.locator('main p').first()), /for Politiet\.$/);
      const links = await navLinks(page);
      assert.ok(!links.includes('Brukere') && !links.includes('Import'), `nav: ${links}`);

      const resp = await page.goto(`${baseUrl}/admin/users`);
      assert.equal(resp.status(), 403);
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Ingen tilgang');
      assert.match(await text(page.getByRole('alert')), /^Rollen din gir ikke tilgang/);
    });
  });

  test('logout ends the session', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage('logout', async (page) => {
      await signIn(page, 'kari', PASSWORDS.kari);
      const session = (await page.context().cookies(baseUrl)).find((c) => c.name === 'spotcheck_session');
      assert.ok(session, 'signed in with a session cookie');
      await Promise.all([
        page.waitForURL(`${baseUrl}/login`),
        page.getByRole('button', { name: 'Logg ut' }).click(),
      ]);
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Logg inn');
      const cookies = await page.context().cookies(baseUrl);
      assert.ok(!cookies.some((c) => c.name === 'spotcheck_session'), 'session cookie removed');
      // Signed out: the overview sends the browser back to the login page.
      await page.goto(`${baseUrl}/`);
      assert.equal(new URL(page.url()).pathname, '/login');
      // The old cookie is dead on the server too, not just dropped by the browser.
      await page.context().addCookies([session]);
      await page.goto(`${baseUrl}/`);
      assert.equal(new URL(page.url()).pathname, '/login');
    });
  });
});
