// The web client at phone width, its themes, and a person who uses only the
// keyboard and the terminal's /commands.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser, openUser, requireWebSupport, say, startServer, tempDir, waitForLine } from './harness.mjs';

await requireWebSupport();

const dir = tempDir('chat-browser-layout-');
let server, browser;

before(async () => {
  server = await startServer({ db: path.join(dir, 'chat.db') });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('at 375 px wide nothing overflows and the conversation list folds behind a button', async () => {
  const page = await openUser(browser, server.url, 'phoebe', { viewport: { width: 375, height: 667 } });
  await say(page, 'a long line from a phone: ' + 'word '.repeat(60) + 'https://example.invalid/' + 'x'.repeat(120));
  await waitForLine(page, 'a long line from a phone');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 375), 'no horizontal scrolling');
  assert.equal(await page.locator('#sidebar').isVisible(), false);
  await page.locator('#menu-button').click();
  assert.equal(await page.locator('#menu-button').getAttribute('aria-expanded'), 'true');
  assert.equal(await page.locator('#sidebar').isVisible(), true);
  await page.keyboard.press('Escape');
  assert.equal(await page.locator('#sidebar').isVisible(), false);
  await page.screenshot({ path: path.join(dir, 'phone.png') });
});

test('light and dark themes: the system\'s by default, the toggle switches and is remembered', async () => {
  const page = await openUser(browser, server.url, 'dora', { colorScheme: 'dark' });
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(await background(), 'rgb(30, 30, 30)', 'dark, as the system prefers');
  await page.locator('#theme-button').click();
  assert.equal(await background(), 'rgb(253, 253, 252)');
  assert.equal(await page.locator('#theme-button').getAttribute('aria-label'), 'Switch to dark theme');
  await page.reload();
  await page.locator('#app').waitFor({ state: 'visible' });
  assert.equal(await background(), 'rgb(253, 253, 252)', 'the choice outlives a reload (and the reload logs back in)');
});

test('keyboard only: commands in the message box, Alt+arrows between conversations', async () => {
  const page = await openUser(browser, server.url, 'kay');
  const other = await openUser(browser, server.url, 'otto');
  const input = page.locator('#input');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'input', 'the message box has the focus after login');
  await page.keyboard.type('/join #keys');
  await page.keyboard.press('Enter');
  await page.locator('#conversation-title', { hasText: '#keys' }).waitFor({ timeout: 10000 });
  await page.keyboard.type('/topic only keyboards here');
  await page.keyboard.press('Enter');
  await page.locator('#conversation-topic', { hasText: 'only keyboards here' }).waitFor({ timeout: 10000 });
  await page.keyboard.type('/me types without a mouse');
  await page.keyboard.press('Enter');
  await waitForLine(page, '* kay types without a mouse');
  await page.keyboard.type('/help');
  await page.keyboard.press('Enter');
  await waitForLine(page, '/search [#room] words');
  await page.keyboard.type('/nosuch');
  await page.keyboard.press('Enter');
  await waitForLine(page, 'unknown command /nosuch');
  await page.keyboard.press('Alt+ArrowUp');
  await page.locator('#conversation-title', { hasText: '#lobby' }).waitFor({ timeout: 5000 });
  await page.keyboard.press('Alt+ArrowDown');
  await page.locator('#conversation-title', { hasText: '#keys' }).waitFor({ timeout: 5000 });
  await page.keyboard.press('ArrowUp');
  assert.equal(await input.inputValue(), '/nosuch', 'Up recalls the last line');
  await input.fill('');
  await page.keyboard.type('/msg otto psst, otto');
  await page.keyboard.press('Enter');
  await other.locator('#dm-list .badge').waitFor({ timeout: 10000 });
  await page.keyboard.type('/away at lunch');
  await page.keyboard.press('Enter');
  await waitForLine(page, 'you are away: at lunch');
  await page.keyboard.type('/who');
  await page.keyboard.press('Enter');
  await waitForLine(page, 'kay (away: at lunch)');
  await page.keyboard.type('/search psst');
  await page.keyboard.press('Enter');
  await waitForLine(page, '1 result for');
  await page.keyboard.type('/leave #keys');
  await page.keyboard.press('Enter');
  await page.locator('#conversation-title', { hasText: /^#lobby$/ }).waitFor({ timeout: 10000 });
  assert.equal(await page.locator('#room-list .name', { hasText: '#keys' }).count(), 0);
  assert.deepEqual(page.errors, []);
});
