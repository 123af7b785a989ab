// The chat web client: state of the conversations, the protocol events,
// the /commands and the page's controls. Modules: connection.js (the
// WebSocket), commands.js (parsing input), view.js (DOM of a line),
// text.js (names, colours, visible text, times).

import { Connection } from './connection.js';
import { helpText, parseInput } from './commands.js';
import { nameKey, mentions, visibleText } from './text.js';
import { el, eventLine, nameNode, noticeLine } from './view.js';

const $ = (id) => document.getElementById(id);
const TYPING_EVERY_MS = 3000;
const READ_EVERY_MS = 1000;
const HISTORY_PAGE = 50;

const settings = {
  get typing() { return localStorage.getItem('chat.typing') !== 'false'; },
  set typing(on) { localStorage.setItem('chat.typing', String(on)); },
  get read() { return localStorage.getItem('chat.read') !== 'false'; },
  set read(on) { localStorage.setItem('chat.read', String(on)); },
};

const state = {
  self: '',
  defaultRoom: '#lobby',
  maxText: 4096,
  convs: new Map(),    // key ('#room' or '@name', case-folded) -> conversation
  current: '',
  otherRooms: [],      // {room, members, topic} of rooms we are not in
  typingUnsupported: false,
  readUnsupported: false,
  sentLines: [],
  recall: -1,
};

// ---- conversations -------------------------------------------------------

const roomKey = (room) => nameKey(room);
const dmKey = (name) => '@' + nameKey(name);

/** The conversation for `key`, created (empty) when new. */
function conversation(kind, name) {
  const key = kind === 'room' ? roomKey(name) : dmKey(name);
  let conv = state.convs.get(key);
  if (!conv) {
    conv = { key, kind, name, topic: '', joined: kind === 'dm', items: [], ids: new Set(), more: false,
             loading: false, unread: 0, mentioned: false, firstUnread: 0, typing: new Map(), seenUpTo: 0,
             lastReadSent: 0, lastTypingSent: 0, historyAsked: false };
    state.convs.set(key, conv);
  }
  return conv;
}

const target = (conv) => (conv.kind === 'room' ? conv.name : '@' + conv.name);
const currentConv = () => state.convs.get(state.current);

/** The conversation a message event belongs to. */
function convOfMessage(event) {
  const to = String(event.to || '');
  if (to.startsWith('#')) return conversation('room', to);
  const from = String(event.from || '');
  return conversation('dm', nameKey(from) === nameKey(state.self) ? to.slice(1) : from);
}

/**
 * Adds server events (ordered by msg_id) to a conversation, skipping those it
 * has; live ones count as unread when not looked at. Returns those added.
 */
function addEvents(conv, events, { stored }) {
  const added = [];
  for (const event of events) {
    if (!event || typeof event !== 'object') continue;
    const id = Number.isSafeInteger(event.msg_id) ? event.msg_id : null;
    if (id !== null && conv.ids.has(id)) continue;
    if (id !== null) conv.ids.add(id);
    const item = { event, stored };
    // Keep msg_id order: walk back over items with larger ids.
    let at = conv.items.length;
    while (id !== null && at > 0 && (conv.items[at - 1].event?.msg_id ?? 0) > id) at--;
    conv.items.splice(at, 0, item);
    added.push({ item, at });
  }
  return added;
}

function addLocal(conv, text, kind = 'notice') {
  conv = conv || currentConv();
  if (!conv) return;
  const item = { local: text, kind, ts: Date.now() };
  conv.items.push(item);
  if (conv.key === state.current) appendLine(lineOf(item));
}

function lineOf(item) {
  if (item.local !== undefined) return noticeLine(item.local, item.kind, item.ts);
  return eventLine(item.event, { self: state.self, stored: item.stored });
}

// ---- rendering -----------------------------------------------------------

const list = $('message-list');
const scroller = $('messages');
const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 60;

function appendLine(node) {
  if (!node) return;
  const stick = nearBottom();
  list.append(node);
  if (stick) scroller.scrollTop = scroller.scrollHeight;
  updateSeen();
}

