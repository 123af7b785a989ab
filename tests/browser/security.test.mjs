// The web transport's security, seen from outside: a WebSocket from another
// origin is refused (a raw upgrade and a real page on another origin), and
// the page is served with a strict Content-Security-Policy.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { launchBrowser, requireWebSupport, startServer, tempDir } from './harness.mjs';

await requireWebSupport();

const dir = tempDir('chat-browser-security-');
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

/** A raw WebSocket upgrade of /ws with `origin`; resolves with the HTTP status. */
function upgrade(origin) {
  return new Promise((resolve, reject) => {
    const headers = { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
                      'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64') };
    if (origin) headers.Origin = origin;
    const req = http.request({ host: '127.0.0.1', port: server.webPort, path: '/ws', headers });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve(res.statusCode); });
    req.on('response', (res) => { res.resume(); resolve(res.statusCode); });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('no answer to the upgrade')));
    req.end();
  });
}

test('a WebSocket upgrade from a foreign Origin is refused; the own origin is accepted', async () => {
  assert.equal(await upgrade(`http://127.0.0.1:${server.webPort}`), 101);
  const refused = await upgrade('http://evil.example');
  assert.ok(refused >= 400 && refused < 500, `refused with a 4xx status, not ${refused}`);
});

test('a page on another origin cannot open the chat WebSocket', async () => {
  const foreign = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>another site</title><p>another site</p>');
  });
  await new Promise((r) => foreign.listen(0, '127.0.0.1', r));
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`http://localhost:${foreign.address().port}/`);
    const attempt = (url) => page.evaluate((u) => new Promise((resolve) => {
      const ws = new WebSocket(u);
      const timer = setTimeout(() => resolve('no answer'), 8000);
      ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', id: 1, version: 1, user: 'mallory' }));
      ws.onmessage = (e) => { clearTimeout(timer); resolve(JSON.parse(e.data).type); };
      ws.onclose = () => { clearTimeout(timer); resolve('refused'); };
    }), url);
    assert.equal(await attempt(`ws://127.0.0.1:${server.webPort}/ws`), 'refused');
  } finally {
    foreign.close();
  }
});

test('the client is served with a strict CSP and nosniff, and loads nothing from elsewhere', async () => {
  const res = await fetch(server.url);
  assert.equal(res.status, 200);
  const csp = res.headers.get('content-security-policy') || '';
  assert.match(csp, /default-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  const page = await (await browser.newContext()).newPage();
  const requests = [];
  const violations = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text()); });
  await page.goto(server.url);
  await page.locator('#login-name').waitFor();
  const origin = new URL(server.url).origin;
  assert.deepEqual(requests.filter((u) => !u.startsWith(origin)), []);
  assert.deepEqual(violations, [], 'the page needs nothing the CSP forbids');
});
