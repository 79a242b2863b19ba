// Real-browser journey through the draw pages: Kemneren runs a spot-check draw through the
// wizard (filter → population with its fingerprint → ceremony view → seed → publish) and
// lands on the draw page with the picks; an A-krim partner reads the draw but is refused
// the wizard. Setup and helpers are in harness.mjs; screenshots of every step at 1366 and
// 390 px wide go to target/e2e/ (draws-*.png).

import { after, before, describe, test } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { Spotcheck, ROOT, SHOTS, TEST_TIMEOUT_MS, assert, text } from './harness.mjs';

const FIXTURE = path.join(ROOT, 'fixtures', 'import', 'register_nb.xlsx');
const SEED = '2026-12-07 rådhuset: 3 8 1 5 0 6 2 2 7 9';

const app = new Spotcheck({
  admin: 'admin-passord-e2e-1',
  kari: 'kari-passord-e2e-2',
  ola: 'ola-passord-e2e-3',
});

/** Draws published by the journeys, by viewport width. */
const published = {};

async function shot(page, name, width) {
  await page.screenshot({ path: path.join(SHOTS, `draws-${name}-${width}.png`), fullPage: true });
}

/** Kemneren's journey at one viewport width; returns the draw's id. */
async function journey(width) {
  let id;
  await app.withPage(`draws-journey-${width}`, async (page) => {
    await app.signIn(page, 'kari');
    await app.menu(page, 'Trekninger');
    assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Trekninger');
    await Promise.all([page.waitForURL(app.url('/draws/new')), page.getByRole('link', { name: 'Ny trekning', exact: true }).click()]);

    // Step 1: the filter. Strata per industry and half uniform are the defaults.
    assert.equal(await page.getByLabel('Ett lag per risikobransje').isChecked(), true);
    assert.equal(await page.getByLabel('Andel trukket likt tilfeldig, uten vekting (%)').inputValue(), '50');
    await page.getByLabel('Antall kontrakter som skal trekkes').fill('4');
    await shot(page, 'step1-filter', width);
    await Promise.all([
      page.waitForURL(app.url('/draws/new/preview')),
      page.getByRole('button', { name: 'Vis populasjonen' }).click(),
    ]);

    // Step 2: population, strata and the fingerprint in full.
    const fingerprint = await text(page.locator('#fingerprint'));
    assert.match(fingerprint, /^[0-9a-f]{64}$/);
    assert.match(await text(page.locator('#population')), /^\d+ kontrakter$/);
    assert.ok((await page.locator('table tbody tr').count()) >= 1, 'strata listed');
    await shot(page, 'step2-population', width);

    // The ceremony view: the same fingerprint, large, before any seed exists.
    await Promise.all([
      page.waitForURL(/\/draws\/new\/ceremony\?/),
      page.getByRole('link', { name: 'Åpne presentasjonsmodus' }).click(),
    ]);
    const big = page.locator('#fingerprint');
    assert.equal(await big.getAttribute('aria-label'), fingerprint);
    assert.equal((await big.textContent()).trim(), fingerprint, 'shown in full');
    assert.equal(await page.getByRole('navigation', { name: 'Hovedmeny' }).count(), 0, 'no menu on the projector');
    const size = await big.evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
    assert.ok(size >= 20, `large enough for a projector (${size}px)`);
    await shot(page, 'ceremony-population', width);

    // Step 3: the seed from the ceremony, then publish.
    await page.getByLabel('Seed fra seremonien').fill(SEED);
    await Promise.all([
      page.waitForURL(/\/draws\/\d+\/ceremony$/),
      page.getByRole('button', { name: 'Publiser trekningen' }).click(),
    ]);
    id = Number(new URL(page.url()).pathname.split('/')[2]);
    assert.equal(await text(page.locator('#seed')), SEED);
    assert.equal((await page.locator('#fingerprint').textContent()).trim(), fingerprint);
    assert.equal(await page.locator('table tbody tr').count(), 4, 'four picks in order');
    await shot(page, 'ceremony-result', width);

    // The draw page: the picks, their cases and the verification.
    await Promise.all([
      page.waitForURL(app.url(`/draws/${id}`)),
      page.getByRole('link', { name: 'Til trekningssiden' }).click(),
    ]);
    assert.equal(await text(page.getByRole('heading', { level: 1 })), `Trekning ${id}`);
    const picks = page.locator('#picks tbody tr');
    assert.equal(await picks.count(), 4);
    assert.equal(await text(picks.first().locator('td').first()), '1');
    assert.match(await text(page.locator('#verification')), /^Trekningen er kontrollert: alle 4 trekkene/);
    assert.equal(await page.locator('#fingerprint').getAttribute('title'), fingerprint, 'full on hover');
    assert.equal(await page.locator('#picks a[href^="/cases/"]').count(), 4, 'a case per pick');
    await shot(page, 'draw-page', width);
  }, { width, height: width < 500 ? 844 : 800 });
  return id;
}

describe('draws in Chromium', { timeout: 180_000 }, () => {
  before(() =>
    app.start(async () => {
      assert.ok(fs.existsSync(FIXTURE), `fixture missing: ${FIXTURE}`);
      await app.addUser('kari', '--role', 'kemner');
      await app.addUser('ola', '--role', 'akrim', '--agency', 'nav');
      // Kemneren imports the register with the CLI; the import scores it.
      await app.cli('import', FIXTURE, '--user', 'kari');
    }),
  );
  after(() => app.stop());

  test('Kemneren draws through the wizard and the ceremony (1366 px)', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    published[1366] = await journey(1366);
    assert.ok(published[1366] > 0);
  });

  test('the same journey on a phone (390 px)', { timeout: TEST_TIMEOUT_MS * 2 }, async () => {
    published[390] = await journey(390);
    assert.ok(published[390] > published[1366]);
  });

  test('an A-krim partner reads the draw but is refused the wizard', { timeout: TEST_TIMEOUT_MS }, async () => {
    const id = published[1366];
    assert.ok(id, 'the journey published a draw');
    await app.withPage('draws-akrim', async (page) => {
      await app.signIn(page, 'ola');
      await app.menu(page, 'Trekninger');
      assert.equal(await page.getByRole('link', { name: 'Ny trekning', exact: true }).count(), 0);
      assert.ok((await page.locator('table tbody tr').count()) >= 2, 'the published draws are listed');

      const resp = await page.goto(app.url('/draws/new'));
      assert.equal(resp.status(), 403);
      assert.equal(await text(page.getByRole('heading', { level: 1 })), 'Ingen tilgang');

      await page.goto(app.url(`/draws/${id}`));
      assert.equal(await page.locator('#picks tbody tr').count(), 4);
      assert.equal(await page.getByRole('button', { name: 'Utvid trekningen' }).count(), 0);
      const lists = await page.locator('a[href*="/inspection-list?"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      assert.equal(lists.length, 2, `NAV's list as xlsx and csv only: ${lists}`);
      assert.ok(lists.every((h) => h.includes('agency=nav')));
    });
  });
});
