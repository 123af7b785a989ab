// The WebSocket connection to the chat server: one protocol JSON object per
// text message (docs/protocol.md, "WebSocket"). It says hello, matches
// answers to requests by id, answers pings, and reconnects with backoff
// (1 s doubling to 30 s, with jitter) once a session has been welcomed.

import { nameKey, reconnectDelay } from './text.js';

const KEY_PREFIX = 'chat.key.';

/** The guest key of `name` kept for reconnects in this tab (sessionStorage). */
function storedKey(name) {
  try { return sessionStorage.getItem(KEY_PREFIX + nameKey(name)) || undefined; } catch { return undefined; }
}
function storeKey(name, key) {
  try { if (key) sessionStorage.setItem(KEY_PREFIX + nameKey(name), key); } catch { /* storage off */ }
}

export class Connection {
  /**
   * handlers: onWelcome(welcome, reconnected), onHelloError(error),
   * onEvent(object), onState(state: 'connecting'|'online'|'offline', detail).
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.socket = null;
    this.nextId = 1;
    this.pending = new Map();
    this.user = '';
    this.password = undefined;  // kept in memory only, for reconnects
    this.welcomed = false;
    this.everWelcomed = false;
    this.attempt = 0;
    this.timer = null;
    this.closedAt = 0;
  }

  get url() {
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  }

  /** Connects (or says hello again on an open, unwelcomed socket) as `user`. */
  login(user, password) {
    this.user = user;
    this.password = password || undefined;
    if (this.socket && this.socket.readyState === WebSocket.OPEN && !this.welcomed) {
      this.sendHello();
      return;
    }
    this.open();
  }

  open() {
    clearTimeout(this.timer);
    this.handlers.onState('connecting');
    this.autoReconnect = this.everWelcomed;
    const socket = new WebSocket(this.url);
    this.socket = socket;
    this.welcomed = false;
    socket.addEventListener('open', () => this.sendHello());
    socket.addEventListener('message', (e) => this.receive(e.data));
    socket.addEventListener('close', (e) => { if (this.socket === socket) this.closed(e); });
  }

  sendHello() {
    const hello = { type: 'hello', version: 1, user: this.user, client: 'chat-web/1' };
    const key = storedKey(this.user);
    if (key) hello.key = key;
    if (this.password !== undefined) hello.password = this.password;
    this.request(hello).then((welcome) => {
      this.welcomed = true;
      const reconnected = this.everWelcomed;
      this.everWelcomed = true;
      this.attempt = 0;
      this.autoReconnect = true;
      this.user = welcome.user;
      storeKey(welcome.user, welcome.key);
      this.handlers.onState('online', reconnected && this.closedAt ? Date.now() - this.closedAt : 0);
      this.handlers.onWelcome(welcome, reconnected);
    }, (error) => {
      if (error.code === 'offline') return;  // the close reports it
      this.autoReconnect = false;  // a person must answer (a password, another name)
      this.handlers.onHelloError(error);
    });
  }

  /** Sends a request; resolves with its ok (or welcome), rejects with its error object. */
  request(object) {
    const id = this.nextId++;
    const message = { ...object, id };
    return new Promise((resolve, reject) => {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
        reject({ type: 'error', code: 'offline', message: 'not connected' });
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify(message));
    });
  }

  receive(data) {
    if (typeof data !== 'string') return;
    let object;
    try { object = JSON.parse(data); } catch { return; }
    if (!object || typeof object !== 'object' || typeof object.type !== 'string') return;
    if (object.type === 'ping') {
      this.socket.send(JSON.stringify({ type: 'pong' }));
      return;
    }
    const waiting = Object.hasOwn(object, 'id') ? this.pending.get(object.id) : undefined;
    if (waiting && (object.type === 'ok' || object.type === 'error' || object.type === 'welcome' || object.type === 'pong')) {
      this.pending.delete(object.id);
      if (object.type === 'error') waiting.reject(object); else waiting.resolve(object);
      return;
    }
    this.handlers.onEvent(object);
  }

  closed(event) {
    for (const { reject } of this.pending.values()) reject({ type: 'error', code: 'offline', message: 'connection lost' });
    this.pending.clear();
    const wasWelcomed = this.welcomed;
    this.welcomed = false;
    this.socket = null;
    if (!this.autoReconnect) {
      this.handlers.onState('offline', event.reason || 'could not connect');
      return;
    }
    if (wasWelcomed) this.closedAt = Date.now();
    const delay = reconnectDelay(this.attempt++);
    this.handlers.onState('offline', `connection lost; reconnecting in ${Math.round(delay / 1000)} s`);
    this.timer = setTimeout(() => this.open(), delay);
  }

  /** Reconnects now instead of waiting for the backoff (e.g. the tab came back online). */
  retryNow() {
    if (!this.socket && this.everWelcomed) this.open();
  }
}