/** Draws the current conversation again; `keepFromBottom` keeps the view where it was after older lines came in. */
function renderConversation(keepFromBottom) {
  const conv = currentConv();
  list.replaceChildren();
  if (!conv) return;
  for (const item of conv.items) {
    if (conv.firstUnread && item.event?.msg_id === conv.firstUnread) list.append(el('li', 'unread-marker', 'new messages'));
    const node = lineOf(item);
    if (node) list.append(node);
  }
  $('older-button').hidden = !conv.more;
  if (keepFromBottom === undefined) scroller.scrollTop = scroller.scrollHeight;
  else scroller.scrollTop = scroller.scrollHeight - keepFromBottom;
  updateSeen();
}

/** "seen" under the last own DM message whose msg_id is at most the other's receipt. */
function updateSeen() {
  for (const old of list.querySelectorAll('.seen')) old.remove();
  const conv = currentConv();
  if (!conv || conv.kind !== 'dm' || !conv.seenUpTo) return;
  const own = [...list.querySelectorAll('li.msg.own[data-msg-id]')]
    .filter((li) => Number(li.dataset.msgId) <= conv.seenUpTo);
  const last = own[own.length - 1];
  if (last) last.after(el('li', 'seen', 'seen'));
}

function updateTyping() {
  const conv = currentConv();
  const now = Date.now();
  const names = [];
  if (conv) {
    for (const [key, entry] of conv.typing) {
      if (entry.until <= now) conv.typing.delete(key); else names.push(visibleText(entry.name));
    }
  }
  $('typing').textContent = names.length === 0 ? '' : names.length === 1 ? `${names[0]} is typing…`
    : names.length === 2 ? `${names[0]} and ${names[1]} are typing…` : 'several people are typing…';
}

function updateHeader() {
  const conv = currentConv();
  $('conversation-title').textContent = conv ? visibleText(conv.kind === 'room' ? conv.name : '@' + conv.name) : 'chat';
  $('conversation-topic').textContent = conv && conv.kind === 'room' ? visibleText(conv.topic) : '';
  document.title = (conv ? visibleText(target(conv)) + ' — ' : '') + 'chat';
}

function convButton(conv) {
  const button = el('button');
  button.type = 'button';
  if (conv.key === state.current) button.setAttribute('aria-current', 'true');
  if (conv.kind === 'room') {
    button.append(el('span', 'name', visibleText(conv.name)), el('span', 'sub', visibleText(conv.topic)));
  } else {
    const name = nameNode(conv.name, state.self);
    name.classList.add('name');
    button.append(name, el('span', 'sub'));
  }
  if (conv.unread > 0) {
    const badge = el('span', conv.mentioned ? 'badge mention' : 'badge', String(conv.unread));
    badge.setAttribute('aria-label', `${conv.unread} unread`);
    button.append(badge);
  }
  button.addEventListener('click', () => { switchTo(conv.key); closeMenu(); $('input').focus(); });
  const li = el('li');
  li.append(button);
  return li;
}

function updateLists() {
  const convs = [...state.convs.values()];
  const byName = (a, b) => nameKey(a.name).localeCompare(nameKey(b.name));
  $('room-list').replaceChildren(...convs.filter((c) => c.kind === 'room' && c.joined).sort(byName).map(convButton));
  $('dm-list').replaceChildren(...convs.filter((c) => c.kind === 'dm').sort(byName).map(convButton));
  $('other-room-list').replaceChildren(...state.otherRooms.map((r) => {
    const button = el('button');
    button.type = 'button';
    button.append(el('span', 'name', visibleText(r.room)), el('span', 'sub', `${r.members} · ${visibleText(r.topic)}`));
    button.addEventListener('click', () => joinRoom(r.room));
    const li = el('li');
    li.append(button);
    return li;
  }));
  $('other-rooms-heading').hidden = state.otherRooms.length === 0;
  const unread = convs.reduce((n, c) => n + c.unread, 0);
  document.title = (unread ? `(${unread}) ` : '') + (currentConv() ? visibleText(target(currentConv())) + ' — ' : '') + 'chat';
}

function switchTo(key) {
  const conv = state.convs.get(key);
  if (!conv) return;
  state.current = key;
  conv.unread = 0;
  conv.mentioned = false;
  updateHeader();
  renderConversation();
  conv.firstUnread = 0;
  updateLists();
  updateTyping();
  if (conv.kind === 'dm' && !conv.historyAsked) loadLatest(conv);
  sendRead(conv);
}

