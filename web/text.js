// Pure helpers for strings that come from the server, which is never
// trusted: names, colours, visible text, mentions, links and times. No DOM.

/** Names and rooms are ASCII and case-insensitive: the key compares them. */
export function nameKey(name) {
  return String(name).replace(/[A-Z]/g, (c) => c.toLowerCase());
}

// The terminal client's 256-colour name palette (src/client/event_renderer.cpp,
// style::namePalette), in the same order, as xterm colour numbers.
const XTERM_PALETTE = [31, 137, 130, 136, 100, 64, 29, 30, 32, 33, 67, 27, 68, 69, 62, 28, 63, 104, 99, 97, 166, 98];

/** The RGB of xterm colour `n` of the 6x6x6 cube (16..231), as "#rrggbb". */
export function xtermRgb(n) {
  const levels = [0x00, 0x5f, 0x87, 0xaf, 0xd7, 0xff];
  const i = n - 16;
  const hex = (v) => levels[v].toString(16).padStart(2, '0');
  return '#' + hex(Math.floor(i / 36)) + hex(Math.floor(i / 6) % 6) + hex(i % 6);
}

/** The name colours in palette order, as "#rrggbb". */
export const NAME_COLOURS = XTERM_PALETTE.map(xtermRgb);

/** The palette index of a name: FNV-1a over the case-folded name, as the terminal client. */
export function nameColourIndex(name) {
  let hash = 2166136261;
  for (const byte of new TextEncoder().encode(nameKey(name))) {
    hash ^= byte;
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  return hash % NAME_COLOURS.length;
}

function invisible(cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp === 0xad || cp === 0x34f || cp === 0x61c || cp === 0x115f ||
    cp === 0x1160 || cp === 0x180e || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
    (cp >= 0x2060 && cp <= 0x206f) || cp === 0x3164 || cp === 0xfeff || cp === 0xffa0 ||
    (cp >= 0xfff9 && cp <= 0xfffb) || (cp >= 0xe0000 && cp <= 0xe007f);
}

/**
 * A server string as it may be shown, like the terminal client's visibleText:
 * control characters in caret notation (^[), invisible and reordering
 * characters as <U+202E>; a zero-width joiner between symbols is kept.
 */
export function visibleText(text) {
  const chars = Array.from(String(text));
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const cp = chars[i].codePointAt(0);
    if ((cp < 0x20 && cp !== 9) || cp === 0x7f) {
      out += '^' + (cp === 0x7f ? '?' : String.fromCharCode(cp + 0x40));
    } else if (cp === 0x200d && i > 0 && i + 1 < chars.length &&
               chars[i - 1].codePointAt(0) >= 0x2600 && chars[i + 1].codePointAt(0) >= 0x2600) {
      out += chars[i];
    } else if (invisible(cp)) {
      out += '<U+' + cp.toString(16).toUpperCase().padStart(4, '0') + '>';
    } else {
      out += chars[i];
    }
  }
  return out;
}

const nameChar = (c) => /[A-Za-z0-9_.-]/.test(c);

/** Whether `text` mentions `self` as a word ("alice", "@alice:", "alice." but not "malice"). */
export function mentions(text, self) {
  if (!self) return false;
  const hay = nameKey(text);
  const needle = nameKey(self);
  for (let at = hay.indexOf(needle); at !== -1; at = hay.indexOf(needle, at + 1)) {
    const end = at + needle.length;
    const startsWord = at === 0 || !nameChar(hay[at - 1]);
    const endsWord = end === hay.length || !nameChar(hay[end]) ||
      ((hay[end] === '.' || hay[end] === '-') && (end + 1 === hay.length || !nameChar(hay[end + 1])));
    if (startsWord && endsWord) return true;
  }
  return false;
}

/**
 * `text` cut into pieces: {text} and {link} where a http(s) URL stands.
 * Links are shown, never fetched or previewed.
 */
export function splitLinks(text) {
  const pieces = [];
  const re = /\bhttps?:\/\/[^\s<>"']+/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    let url = m[0].replace(/[.,;:!?)\]]+$/, '');
    if (m.index > last) pieces.push({ text: text.slice(last, m.index) });
    pieces.push({ link: url });
    last = m.index + url.length;
    re.lastIndex = last;
  }
  if (last < text.length) pieces.push({ text: text.slice(last) });
  return pieces;
}

const pad = (n) => String(n).padStart(2, '0');

/** HH:MM local; with the date too when `ts` is not today. */
export function formatTime(ts, now = Date.now()) {
  const when = new Date(ts);
  const today = new Date(now);
  const hm = pad(when.getHours()) + ':' + pad(when.getMinutes());
  if (when.toDateString() === today.toDateString()) return hm;
  return when.getFullYear() + '-' + pad(when.getMonth() + 1) + '-' + pad(when.getDate()) + ' ' + hm;
}

/** The wait before reconnection attempt `attempt` (0 first): 1 s doubling to 30 s, less up to 20% jitter. */
export function reconnectDelay(attempt, random01 = Math.random()) {
  const base = Math.min(30000, 1000 * 2 ** Math.min(attempt, 5));
  return Math.round(base - base * 0.2 * random01);
}
