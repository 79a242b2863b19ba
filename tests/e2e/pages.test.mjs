// Every main page, for the role that uses it, at a laptop's and a phone's width: it answers
// 200, needs no sideways scrolling at 390 px, passes axe-core's WCAG 2.1 A/AA rules, shows
// no internal code, and is screenshotted to target/e2e/pages/<name>-<width>.png (artifacts,
// not committed). Content comes from the CLI: users, liaisons, an import and a published draw.

import { after, before, describe, test } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { Spotcheck, ROOT, SHOTS, assert, assertAccessible, assertNoSidewaysScroll } from './harness.mjs';

const FIXTURE = path.join(ROOT, 'fixtures', 'import', 'register_nb.xlsx');
const PAGE_SHOTS = path.join(SHOTS, 'pages');

const app = new Spotcheck({
  admin: 'admin-passord-e2e-pages',
  kem: 'kem-passord-e2e-pages',
  anne: 'anne-passord-e2e-pages',
  ola: 'ola-passord-e2e-pages',
});

// Codes that must never reach what people read (they may appear in attributes and URLs).
const CODES = [/\bbygg_anlegg\b/, /\bnot_approved\b/, /\bsupplier\.[a-z_]+/, /\bcontract\.[a-z_]+/, /\bunder_vurdering\b/, /\bcase\.[a-z_]+/, /\bdraw_published\b/];

/** The first link on `listPath` whose address matches `pattern` (a page's own id). */
async function firstLink(page, listPath, pattern) {
  await page.goto(app.url(listPath));
  const hrefs = await page.locator('main a[href]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  const found = hrefs.find((h) => pattern.test(h));
  assert.ok(found, `no link matching ${pattern} on ${listPath}: ${hrefs.join(' ')}`);
  return found;
}

async function checkPage(page, name, pathName, width) {
  const resp = await page.goto(app.url(pathName));
  assert.equal(resp.status(), 200, `${name} (${pathName}) answers 200`);
  await page.screenshot({ path: path.join(PAGE_SHOTS, `${name}-${width}.png`), fullPage: true });
  const body = await page.locator('body').innerText();
  for (const code of CODES) assert.ok(!code.test(body), `${name}: shows the internal code ${code} in:\n${body}`);
  if (width < 500) await assertNoSidewaysScroll(page, `${name} at ${width} px`);
  await assertAccessible(page, `${name} at ${width} px`);
}

describe('every main page at 1366 and 390 px: content, accessibility, no codes', { timeout: 600_000 }, () => {
  before(() =>
    app.start(async () => {
      fs.mkdirSync(PAGE_SHOTS, { recursive: true });
      await app.addUser('kem', '--role', 'kemner');
      await app.addUser('anne', '--role', 'innkjoper');
      await app.addUser('ola', '--role', 'akrim', '--agency', 'arbeidstilsynet');
      await app.cli('liaisons', 'add', 'Aud Tilsyn', '--agency', 'arbeidstilsynet', '--email', 'aud@example.org', '--notice', 'draw_published');
      await app.cli('import', FIXTURE, '--user', 'anne');
      await app.cli('draw', '--seed', 'e2e-sider', '--size', '3', '--user', 'kem');
    }),
  );
  after(() => app.stop());

  const roles = {
    kem: ['/', '/imports', '/contracts', '/draws', '/draws/new', '/cases', '/suppliers', '/rules', '/rules/edit', '/liaisons', '/outbox', '/reports'],
    admin: ['/', '/admin/users', '/admin/audit'],
    anne: ['/', '/imports', '/contracts', '/cases'],
    ola: ['/', '/draws', '/cases'],
  };

  for (const width of [1366, 390]) {
    test(`login page at ${width} px`, { timeout: 60_000 }, async () => {
      await app.withPage(`login-${width}`, async (page) => checkPage(page, 'login', '/login', width), { width, bypassCSP: true });
    });

    for (const [user, paths] of Object.entries(roles)) {
      test(`${user}'s pages at ${width} px`, { timeout: 240_000 }, async () => {
        await app.withPage(`${user}-${width}`, async (page) => {
          await app.signIn(page, user);
          const all = [...paths];
          if (user === 'kem') {
            all.push(await firstLink(page, '/contracts', /^\/contracts\/\d+$/));
            all.push(await firstLink(page, '/draws', /^\/draws\/\d+$/));
            all.push(await firstLink(page, '/cases', /^\/cases\/\d+$/));
            all.push(await firstLink(page, '/suppliers', /^\/suppliers\/\d{9}$/));
            all.push(await firstLink(page, '/imports', /^\/imports\/\d+$/));
          }
          if (user === 'ola') all.push(await firstLink(page, '/cases', /^\/cases\/\d+$/));
          for (const p of all) {
            const name = `${user}${p.replaceAll('/', '_').replace(/_$/, '') || '_oversikt'}`;
            await checkPage(page, name, p, width);
          }
        }, { width, bypassCSP: true });
      });
    }
  }
});
