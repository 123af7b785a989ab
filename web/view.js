// DOM for one line of a conversation. Every server string goes in through
// textContent / text nodes (never innerHTML), made visible first
// (visibleText); links are plain <a rel="noopener noreferrer">, never fetched.

import { formatTime, mentions, nameColourIndex, nameKey, splitLinks, visibleText } from './text.js';

/** A new element with a class and text. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A user name in its colour (the terminal's hash and palette); your own in bold without one. */
export function nameNode(name, self) {
  const shown = visibleText(name);
  const mine = nameKey(name) === nameKey(self);
  return el('span', mine ? 'from self' : `from nc-${nameColourIndex(name)}`, shown);
}

/** Appends `text` to `parent` as text nodes and plain links. */
export function appendText(parent, text) {
  for (const piece of splitLinks(visibleText(text))) {
    if (piece.text !== undefined) {
      parent.append(document.createTextNode(piece.text));
      continue;
    }
    let url = null;
    try { url = new URL(piece.link); } catch { /* shown as text */ }
    if (url && (url.protocol === 'http:' || url.protocol === 'https:')) {
      const a = el('a', '', piece.link);
      a.href = url.href;
      a.rel = 'noopener noreferrer';
      a.target = '_blank';
      a.referrerPolicy = 'no-referrer';
      parent.append(a);
    } else {
      parent.append(document.createTextNode(piece.link));
    }
  }
}

function timeNode(ts) {
  const time = el('time');
  if (Number.isFinite(ts)) {
    const when = new Date(ts);
    time.dateTime = when.toISOString();
    time.title = when.toLocaleString();
    time.textContent = formatTime(ts);
  }
  return time;
}

function line(ts, classes) {
  const li = el('li', 'msg ' + classes);
  li.append(timeNode(ts));
  const body = el('div', 'body');
  li.append(body);
  return { li, body };
}

/**
 * The line for a server event (message, topic, joined, left, nick), or null
 * for events not shown. options: self, stored (history: dimmed, no
 * highlight), label (e.g. "#dev" in search results).
 */
export function eventLine(event, options) {
  const { self, stored = false, label = '' } = options;
  const str = (v) => (typeof v === 'string' ? v : '');
  let out;
  switch (event.type) {
    case 'message': {
      const from = str(event.from);
      const text = str(event.text);
      const mine = nameKey(from) === nameKey(self);
      const mention = !mine && !stored && mentions(text, self);
      const direct = str(event.to).startsWith('@');
      out = line(event.ts, [mention && 'mention', direct && 'direct', stored && 'stored', mine && 'own'].filter(Boolean).join(' '));
      if (label) out.body.append(el('span', 'label', `[${visibleText(label)}] `));
      if (event.action === true) {
        out.body.append('* ', nameNode(from, self), ' ');
      } else {
        out.body.append(nameNode(from, self), ': ');
      }
      const text_ = el('span', 'text');
      appendText(text_, text);
      out.body.append(text_);
      out.li.dataset.from = nameKey(from);
      break;
    }
    case 'topic':
      out = line(event.ts, 'notice');
      out.body.append(nameNode(str(event.by), self), str(event.topic) ? ' set the topic: ' : ' cleared the topic');
      if (str(event.topic)) appendText(out.body, str(event.topic));
      break;
    case 'joined':
      out = line(event.ts, 'notice');
      out.body.append(nameNode(str(event.user), self), ` joined ${visibleText(str(event.room))}`);
      break;
    case 'left':
      out = line(event.ts, 'notice');
      out.body.append(nameNode(str(event.user), self), ` left ${visibleText(str(event.room))}`);
      if (str(event.reason) && event.reason !== 'left') out.body.append(` (${visibleText(event.reason)})`);
      break;
    case 'nick':
      out = line(event.ts, 'notice');
      out.body.append(nameNode(str(event.old), self), ' is now ', nameNode(str(event.new), self));
      break;
    default:
      return null;
  }
  if (Number.isSafeInteger(event.msg_id)) out.li.dataset.msgId = String(event.msg_id);
  return out.li;
}

/** A line the client itself says (answers, errors, help); kind: 'notice' | 'error'. */
export function noticeLine(text, kind = 'notice', ts = Date.now()) {
  const out = line(ts, `${kind} local`);
  String(text).split('\n').forEach((part, i) => {
    if (i) out.body.append('\n');
    appendText(out.body, part);
  });
  return out.li;
}