// ---- requests ------------------------------------------------------------

const connection = new Connection({ onWelcome, onHelloError, onEvent, onState });

function request(object) {
  return connection.request(object).catch((error) => {
    if (error && error.code !== 'offline') addLocal(null, `${error.code}: ${visibleText(error.message || '')}`, 'error');
    throw error;
  });
}
const quiet = (promise) => promise.catch(() => undefined);

async function refreshRooms() {
  const ok = await quiet(connection.request({ type: 'rooms' }));
  if (!ok || !Array.isArray(ok.rooms)) return;
  const rooms = ok.rooms.filter((r) => r && typeof r.room === 'string');
  for (const r of rooms) {
    const conv = state.convs.get(roomKey(r.room));
    if (conv) conv.topic = typeof r.topic === 'string' ? r.topic : conv.topic;
  }
  state.otherRooms = rooms.filter((r) => !state.convs.get(roomKey(r.room))?.joined)
    .map((r) => ({ room: r.room, members: Number(r.members) || 0, topic: typeof r.topic === 'string' ? r.topic : '' }));
  updateLists();
  updateHeader();
}

async function joinRoom(room) {
  const ok = await quiet(request({ type: 'join', room }));
  if (!ok) return;
  const conv = conversation('room', ok.room || room);
  conv.joined = true;
  if (typeof ok.topic === 'string') conv.topic = ok.topic;
  switchTo(conv.key);
  refreshRooms();
}

async function leaveRoom(room) {
  const ok = await quiet(request({ type: 'leave', room }));
  if (!ok) return;
  const conv = state.convs.get(roomKey(ok.left || room));
  if (conv) state.convs.delete(conv.key);
  const next = state.convs.get(roomKey(ok.room || state.defaultRoom)) || conversation('room', ok.room || state.defaultRoom);
  next.joined = true;
  switchTo(next.key);
  refreshRooms();
}

/** The newest page of a private conversation (DMs have no backlog). */
async function loadLatest(conv) {
  conv.historyAsked = true;
  const ok = await quiet(connection.request({ type: 'history', user: conv.name, limit: HISTORY_PAGE }));
  if (!ok || !Array.isArray(ok.events)) return;
  conv.more = ok.more === true;
  if (addEvents(conv, ok.events, { stored: true }).length && conv.key === state.current) renderConversation();
  sendRead(conv);
}

/** Scroll-back: the page of events before the oldest one shown. */
async function loadOlder(conv = currentConv()) {
  if (!conv || !conv.more || conv.loading) return;
  const first = conv.items.find((i) => Number.isSafeInteger(i.event?.msg_id));
  conv.loading = true;
  const ask = { type: 'history', limit: HISTORY_PAGE, before: first ? first.event.msg_id : 0 };
  if (conv.kind === 'room') ask.room = conv.name; else ask.user = conv.name;
  const ok = await quiet(request(ask));
  conv.loading = false;
  if (!ok || !Array.isArray(ok.events)) return;
  conv.more = ok.more === true;
  const fromBottom = scroller.scrollHeight - scroller.scrollTop;
  addEvents(conv, ok.events, { stored: true });
  if (conv.key === state.current) renderConversation(fromBottom);
}

/**
 * Tells the server how far the shown conversation has been read (`read`):
 * DMs show "seen" to the other person (sent at once, so that it is on the
 * wire before anything this page sends next); rooms move the read marker, at
 * most once a second (later ones wait for the second to pass).
 */
function sendRead(conv) {
  if (!conv || !settings.read || state.readUnsupported || !connection.welcomed) return;
  if (conv.key !== state.current || document.visibilityState !== 'visible') return;
  let last = 0;
  for (const item of conv.items) {
    const e = item.event;
    if (e?.type === 'message' && Number.isSafeInteger(e.msg_id) && nameKey(e.from) !== nameKey(state.self)) last = Math.max(last, e.msg_id);
  }
  if (last <= conv.lastReadSent) return;
  const wait = conv.kind === 'room' ? (conv.lastReadAt || 0) + READ_EVERY_MS - Date.now() : 0;
  if (wait > 0) {
    if (!conv.readTimer) conv.readTimer = setTimeout(() => { conv.readTimer = null; sendRead(conv); }, wait);
    return;
  }
  conv.lastReadSent = last;
  conv.lastReadAt = Date.now();
  connection.request({ type: 'read', to: target(conv), msg_id: last }).catch((error) => {
    if (unknownType(error)) state.readUnsupported = true;  // a server without read receipts
  });
}

