// What the browser tests share: the real `chat serve --web-port 0` on
// loopback, headless Debian Chromium through playwright-core, and a real
// `chat connect` in a tmux server of its own. Every wait has a deadline;
// nothing sleeps to synchronise.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');
export const chatBinary = process.env.CHAT_BINARY || path.join(repoRoot, 'build/chat');
export const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

/**
 * Exits 77 (CTest's skip) with a clear message when the chat binary has no
 * web support; fails when something the tests need is missing.
 */
export async function requireWebSupport() {
  if (!fs.existsSync(chatBinary)) throw new Error(`no chat binary at ${chatBinary} (build it, or set CHAT_BINARY)`);
  const help = spawnSync(chatBinary, ['serve', '--help'], { encoding: 'utf8' });
  if (!/--web-port/.test(help.stdout + help.stderr)) {
    console.log(`SKIPPED: ${chatBinary} was built without web support (chat serve --help has no --web-port); ` +
                'the browser tests need it');
    process.exit(77);
  }
  if (!fs.existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: run scripts/dev deps (it installs Debian's chromium)`);
  try {
    await import('playwright-core');
  } catch {
    throw new Error('playwright-core is not installed in tests/browser: run scripts/dev deps (npm ci)');
  }
}

/** Polls `check` (sync or async) until it returns a truthy value, or throws after `ms`. */
export async function waitUntil(check, what, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Starts `chat serve` on 127.0.0.1 with `--web-port` (0 unless `webPort`),
 * `--port` (0 unless `port`) and `--db`; resolves once both "listening" lines
 * are printed. stop() sends SIGTERM and waits for the exit.
 */
export async function startServer({ db, port = 0, webPort = 0, args = [] }) {
  const child = spawn(chatBinary, ['serve', '--host', '127.0.0.1', '--port', String(port), '--web-port', String(webPort),
                                   '--db', db, '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  let exited = null;
  const exit = new Promise((resolve) => child.on('exit', (code, signal) => { exited = { code, signal }; resolve(exited); }));
  const ports = await waitUntil(() => {
    if (exited) throw new Error(`chat serve exited (${JSON.stringify(exited)}) before listening:\n${out}${err}`);
    const tcp = /^listening on [^\n]*:(\d+)$/m.exec(out);
    const web = /^listening for web on [^\n]*:(\d+)$/m.exec(out);
    return tcp && web ? { port: Number(tcp[1]), webPort: Number(web[1]) } : null;
  }, 'chat serve to print its listening lines', 15000);
  return {
    ...ports,
    url: `http://127.0.0.1:${ports.webPort}/`,
    output: () => out + err,
    async stop() {
      if (!exited) child.kill('SIGTERM');
      const result = await Promise.race([exit, new Promise((r) => setTimeout(() => r(null), 10000))]);
      if (!result) { child.kill('SIGKILL'); await exit; }
      // A sanitizer's report (TSan exits 66) or a crash is only in the
      // server's own output: show it with the failing exit.
      if (exited.code !== 0) process.stderr.write(`chat serve exited ${JSON.stringify(exited)}; its output:\n${out}${err}\n`);
      return exited;
    },
  };
}

/** Headless Debian Chromium (root needs --no-sandbox). */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/**
 * A page of its own (context: its own storage) for `name`, logged in to the
 * web client at `url`. Records dialogs (alert & co.) in page.dialogs.
 */
export async function openUser(browser, url, name, { viewport = { width: 1280, height: 800 }, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  page.dialogs = [];
  page.on('dialog', (dialog) => { page.dialogs.push(dialog.message()); dialog.dismiss().catch(() => {}); });
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(String(error)));
  await page.goto(url);
  await page.fill('#login-name', name);
  await page.press('#login-name', 'Enter');
  await page.locator('#app').waitFor({ state: 'visible', timeout: 10000 });
  return page;
}

/** Types `text` into the message box and presses Enter, as a person does. */
export async function say(page, text) {
  await page.locator('#input').fill(text);
  await page.locator('#input').press('Enter');
}

/** Waits until a line of the shown conversation contains `text`; returns its locator. */
export async function waitForLine(page, text, ms = 10000) {
  const line = page.locator('#message-list li.msg', { hasText: text }).last();
  await line.waitFor({ state: 'visible', timeout: ms });
  return line;
}

/** Clicks the conversation called `name` ("#lobby", "bob") in the sidebar. */
export async function openConversation(page, name) {
  await page.locator('#room-list button, #dm-list button', { has: page.locator('.name', { hasText: name }) }).first().click();
  await page.locator('#conversation-title', { hasText: name }).waitFor({ timeout: 5000 });
}

/** `chat connect` in a tmux server of its own (a unique -L socket), 160x40. */
export class Terminal {
  constructor(port, user) {
    this.socket = `chat-browser-${process.pid}-${user}`;
    this.dir = tempDir('chat-term-');
    const env = `env -u NO_COLOR LANG=C.UTF-8 TERM=xterm-256color XDG_STATE_HOME=${this.dir} XDG_CONFIG_HOME=${this.dir} XDG_RUNTIME_DIR=${this.dir}`;
    const command = `${env} ${chatBinary} connect --host 127.0.0.1 --port ${port} --user ${user} --no-reconnect --timestamps off`;
    this.tmux(['-f', '/dev/null', 'new-session', '-d', '-x', '160', '-y', '40', command]);
  }

  tmux(args) {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr}`);
    return r.stdout;
  }

  type(text) { this.tmux(['send-keys', '-t', '0', '-l', text]); }
  enter() { this.tmux(['send-keys', '-t', '0', 'Enter']); }
  sayLine(text) { this.type(text); this.enter(); }
  screen({ escapes = false } = {}) {
    return this.tmux(['capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', '0', '-S', '-200']);
  }
  waitForText(text, ms = 10000) {
    return waitUntil(() => this.screen().includes(text), `"${text}" on ${this.socket}'s screen:\n${this.screen()}`, ms);
  }

  close() {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A protocol client over TCP (length-prefixed JSON frames), for setting
 * things up beside the browsers: request() resolves with the answer to it.
 */
export async function tcpClient(port) {
  const net = await import('node:net');
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  let buffer = Buffer.alloc(0);
  const waiting = new Map();
  let nextId = 1;
  socket.on('data', (data) => {
    buffer = Buffer.concat([buffer, data]);
    while (buffer.length >= 4 && buffer.length >= 4 + buffer.readUInt32BE(0)) {
      const object = JSON.parse(buffer.subarray(4, 4 + buffer.readUInt32BE(0)).toString('utf8'));
      buffer = buffer.subarray(4 + buffer.readUInt32BE(0));
      if (object.id !== undefined && waiting.has(object.id)) { waiting.get(object.id)(object); waiting.delete(object.id); }
    }
  });
  return {
    request(object) {
      const id = nextId++;
      const payload = Buffer.from(JSON.stringify({ ...object, id }));
      const header = Buffer.alloc(4);
      header.writeUInt32BE(payload.length);
      socket.write(Buffer.concat([header, payload]));
      return new Promise((resolve, reject) => {
        waiting.set(id, resolve);
        setTimeout(() => reject(new Error(`no answer to ${object.type}`)), 10000);
      });
    },
    close() { socket.destroy(); },
  };
}
