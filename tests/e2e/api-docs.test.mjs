// Real-browser test of the API viewer at /api/docs: Swagger UI (vendored) renders every
// operation of /api/v1/openapi.json, asks nothing of another host, and the page's content
// security policy refuses nothing it needs (a refusal is a console error). Setup is in
// harness.mjs; screenshots go to target/e2e/.

import { after, before, describe, test } from 'node:test';
import path from 'node:path';
import { Spotcheck, SHOTS, TEST_TIMEOUT_MS, assert } from './harness.mjs';

const app = new Spotcheck({ admin: 'admin-passord-e2e-1' });

describe('the API viewer in Chromium', { timeout: 120_000 }, () => {
  before(() => app.start());
  after(() => app.stop());

  test('shows every operation, offline, within its policy', { timeout: TEST_TIMEOUT_MS }, async () => {
    await app.withPage('api-docs', async (page) => {
      const outside = [];
      const problems = [];
      page.on('request', (req) => {
        const url = new URL(req.url());
        if (!['data:', 'blob:'].includes(url.protocol) && url.origin !== new URL(app.baseUrl).origin) {
          outside.push(req.url());
        }
      });
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(msg.text());
      });
      page.on('pageerror', (err) => problems.push(String(err)));

      const doc = await (await fetch(app.url('/api/v1/openapi.json'))).json();
      let operations = 0;
      for (const item of Object.values(doc.paths)) {
        operations += ['get', 'put', 'post', 'delete', 'patch'].filter((m) => item[m]).length;
      }
      assert.ok(operations >= 50, `${operations} operations`);

      const resp = await page.goto(app.url('/api/docs'));
      assert.equal(resp.status(), 200);
      await page.locator('.swagger-ui .info .title').waitFor();
      assert.match(await page.locator('.swagger-ui .info .title').innerText(), /spotcheck/);
      await page.locator('.opblock').first().waitFor();
      assert.equal(await page.locator('.opblock').count(), operations);
      // The stylesheet applied: an operation block has Swagger UI's border.
      const border = await page.locator('.opblock').first().evaluate((el) => getComputedStyle(el).borderStyle);
      assert.equal(border, 'solid');
      // Opening an operation renders its responses, with the problem+json errors.
      await page.locator('.opblock-summary').first().click();
      await page.locator('.responses-table').first().waitFor();
      await page.screenshot({ path: path.join(SHOTS, 'api-docs.png') });
      // An operation with a request body and its schema.
      const create = page.locator('#operations-users-users_create');
      await create.locator('.opblock-summary').click();
      await create.locator('.opblock-body').waitFor();
      await create.getByText('Schema', { exact: true }).first().click();
      await create.locator('.model-box').first().waitFor();
      // The sign-in dialogue for the bearer token.
      await page.getByRole('button', { name: 'Authorize' }).first().click();
      await page.locator('.dialog-ux .modal-ux').waitFor();
      await page.screenshot({ path: path.join(SHOTS, 'api-docs-authorize.png') });
      await page.locator('.dialog-ux .close-modal').click();
      // The schemas at the end of the page, one opened.
      const models = page.locator('section.models');
      await models.scrollIntoViewIfNeeded();
      const problem = models.locator('article.json-schema-2020-12', { hasText: 'Problem' }).first();
      await problem.locator('.json-schema-2020-12-expand-deep-button').first().click();
      await problem.getByText('detail', { exact: true }).first().waitFor();
      await problem.scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(SHOTS, 'api-docs-schemas.png'), fullPage: false });

      assert.deepEqual(outside, [], 'requests to another host');
      assert.deepEqual(problems, [], 'console errors (a CSP refusal is one)');
    });
  });
});