/** The answer of a server that does not know the request (an older one). */
const unknownType = (error) => error?.code === 'bad_request' && /unknown message type/.test(String(error.message));

function sendTyping() {
  const conv = currentConv();
  const text = $('input').value;
  if (!conv || !settings.typing || state.typingUnsupported || !connection.welcomed) return;
  if (!text.trim() || (text.startsWith('/') && !text.startsWith('//'))) return;
  if (conv.kind === 'room' && !conv.joined) return;
  const now = Date.now();
  if (now - conv.lastTypingSent < TYPING_EVERY_MS) return;
  conv.lastTypingSent = now;
  connection.request({ type: 'typing', to: target(conv) }).catch((error) => {
    if (unknownType(error)) state.typingUnsupported = true;
  });
}

async function sendText(to, text, action = false) {
  const byteLength = new TextEncoder().encode(text).length;
  if (byteLength > state.maxText) {
    addLocal(null, `message too long: ${byteLength} bytes, the server takes ${state.maxText}`, 'error');
    return;
  }
  const message = { type: 'send', to, text };
  if (action) message.action = true;
  const conv = to.startsWith('#') ? state.convs.get(roomKey(to)) : conversation('dm', to.slice(1));
  if (conv) conv.lastTypingSent = 0;
  const ok = await quiet(request(message));
  if (ok && typeof ok.away === 'string' && ok.away) addLocal(conv, `${to.slice(1)} is away: ${ok.away}`);
}

// ---- input and commands --------------------------------------------------

async function runLine(line) {
  const conv = currentConv();
  const command = parseInput(line);
  const say = (text, action) => {
    if (!conv) return;
    // Newlines are not allowed in a message: one message per line.
    for (const part of text.split('\n').filter((p) => p.trim())) sendText(target(conv), part, action);
  };
  switch (command.kind) {
    case 'empty': return;
    case 'invalid': addLocal(conv, command.error, 'error'); return;
    case 'say': say(command.text); return;
    case 'action': say(command.text, true); return;
    case 'direct': {
      const dm = conversation('dm', command.target);
      switchTo(dm.key);
      sendText('@' + command.target, command.text);
      return;
    }
    case 'roomsay': sendText(command.room, command.text); return;
    case 'join': joinRoom(command.room); return;
    case 'leave': {
      const room = command.room || (conv?.kind === 'room' ? conv.name : '');
      if (room) leaveRoom(room); else addLocal(conv, 'usage: /leave #room', 'error');
      return;
    }
    case 'query': switchTo(conversation('dm', command.target).key); updateLists(); return;
    case 'history': loadOlder(); return;
    case 'help': addLocal(conv, helpText(command.target)); return;
    case 'rooms': {
      const ok = await quiet(request({ type: 'rooms' }));
      if (ok) addLocal(conv, (ok.rooms || []).map((r) => `${r.room} (${r.members})${r.topic ? ': ' + r.topic : ''}`).join('\n') || 'no rooms');
      return;
    }
    case 'topic': {
      const room = command.room || (conv?.kind === 'room' ? conv.name : state.defaultRoom);
      const ask = { type: 'topic', room };
      if (command.text !== undefined) ask.topic = command.text;
      const ok = await quiet(request(ask));
      if (ok && command.text === undefined) addLocal(conv, ok.topic ? `topic of ${ok.room}: ${ok.topic}` : `${ok.room} has no topic`);
      return;
    }
    case 'who': {
      const ask = { type: 'who' };
      const room = command.here ? (conv?.kind === 'room' ? conv.name : undefined) : command.room;
      if (room) ask.room = room;
      const ok = await quiet(request(ask));
      if (!ok) return;
      const away = ok.away && typeof ok.away === 'object' ? ok.away : {};
      const users = (ok.users || []).map((u) => (typeof away[u] === 'string' ? `${u} (away: ${away[u]})` : u));
      addLocal(conv, `${room ? 'in ' + room : 'online'}: ${users.join(', ')}`);
      return;
    }
    case 'whois': {
      const ok = await quiet(request({ type: 'whois', user: command.target }));
      if (ok) {
        addLocal(conv, `${ok.user}: in ${(ok.rooms || []).join(', ') || 'no rooms'}; connected since ` +
          `${new Date(ok.since).toLocaleString()}; idle ${Math.round((ok.idle_ms || 0) / 1000)} s` + (ok.away ? `; away: ${ok.away}` : ''));
      }
      return;
    }
    case 'nick': {
      const ok = await quiet(request({ type: 'nick', user: command.target }));
      if (ok && typeof ok.user === 'string') {
        state.self = ok.user;
        connection.user = ok.user;
        if (typeof ok.key === 'string') try { sessionStorage.setItem('chat.key.' + nameKey(ok.user), ok.key); } catch { /* off */ }
        sessionStorage.setItem('chat.name', ok.user);
      }
      return;
    }
    case 'away': {
      const ok = await quiet(request(command.text ? { type: 'away', message: command.text } : { type: 'back' }));
      if (ok) addLocal(conv, ok.away ? `you are away: ${ok.away}` : 'you are back');
      return;
    }
    case 'back': {
      const ok = await quiet(request({ type: 'back' }));
      if (ok) addLocal(conv, 'you are back');
      return;
    }
    case 'search': runSearch(command.text, command.room); return;
  }
}

