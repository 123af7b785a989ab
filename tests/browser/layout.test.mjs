// The web client at phone width, its themes and landmarks, a person who uses
// only the keyboard and the terminal's /commands, names: guest keys and accounts.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser, openUser, requireWebSupport, say, startServer, tcpClient, tempDir, waitForLine } from './harness.mjs';

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

test('landmarks: the messages are a log (a live region), the conversation list a navigation', async () => {
  const page = await openUser(browser, server.url, 'ariadne');
  assert.equal(await page.getByRole('log').count(), 1);
  assert.equal(await page.locator('#messages').getAttribute('aria-live'), 'polite');
  assert.equal(await page.getByRole('navigation', { name: 'Conversations' }).count(), 1);
  assert.equal(await page.getByRole('textbox', { name: 'Message', exact: true }).count(), 1);
});

test('a guest name: a stranger cannot take it while it is online, a reload of the same tab can', async () => {
  const gina = await openUser(browser, server.url, 'gina');
  const context = await browser.newContext();
  const stranger = await context.newPage();
  await stranger.goto(server.url);
  await stranger.fill('#login-name', 'gina');
  await stranger.press('#login-name', 'Enter');
  await stranger.locator('#login-error', { hasText: 'Someone else is using that name' }).waitFor({ timeout: 10000 });
  await say(gina, 'before the reload');
  await gina.reload();
  await gina.locator('#app').waitFor({ state: 'visible', timeout: 10000 });
  await say(gina, 'after the reload');
  await waitForLine(gina, 'after the reload');
  assert.equal(await gina.locator('#message-list .error').count(), 0);
});

test('a registered name asks for its password; a wrong one is refused, the right one logs in', async () => {
  const tcp = await tcpClient(server.port);
  assert.equal((await tcp.request({ type: 'hello', version: 1, user: 'regina' })).type, 'welcome');
  assert.equal((await tcp.request({ type: 'register', password: 'correct horse' })).type, 'ok');
  tcp.close();
  const page = await (await browser.newContext()).newPage();
  await page.goto(server.url);
  await page.fill('#login-name', 'regina');
  await page.press('#login-name', 'Enter');
  await page.locator('#login-error', { hasText: 'registered' }).waitFor({ timeout: 10000 });
  await page.locator('#login-password').fill('wrong horse');
  await page.press('#login-password', 'Enter');
  await page.locator('#login-error', { hasText: 'Wrong password' }).waitFor({ timeout: 10000 });
  await page.locator('#login-password').fill('correct horse');
  await page.press('#login-password', 'Enter');
  await page.locator('#app').waitFor({ state: 'visible', timeout: 10000 });
  assert.equal(await page.evaluate(() => JSON.stringify(sessionStorage).includes('correct horse')), false);
  assert.equal(await page.evaluate(() => JSON.stringify(localStorage).includes('correct horse')), false);
});
