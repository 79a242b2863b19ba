// Real-browser journey through the case pages (issue 14): set up with the CLI (a register
// imported by Kemneren, an Arbeidstilsynet liaison so the case is shared with that agency, a
// published draw), then in Chromium an Arbeidstilsynet partner opens the case from /cases,
// writes a note, records a finding, uploads evidence and proposes closing; a second
// partner confirms; a NAV partner neither sees the case in the queue nor opens it (404).
// Screenshots of the queue and the case page at 1366 and 390 px go to target/e2e/.

import { after, before, describe, test } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { Spotcheck, ROOT, SHOTS, TEST_TIMEOUT_MS, assert, assertAccessible, assertNoSidewaysScroll, text } from './harness.mjs';

const FIXTURE = path.join(ROOT, 'fixtures', 'import', 'register_nb.xlsx');

const app = new Spotcheck({
  admin: 'admin-passord-e2e-1',
  kari: 'kari-passord-e2e-2',
  ola: 'ola-passord-e2e-3',
  oda: 'oda-passord-e2e-4',
  nina: 'nina-passord-e2e-5',
});

/** The case the journey works on, found by the first test. */
let caseUrl = null;

async function notice(page) {
  return text(page.getByRole('status'));
}

describe('case pages in Chromium', { timeout: 180_000 }, () => {
  before(() =>
    app.start(async () => {
      assert.ok(fs.existsSync(FIXTURE), `fixture missing: ${FIXTURE}`);
      await app.addUser('kari', '--role', 'kemner');
      await app.addUser('ola', '--role', 'akrim', '--agency', 'arbeidstilsynet');
      await app.addUser('oda', '--role', 'akrim', '--agency', 'arbeidstilsynet');
      await app.addUser('nina', '--role', 'akrim', '--agency', 'nav');
      await app.cli('import', FIXTURE, '--user', 'kari');
      // A liaison for every industry: every case of the draw is shared with Arbeidstilsynet
      // (and, with no NAV liaison, none with NAV).
      await app.cli('liaisons', 'add', 'Ada Tilsyn', '--agency', 'arbeidstilsynet',
        '--email', 'ada@arbeidstilsynet.test', '--notice', 'draw_published');
      // Risk-weighted only, so the pick is one of the contracts where indicators fired.
      await app.cli('draw', '--seed', 'e2e saker 2', '--size', '1', '--uniform-share', '0', '--user', 'kari');
    }),
  );
  after(() => app.stop());

  test('an Arbeidstilsynet partner works the case and proposes closing', { timeout: 60_000 }, async () => {
    await app.withPage('cases-ola', async (page) => {
      await app.signIn(page, 'ola');
      await app.menu(page, 'Saker');
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Saker');
      await page.screenshot({ path: path.join(SHOTS, 'cases-queue-1366.png'), fullPage: true });
      const link = page.locator('table a[href^="/cases/"]').first();
      await Promise.all([page.waitForURL(/\/cases\/\d+$/), link.click()]);
      caseUrl = new URL(page.url()).pathname;
      assert.match(await text(page.getByRole('heading', { level: 1 })), /^Sak \d+: /);
      await page.getByRole('heading', { name: 'Trekningen' }).waitFor();
      assert.equal(await page.getByRole('link', { name: /^Trekning \d+$/ }).count(), 1, 'the draw it came from');

      // A note.
      await page.getByLabel('Nytt notat').fill('Ringte leverandøren; lønnsslipper kommer.');
      await Promise.all([page.waitForURL(/done=note/), page.getByRole('button', { name: 'Lagre notatet' }).click()]);
      assert.equal(await notice(page), 'Notatet er lagret.');
      assert.ok((await page.locator('main').innerText()).includes('Ringte leverandøren; lønnsslipper kommer.'));

      // A finding for an indicator that fired.
      const indicator = page.getByLabel('Indikator som slo ut');
      assert.ok((await indicator.locator('option').count()) > 0, 'an indicator fired for the drawn contract');
      await page.getByLabel('Resultat').selectOption({ label: 'bekreftet' });
      await Promise.all([page.waitForURL(/done=finding/), page.getByRole('button', { name: 'Registrer funnet' }).click()]);
      assert.equal(await notice(page), 'Funnet er registrert.');
      assert.equal(await text(page.locator('table', { hasText: 'Siste funn per indikator' }).locator('tbody td').nth(1)), 'bekreftet');

      // Evidence: first a program (refused beside the field), then a text file.
      await page.getByLabel(/^Last opp vedlegg/).setInputFiles({ name: 'program.exe', mimeType: 'application/octet-stream', buffer: Buffer.from([0x4d, 0x5a, 0x90, 0x00]) });
      const [refused] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/evidence') && r.request().method() === 'POST'),
        page.getByRole('button', { name: 'Last opp', exact: true }).click(),
      ]);
      assert.equal(refused.status(), 422);
      await page.waitForLoadState();
      assert.match(await text(page.locator('#evidence-file + .field-error')), /^Bare PDF, PNG, JPEG/);
      await page.getByLabel(/^Last opp vedlegg/).setInputFiles({ name: 'timeliste uke 49.txt', mimeType: 'text/plain', buffer: Buffer.from('Timeliste uke 49\n') });
      await Promise.all([page.waitForURL(/done=evidence/), page.getByRole('button', { name: 'Last opp', exact: true }).click()]);
      assert.equal(await notice(page), 'Vedlegget er lastet opp.');
      await page.getByRole('link', { name: 'timeliste uke 49.txt' }).waitFor();

      // Through the workflow to a close proposal.
      await Promise.all([page.waitForURL(/done=status/), page.getByRole('button', { name: 'Sett til «under vurdering»' }).click()]);
      await Promise.all([page.waitForURL(/done=status/), page.getByRole('button', { name: 'Sett til «kontrollert»' }).click()]);
      assert.equal(await text(page.locator('#status .status')), 'kontrollert');
      await page.getByLabel('Utfall').selectOption({ label: 'ingen funn' });
      await Promise.all([page.waitForURL(/done=close/), page.getByRole('button', { name: 'Foreslå lukking' }).click()]);
      assert.equal(await notice(page), 'Lukking er foreslått. En annen person må bekrefte den.');
      assert.ok((await page.locator('main').innerText()).includes('Du foreslo lukkingen selv'));
      assert.equal(await page.getByRole('button', { name: 'Bekreft lukking' }).count(), 0, 'no confirm button for the proposer');
      await page.screenshot({ path: path.join(SHOTS, 'case-1366.png'), fullPage: true });
    });
  });

  test('a second Arbeidstilsynet partner confirms the closing', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(caseUrl, 'the first journey found the case');
    await app.withPage('cases-oda', async (page) => {
      await app.signIn(page, 'oda');
      await page.goto(app.url(caseUrl));
      await Promise.all([page.waitForURL(/done=confirm/), page.getByRole('button', { name: 'Bekreft lukking' }).click()]);
      assert.equal(await notice(page), 'Saken er lukket.');
      assert.equal(await text(page.locator('#status .status')), 'lukket');
      const history = await page.locator('table', { hasText: 'Alt som har skjedd med saken' }).innerText();
      assert.ok(history.includes('Lukking bekreftet med utfall «ingen funn»'), history);
      assert.ok(!history.includes('close_confirmed') && !history.includes('case.'), 'no internal codes');
    });
  });

  test('a NAV partner neither sees nor opens the case', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(caseUrl, 'the first journey found the case');
    await app.withPage('cases-nina', async (page) => {
      await app.signIn(page, 'nina');
      await app.menu(page, 'Saker');
      assert.equal(await page.locator(`a[href="${caseUrl}"]`).count(), 0, 'not in the queue');
      assert.ok((await page.locator('.empty').innerText()).includes('Ingen saker ennå'));
      const resp = await page.goto(app.url(caseUrl));
      assert.equal(resp.status(), 404);
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Ikke funnet');
    });
  });

  test('queue and case page at phone width, accessible', { timeout: 60_000 }, async () => {
    assert.ok(caseUrl, 'the first journey found the case');
    await app.withPage('cases-390', async (page) => {
      await app.signIn(page, 'ola');
      await page.goto(app.url('/cases'));
      await page.screenshot({ path: path.join(SHOTS, 'cases-queue-390.png'), fullPage: true });
      await assertNoSidewaysScroll(page, 'the queue at 390 px');
      await assertAccessible(page, 'the queue at 390 px');
      await page.goto(app.url(caseUrl));
      await page.screenshot({ path: path.join(SHOTS, 'case-390.png'), fullPage: true });
      await assertNoSidewaysScroll(page, 'the case page at 390 px');
      await assertAccessible(page, 'the case page at 390 px');
    }, { width: 390, height: 844, bypassCSP: true });
  });

  test('Kemneren\'s case page and a refused form are accessible', { timeout: 60_000 }, async () => {
    assert.ok(caseUrl, 'the first journey found the case');
    await app.withPage('cases-kari', async (page) => {
      await app.signIn(page, 'kari');
      await page.goto(app.url('/cases?deadline=overdue'));
      assert.ok((await page.locator('.empty').innerText()).includes('Ingen saker passer filtrene'));
      await assertAccessible(page, 'an empty filtered queue');
      await page.goto(app.url(caseUrl));
      await page.getByLabel('Del med etat').waitFor();
      // Reopening without a reason: 422, the reason beside the field.
      const [resp] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/reopen') && r.request().method() === 'POST'),
        page.getByRole('button', { name: 'Gjenåpne saken' }).click(),
      ]);
      assert.equal(resp.status(), 422);
      await page.waitForLoadState();
      assert.equal(await text(page.locator('#reopen-reason + .field-error')), 'Kan ikke være tomt');
      await assertAccessible(page, 'the case page with a refused form');
    }, { bypassCSP: true });
  });
});