async function runSearch(text, room) {
  const conv = currentConv();
  const ask = { type: 'search', text, limit: 20 };
  if (room) ask.room = room;
  const ok = await quiet(request(ask));
  if (!ok || !conv) return;
  const results = Array.isArray(ok.results) ? ok.results : [];
  addLocal(conv, `${results.length}${ok.more ? '+' : ''} result${results.length === 1 ? '' : 's'} for “${text}”${room ? ' in ' + room : ''}`);
  if (conv.key !== state.current) return;
  for (const event of results.slice().reverse()) {
    const to = String(event.to || '');
    const label = to.startsWith('#') ? to : '@' + (nameKey(event.from) === nameKey(state.self) ? to.slice(1) : event.from);
    const node = eventLine(event, { self: state.self, stored: true, label });
    if (node) { node.classList.add('result'); delete node.dataset.msgId; appendLine(node); }
  }
}

// ---- protocol events -----------------------------------------------------

function onWelcome(welcome, reconnected) {
  state.self = welcome.user;
  state.defaultRoom = typeof welcome.room === 'string' ? welcome.room : '#lobby';
  if (Number.isSafeInteger(welcome.max_text)) state.maxText = welcome.max_text;
  sessionStorage.setItem('chat.name', welcome.user);
  localStorage.setItem('chat.name', welcome.user);
  const rooms = Array.isArray(welcome.rooms) ? welcome.rooms.filter((r) => typeof r === 'string') : [];
  const had = [...state.convs.values()].filter((c) => c.kind === 'room' && c.joined).map((c) => c.name);
  for (const room of rooms) conversation('room', room).joined = true;
  showApp();
  if (reconnected) {
    // Back into the rooms we were in; the server sends their backlogs.
    for (const room of had) if (!rooms.some((r) => roomKey(r) === roomKey(room))) quiet(connection.request({ type: 'join', room }));
    for (const conv of state.convs.values()) if (conv.kind === 'dm') loadLatest(conv);
  }
  if (!state.current || !state.convs.has(state.current)) switchTo(roomKey(rooms[0] || state.defaultRoom));
  if (!state.convs.has(state.current)) { conversation('room', state.defaultRoom).joined = true; switchTo(roomKey(state.defaultRoom)); }
  if (!reconnected && welcome.motd) addLocal(currentConv(), welcome.motd);
  updateLists();
  refreshRooms();
}

