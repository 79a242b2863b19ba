// Real-browser end-to-end test of spotcheck's web pages (the first journeys: sign in, read
// the overview, upload a contract register, get refused where the role does not reach, sign
// out). Setup and helpers are in harness.mjs. Screenshots go to target/e2e/.

import { after, before, describe, test } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { Spotcheck, ROOT, SHOTS, TEST_TIMEOUT_MS, assert, text } from './harness.mjs';

const FIXTURE = path.join(ROOT, 'fixtures', 'import', 'register_nb.xlsx');

const app = new Spotcheck({
  admin: 'admin-passord-e2e-1',
  kari: 'kari-passord-e2e-2',
  ola: 'ola-passord-e2e-3',
});

describe('spotcheck web UI in Chromium', { timeout: 120_000 }, () => {
  before(() =>
    app.start(async () => {
      assert.ok(fs.existsSync(FIXTURE), `fixture missing: ${FIXTURE}`);
      // `serve` creates admin on the empty database; the other users come from the CLI.
      await app.addUser('kari', '--role', 'innkjoper');
      await app.addUser('ola', '--role', 'akrim', '--agency', 'politiet');
    }),
  );
  after(() => app.stop());

  test('login page shows the Norwegian form, styled', { timeout: TEST_TIMEOUT_MS }, async () => {
    await app.withPage('login', async (page) => {
      const resp = await page.goto(`${app.baseUrl}/login`);
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
    await app.withPage('wrong-password', async (page) => {
      await page.goto(`${app.baseUrl}/login`);
      await page.getByLabel('Brukernavn').fill('admin');
      await page.getByLabel('Passord', { exact: true }).fill('dette-er-feil-passord');
      const [resp] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${app.baseUrl}/login` && r.request().method() === 'POST'),
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
    await app.withPage('admin-overview', async (page) => {
      await app.signIn(page, 'admin');
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Velkommen, admin');
      assert.match(await text(page.locator('main p').first()), /^Du er logget inn som Administrator/);
      const links = await app.navLinks(page);
      for (const l of ['Oversikt', 'Brukere', 'Revisjonslogg']) assert.ok(links.includes(l), `nav has ${l}: ${links}`);
      await page.getByRole('button', { name: 'Logg ut' }).waitFor();

      // The users added with the CLI are listed on Brukere.
      await Promise.all([
        page.waitForURL(`${app.baseUrl}/admin/users`),
        page.getByRole('navigation', { name: 'Hovedmeny' }).getByRole('link', { name: 'Brukere' }).click(),
      ]);
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Brukere');
      const names = await page.locator('table tbody tr td:first-child').allInnerTexts();
      assert.deepEqual([...names].sort(), ['admin', 'kari', 'ola']);
    });
  });

  test('innkjøper uploads register_nb.xlsx and sees the import report with rejected rows', { timeout: TEST_TIMEOUT_MS }, async () => {
    await app.withPage('import', async (page) => {
      await app.signIn(page, 'kari');
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Velkommen, kari');
      await Promise.all([
        page.waitForURL(`${app.baseUrl}/imports`),
        page.getByRole('navigation', { name: 'Hovedmeny' }).getByRole('link', { name: 'Import' }).click(),
      ]);
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Import av kontraktsregistre');

      await page.getByLabel(/^Kontraktsregister/).setInputFiles(FIXTURE);
      const [resp] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${app.baseUrl}/imports` && r.request().method() === 'POST'),
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
        page.waitForURL(`${app.baseUrl}/imports`),
        page.getByRole('link', { name: 'Tilbake til importer' }).click(),
      ]);
      assert.equal(await text(page.locator('table caption')), 'Dine importer');
      const listed = await page.locator('table tbody tr').first().locator('td').allInnerTexts();
      assert.equal(listed[1], 'register_nb.xlsx');
      assert.deepEqual(listed.slice(3, 6), ['21', '8', '13']);

      // The imported contracts are scored: «Kontrakter» lists them with points and tier,
      // and a contract's page explains its score.
      await Promise.all([
        page.waitForURL(`${app.baseUrl}/contracts`),
        page.getByRole('navigation', { name: 'Hovedmeny' }).getByRole('link', { name: 'Kontrakter' }).click(),
      ]);
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Kontrakter og risiko');
      assert.match(await text(page.locator('table caption')), /^8 kontrakter \(side 1 av 1\)/);
      const contractRows = page.locator('table tbody tr');
      assert.equal(await contractRows.count(), 8);
      const points = await page.locator('table tbody tr td:nth-child(8)').allInnerTexts();
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
    await app.withPage('akrim-403', async (page) => {
      await app.signIn(page, 'ola');
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Velkommen, ola');
      assert.match(await text(page.locator('main p').first()), /for Politiet\.$/);
      const links = await app.navLinks(page);
      assert.ok(!links.includes('Brukere') && !links.includes('Import'), `nav: ${links}`);

      const resp = await page.goto(`${app.baseUrl}/admin/users`);
      assert.equal(resp.status(), 403);
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Ingen tilgang');
      assert.match(await text(page.getByRole('alert')), /^Rollen din gir ikke tilgang/);
    });
  });

  test('logout ends the session', { timeout: TEST_TIMEOUT_MS }, async () => {
    await app.withPage('logout', async (page) => {
      await app.signIn(page, 'kari');
      const session = (await page.context().cookies(app.baseUrl)).find((c) => c.name === 'spotcheck_session');
      assert.ok(session, 'signed in with a session cookie');
      await Promise.all([
        page.waitForURL(`${app.baseUrl}/login`),
        page.getByRole('button', { name: 'Logg ut' }).click(),
      ]);
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Logg inn');
      const cookies = await page.context().cookies(app.baseUrl);
      assert.ok(!cookies.some((c) => c.name === 'spotcheck_session'), 'session cookie removed');
      // Signed out: the overview sends the browser back to the login page.
      await page.goto(`${app.baseUrl}/`);
      assert.equal(new URL(page.url()).pathname, '/login');
      // The old cookie is dead on the server too, not just dropped by the browser.
      await page.context().addCookies([session]);
      await page.goto(`${app.baseUrl}/`);
      assert.equal(new URL(page.url()).pathname, '/login');
    });
  });
});
