// Typing indicators and read receipts in the web client (ws-protocol:
// `typing` and `read`): "bob is typing…" appears, expires on its own and
// ends with bob's message; a DM shows "seen"; both settings stop sending.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser, openConversation, openUser, requireWebSupport, say, startServer, tempDir,
         waitForLine, waitUntil } from './harness.mjs';

await requireWebSupport();

const dir = tempDir('chat-browser-receipts-');
let server, browser, alice, bob;

before(async () => {
  server = await startServer({ db: path.join(dir, 'chat.db') });
  browser = await launchBrowser();
  alice = await openUser(browser, server.url, 'alice');
  bob = await openUser(browser, server.url, 'bob');
  await waitForLine(alice, 'bob joined');
  // Everything #typing ever showed on alice's page, to prove an absence.
  await alice.evaluate(() => {
    window.typingShown = [];
    const node = document.getElementById('typing');
    new MutationObserver(() => { if (node.textContent) window.typingShown.push(node.textContent); })
      .observe(node, { childList: true, characterData: true, subtree: true });
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const typingText = (page) => page.locator('#typing').textContent();

test('"bob is typing…" appears while bob types and expires on its own', async () => {
  await bob.locator('#input').pressSequentially('hel');
  const shown = Date.now();
  await alice.locator('#typing', { hasText: 'bob is typing…' }).waitFor({ timeout: 10000 });
  await waitUntil(async () => (await typingText(alice)) === '', 'the typing indicator to expire', 12000);
  const lasted = Date.now() - shown;
  assert.ok(lasted >= 4000, `it stayed for its ttl (6 s), not ${lasted} ms`);
  assert.equal(await typingText(bob), '', 'bob is not told about himself');
});

test("bob's message ends his typing indicator at once", async () => {
  await bob.locator('#input').fill('');
  await bob.locator('#input').pressSequentially('here it ');
  await alice.locator('#typing', { hasText: 'bob is typing…' }).waitFor({ timeout: 10000 });
  const sent = Date.now();
  await bob.locator('#input').pressSequentially('comes');
  await bob.locator('#input').press('Enter');
  await waitForLine(alice, 'here it comes');
  assert.equal(await typingText(alice), '');
  assert.ok(Date.now() - sent < 3000, 'cleared by the message, not by the ttl');
});

test('with "Let others see when I am typing" off, nothing is sent', async () => {
  await bob.locator('.settings summary').click();
  await bob.locator('#setting-typing').uncheck();
  await alice.evaluate(() => { window.typingShown = []; });
  await bob.locator('#input').pressSequentially('quietly typed');
  await bob.locator('#input').press('Enter');
  // A typing event would have been sent before the message, on the same connection.
  await waitForLine(alice, 'quietly typed');
  assert.deepEqual(await alice.evaluate(() => window.typingShown), []);
  await bob.locator('#setting-typing').check();
});

test('a DM shows "seen" once the other person has looked at it', async () => {
  await say(alice, '/msg bob are you there?');
  const asked = await waitForLine(alice, 'are you there?');
  await bob.locator('#dm-list .badge').waitFor({ timeout: 10000 });
  assert.equal(await alice.locator('#message-list .seen').count(), 0, 'not seen before bob opens it');
  await openConversation(bob, 'alice');
  await waitForLine(bob, 'are you there?');
  await alice.locator('#message-list .seen').waitFor({ timeout: 10000 });
  assert.equal(await asked.evaluate((li) => li.nextElementSibling?.className), 'seen', '"seen" is under that message');
});

test('with read receipts off, a DM is not marked seen', async () => {
  await bob.locator('#setting-read').uncheck();
  await say(alice, 'second question');
  await waitForLine(bob, 'second question');
  await say(bob, 'an answer');  // sent after any receipt bob would have sent
  await waitForLine(alice, 'an answer');
  const last = alice.locator('#message-list li.msg', { hasText: 'second question' });
  assert.notEqual(await last.evaluate((li) => li.nextElementSibling?.className), 'seen');
  assert.equal(await alice.locator('#message-list .seen').count(), 1, 'still only under the first question');
  // Turned on again, bob's page says how far he has read.
  await bob.locator('#setting-read').check();
  await waitUntil(() => last.evaluate((li) => li.nextElementSibling?.className === 'seen'), '"seen" under the second question');
});