function onHelloError(error) {
  $('app').hidden = true;
  $('login').hidden = false;
  const message = {
    auth_required: 'This name is registered: enter its password.',
    auth_failed: 'Wrong password (or no account with that name).',
    name_in_use: 'Someone else is using that name right now.',
    name_invalid: 'A name is 1 to 32 letters, digits, _ . or -.',
  }[error.code] || visibleText(error.message || error.code || 'refused');
  if (error.code === 'auth_required' || error.code === 'auth_failed') {
    $('password-row').hidden = false;
    $('login-password').focus();
  }
  $('login-error').textContent = message;
  $('login-submit').disabled = false;
}

function onState(kind, detail) {
  const status = $('status');
  status.classList.toggle('offline', kind === 'offline');
  if (kind === 'online') {
    status.textContent = '';
    if (detail) addLocal(currentConv(), `reconnected after ${Math.max(1, Math.round(detail / 1000))} s`);
  } else if (kind === 'connecting') {
    status.textContent = 'connecting…';
  } else {
    status.textContent = visibleText(detail || 'offline');
    if ($('app').hidden) { $('login-error').textContent = 'Could not connect to the server.'; $('login-submit').disabled = false; }
  }
}

function notify(conv, event) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  if (!document.hidden && conv.key === state.current) return;
  const title = conv.kind === 'dm' ? `${visibleText(event.from)} (private)` : `${visibleText(event.from)} in ${visibleText(conv.name)}`;
  const n = new Notification(title, { body: visibleText(event.text), tag: conv.key });
  n.addEventListener('click', () => { window.focus(); switchTo(conv.key); });
}

function onMessage(event) {
  if (typeof event.from !== 'string' || typeof event.to !== 'string' || typeof event.text !== 'string') return;
  const conv = convOfMessage(event);
  conv.typing.delete(nameKey(event.from));
  if (conv.key === state.current) updateTyping();
  const added = addEvents(conv, [event], { stored: false });
  if (!added.length) return;
  const mine = nameKey(event.from) === nameKey(state.self);
  const looking = conv.key === state.current && document.visibilityState === 'visible';
  const important = !mine && (conv.kind === 'dm' || mentions(event.text, state.self));
  if (!mine && !looking) {
    conv.unread++;
    if (important) conv.mentioned = true;
  }
  if (important) notify(conv, event);
  if (conv.key === state.current) {
    if (added[0].at === conv.items.length - 1) appendLine(lineOf(added[0].item)); else renderConversation();
    sendRead(conv);
  }
  updateLists();
}

