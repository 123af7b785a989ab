// History survives a restart of `chat serve` on the same --db file: an open
// page reconnects by itself, and a new page scrolls back past its backlog
// through `history`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser, openUser, requireWebSupport, say, startServer, tempDir, waitForLine, waitUntil } from './harness.mjs';

await requireWebSupport();

const dir = tempDir('chat-browser-history-');
const db = path.join(dir, 'chat.db');
const BACKLOG = 5;
let server, browser;

before(async () => {
  server = await startServer({ db, args: ['--backlog', String(BACKLOG)] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const shownTexts = (page) => page.locator('#message-list li.msg .text').allTextContents();

test('history scrolls back after a server restart', async () => {
  const alice = await openUser(browser, server.url, 'alice');
  const lines = Array.from({ length: 12 }, (_, i) => `stored line ${String(i + 1).padStart(2, '0')}`);
  for (const line of lines) await say(alice, line);
  await waitForLine(alice, lines[lines.length - 1]);

  const { port, webPort } = server;
  assert.deepEqual(await server.stop(), { code: 0, signal: null }, 'the server stops cleanly on SIGTERM');
  await alice.locator('#status.offline').waitFor({ timeout: 10000 });
  // The same ports, so that the open page finds the server again.
  server = await startServer({ db, port, webPort, args: ['--backlog', String(BACKLOG)] });

  // The open page comes back by itself (backoff from 1 s) and says so.
  await waitForLine(alice, 'reconnected after', 20000);
  await say(alice, 'after the restart');
  await waitForLine(alice, 'after the restart');

  // A new visitor gets the backlog: only the last BACKLOG events...
  const bob = await openUser(browser, server.url, 'bob');
  await waitForLine(bob, 'after the restart');
  const first = await shownTexts(bob);
  assert.equal(first.length, BACKLOG);
  assert.equal(first.includes(lines[0]), false, 'the oldest line is not in the backlog');
  // ...and scrolls back to the rest with the keyboard (the "Load older" button).
  const older = bob.locator('#older-button');
  await older.waitFor({ state: 'visible', timeout: 5000 });
  await older.focus();
  await bob.keyboard.press('Enter');
  await waitForLine(bob, lines[0]);
  assert.deepEqual(await shownTexts(bob), [...lines, 'after the restart'], 'every stored line, once, in order');
  assert.equal(await older.isVisible(), false, 'nothing older is left');
});
