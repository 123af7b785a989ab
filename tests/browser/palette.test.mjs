// The web client's name colours are the terminal client's: the same
// 256-colour palette in the same order (src/client/event_renderer.cpp) and
// the same FNV-1a hash, and web/style.css has one rule per palette entry.
// No browser needed; the conversation test compares a real terminal's colours.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './harness.mjs';
import { NAME_COLOURS, nameColourIndex, xtermRgb } from '../../web/text.js';

test('the palette is event_renderer.cpp\'s 256-colour palette, converted to RGB', () => {
  const source = fs.readFileSync(path.join(repoRoot, 'src/client/event_renderer.cpp'), 'utf8');
  const extended = /extended\{([^}]*)\}/.exec(source)[1];
  const numbers = [...extended.matchAll(/38;5;(\d+)m/g)].map((m) => Number(m[1]));
  assert.equal(numbers.length, 22);
  assert.deepEqual(NAME_COLOURS, numbers.map(xtermRgb));
  assert.equal(xtermRgb(31), '#0087af');
  assert.equal(xtermRgb(166), '#d75f00');
});

test('style.css colours .nc-N with palette entry N', () => {
  const css = fs.readFileSync(path.join(repoRoot, 'web/style.css'), 'utf8');
  NAME_COLOURS.forEach((rgb, i) => assert.match(css, new RegExp(`\\.nc-${i} \\{ color: ${rgb}; \\}`)));
});

test('the hash is FNV-1a over the case-folded name', () => {
  assert.equal(nameColourIndex('Alice'), nameColourIndex('alice'));
  // FNV-1a computed independently, with BigInt arithmetic.
  let h = 2166136261n;
  for (const c of Buffer.from('alice')) { h ^= BigInt(c); h = (h * 16777619n) % 2n ** 32n; }
  assert.equal(nameColourIndex('alice'), Number(h % 22n));
});