function onEvent(event) {
  const self = nameKey(state.self);
  switch (event.type) {
    case 'message': onMessage(event); return;
    case 'backlog': {
      if (typeof event.room !== 'string') return;
      const conv = conversation('room', event.room);
      conv.joined = true;
      if (typeof event.topic === 'string') conv.topic = event.topic;
      const fresh = conv.items.length === 0;
      if (fresh) conv.more = event.more === true;
      addEvents(conv, Array.isArray(event.events) ? event.events : [], { stored: true });
      if (conv.key !== state.current && Number.isSafeInteger(event.unread)) {
        conv.unread = event.unread;
        if (fresh && Number.isSafeInteger(event.first_unread)) conv.firstUnread = event.first_unread;
      }
      if (conv.key === state.current) renderConversation();
      updateLists();
      return;
    }
    case 'joined': case 'left': {
      if (typeof event.room !== 'string' || typeof event.user !== 'string') return;
      const conv = conversation('room', event.room);
      if (nameKey(event.user) === self) {
        if (event.type === 'left' && event.reason === 'left') {
          state.convs.delete(conv.key);
          if (state.current === conv.key) switchTo(roomKey(state.defaultRoom));
          updateLists();
          return;
        }
        conv.joined = true;
      }
      if (addEvents(conv, [event], { stored: false }).length && conv.key === state.current) appendLine(lineOf(conv.items[conv.items.length - 1]));
      updateLists();
      return;
    }
    case 'topic': {
      if (typeof event.room !== 'string') return;
      const conv = conversation('room', event.room);
      conv.topic = typeof event.topic === 'string' ? event.topic : '';
      if (addEvents(conv, [event], { stored: false }).length && conv.key === state.current) appendLine(lineOf(conv.items[conv.items.length - 1]));
      updateHeader();
      updateLists();
      return;
    }
    case 'nick': {
      if (typeof event.old !== 'string' || typeof event.new !== 'string') return;
      if (nameKey(event.old) === self) { state.self = event.new; connection.user = event.new; }
      const dm = state.convs.get(dmKey(event.old));
      if (dm && dmKey(event.new) !== dm.key) {
        state.convs.delete(dm.key);
        dm.key = dmKey(event.new);
        dm.name = event.new;
        state.convs.set(dm.key, dm);
        if (state.current === dmKey(event.old)) state.current = dm.key;
      }
      const conv = currentConv();
      if (conv && addEvents(conv, [event], { stored: false }).length) appendLine(lineOf(conv.items[conv.items.length - 1]));
      updateHeader();
      updateLists();
      return;
    }
    case 'typing': {
      if (typeof event.from !== 'string' || typeof event.to !== 'string' || nameKey(event.from) === self) return;
      const conv = event.to.startsWith('#') ? state.convs.get(roomKey(event.to)) : conversation('dm', event.from);
      if (!conv) return;
      const ttl = Math.min(Math.max(Number.isFinite(event.ttl_ms) ? event.ttl_ms : 6000, 0), 30000);
      conv.typing.set(nameKey(event.from), { name: event.from, until: Date.now() + ttl });
      setTimeout(updateTyping, ttl + 50);
      if (conv.key === state.current) updateTyping();
      return;
    }
    case 'read': {
      if (typeof event.from !== 'string' || typeof event.to !== 'string' || !Number.isSafeInteger(event.msg_id)) return;
      if (!event.to.startsWith('@')) return;
      if (nameKey(event.from) === self) {
        // Our own other session has read this conversation.
        const conv = state.convs.get(dmKey(event.to.slice(1)));
        if (conv) { conv.lastReadSent = Math.max(conv.lastReadSent, event.msg_id); conv.unread = 0; conv.mentioned = false; updateLists(); }
        return;
      }
      const conv = conversation('dm', event.from);
      conv.seenUpTo = Math.max(conv.seenUpTo, event.msg_id);
      if (conv.key === state.current) updateSeen();
      updateLists();
      return;
    }
    case 'session': addLocal(null, typeof event.text === 'string' ? event.text : 'another session of yours started'); return;
    case 'shutdown': addLocal(null, `server: ${typeof event.message === 'string' ? event.message : 'shutting down'}`, 'error'); return;
    case 'error': addLocal(null, `${String(event.code)}: ${visibleText(String(event.message || ''))}`, 'error'); return;
    default: return;  // unknown events are ignored (docs/protocol.md)
  }
}

// ---- page controls -------------------------------------------------------

function showApp() {
  $('login').hidden = true;
  $('app').hidden = false;
  $('login-error').textContent = '';
  $('login-submit').disabled = false;
  if (document.activeElement === document.body || !document.activeElement || $('login').contains(document.activeElement)) $('input').focus();
}

function closeMenu() {
  $('app').classList.remove('menu-open');
  $('menu-button').setAttribute('aria-expanded', 'false');
}

function effectiveTheme() {
  const chosen = document.documentElement.dataset.theme;
  if (chosen) return chosen;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function applyTheme(theme) {
  if (theme) document.documentElement.dataset.theme = theme; else delete document.documentElement.dataset.theme;
  $('theme-button').setAttribute('aria-label', effectiveTheme() === 'dark' ? 'Switch to light theme' : 'Switch to dark theme');
}

function stepConversation(delta) {
  const order = [...$('room-list').querySelectorAll('button'), ...$('dm-list').querySelectorAll('button')];
  const keys = [...state.convs.values()].filter((c) => c.kind === 'dm' || c.joined);
  const sorted = [...keys.filter((c) => c.kind === 'room'), ...keys.filter((c) => c.kind === 'dm')]
    .sort((a, b) => (a.kind === b.kind ? nameKey(a.name).localeCompare(nameKey(b.name)) : a.kind === 'room' ? -1 : 1));
  if (!sorted.length || !order.length) return;
  const at = sorted.findIndex((c) => c.key === state.current);
  switchTo(sorted[(at + delta + sorted.length) % sorted.length].key);
}

function setup() {
  applyTheme(localStorage.getItem('chat.theme') || '');
  $('login-name').value = sessionStorage.getItem('chat.name') || localStorage.getItem('chat.name') || '';
  $('setting-typing').checked = settings.typing;
  $('setting-read').checked = settings.read;

  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = $('login-name').value.trim();
    if (!name) return;
    $('login-submit').disabled = true;
    $('login-error').textContent = '';
    const password = $('password-row').hidden ? undefined : $('login-password').value;
    connection.login(name, password);
    $('login-password').value = '';
  });

  const input = $('input');
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const line = input.value;
    if (!line.trim()) return;
    state.sentLines.push(line);
    state.recall = -1;
    input.value = '';
    runLine(line);
  });
  input.addEventListener('input', sendTyping);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); $('composer').requestSubmit(); return; }
    if (e.key === 'ArrowUp' && !e.altKey && (input.value === '' || state.recall >= 0) && state.sentLines.length) {
      e.preventDefault();
      state.recall = state.recall < 0 ? state.sentLines.length - 1 : Math.max(0, state.recall - 1);
      input.value = state.sentLines[state.recall];
    } else if (e.key === 'ArrowDown' && !e.altKey && state.recall >= 0) {
      e.preventDefault();
      state.recall = state.recall + 1 < state.sentLines.length ? state.recall + 1 : -1;
      input.value = state.recall < 0 ? '' : state.sentLines[state.recall];
    } else if (e.key === 'PageUp' || e.key === 'PageDown') {
      e.preventDefault();
      scroller.scrollBy(0, (e.key === 'PageUp' ? -0.9 : 0.9) * scroller.clientHeight);
    }
  });
  document.addEventListener('keydown', (e) => {
    if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) { e.preventDefault(); stepConversation(e.key === 'ArrowUp' ? -1 : 1); }
    else if (e.key === 'Escape' && $('app').classList.contains('menu-open')) { closeMenu(); input.focus(); }
  });

  $('older-button').addEventListener('click', () => loadOlder());
  scroller.addEventListener('scroll', () => { if (scroller.scrollTop < 40) loadOlder(); });
  $('menu-button').addEventListener('click', () => {
    const open = $('app').classList.toggle('menu-open');
    $('menu-button').setAttribute('aria-expanded', String(open));
    if (open) $('room-list').querySelector('button')?.focus();
  });
  $('theme-button').addEventListener('click', () => {
    const next = effectiveTheme() === 'dark' ? 'light' : 'dark';
    localStorage.setItem('chat.theme', next);
    applyTheme(next);
  });
  $('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const value = $('join-input').value.trim();
    if (!value) return;
    $('join-input').value = '';
    runLine('/join ' + value);
    closeMenu();
  });
  $('dm-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const value = $('dm-input').value.trim();
    if (!value) return;
    $('dm-input').value = '';
    runLine('/query ' + value);
    closeMenu();
    input.focus();
  });
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const value = $('search-input').value.trim();
    if (value) runSearch(value);
    closeMenu();
  });
  $('setting-typing').addEventListener('change', (e) => { settings.typing = e.target.checked; });
  $('setting-read').addEventListener('change', (e) => { settings.read = e.target.checked; sendRead(currentConv()); });
  const notifyButton = $('notify-button');
  const showNotifyState = () => {
    if (!('Notification' in window)) { notifyButton.disabled = true; notifyButton.textContent = 'Notifications unavailable'; return; }
    if (Notification.permission === 'granted') { notifyButton.disabled = true; notifyButton.textContent = 'Desktop notifications on'; }
    if (Notification.permission === 'denied') { notifyButton.disabled = true; notifyButton.textContent = 'Notifications blocked by the browser'; }
  };
  showNotifyState();
  // Asked only on a click, never on load.
  notifyButton.addEventListener('click', () => { Notification.requestPermission().then(showNotifyState); });

  document.addEventListener('visibilitychange', () => {
    const conv = currentConv();
    if (document.visibilityState === 'visible' && conv) { conv.unread = 0; conv.mentioned = false; updateLists(); sendRead(conv); }
  });
  window.addEventListener('online', () => connection.retryNow());
  setInterval(updateTyping, 1000);

  const remembered = sessionStorage.getItem('chat.name');
  if (remembered) connection.login(remembered);  // a reload of this tab comes back in
  else $('login-name').focus();
}

setup();
