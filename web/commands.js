// One line typed into the message box turned into what the client does,
// with the terminal client's commands and aliases (src/client/input_parser.cpp).
// Pure: no DOM, no socket.

const NAME = /^[A-Za-z0-9_.-]{1,32}$/;
const ROOM = /^#[A-Za-z0-9_.-]{1,32}$/;

/** Every command: name, aliases, usage, summary (shown by /help). */
export const COMMANDS = [
  ['msg', ['whisper', 'w'], '/msg user text', 'a private message; /msg #room text: to a room'],
  ['me', [], '/me text', "describe an action: '* alice waves'"],
  ['join', ['j'], '/join #room', 'join a room (creating it) and make it current'],
  ['leave', ['part'], '/leave [#room]', 'leave a room (default: the current one)'],
  ['rooms', ['list'], '/rooms', 'list rooms with member counts and topics'],
  ['topic', [], '/topic [#room] [text]', "show or set a room's topic"],
  ['who', ['online', 'names'], '/who [#room]', 'online users, or a room\'s (/names: this room)'],
  ['whois', [], '/whois user', "a user's rooms, connected time, idle time and away message"],
  ['nick', [], '/nick name', 'change your name'],
  ['query', ['q'], '/query user', 'open the private conversation with user'],
  ['history', [], '/history', 'load older messages of this conversation'],
  ['search', [], '/search [#room] words', 'find messages with all the words, newest first'],
  ['away', [], '/away [message]', 'mark yourself away; DMs to you get the message back'],
  ['back', [], '/back', 'you are no longer away'],
  ['help', [], '/help [command]', 'list commands, or explain one'],
].map(([name, aliases, usage, summary]) => ({ name, aliases, usage, summary }));

function find(word) {
  const w = word.toLowerCase();
  return COMMANDS.find((c) => c.name === w || c.aliases.includes(w));
}

/** The text /help shows: every command, or one. */
export function helpText(command = '') {
  if (command) {
    const c = find(command.replace(/^\//, ''));
    if (!c) return `no command /${command}`;
    return `${c.usage} — ${c.summary}` + (c.aliases.length ? ` (also /${c.aliases.join(', /')})` : '');
  }
  return COMMANDS.map((c) => `${c.usage} — ${c.summary}`).join('\n') + '\n//text — send text that starts with a slash';
}

const invalid = (error) => ({ kind: 'invalid', error });

/**
 * Parses one line. Returns {kind, ...}: say {text}, action {text},
 * direct {target, text}, roomsay {room, text}, join {room}, leave {room?},
 * rooms, topic {room?, text?}, who {room?, here?}, whois {target},
 * nick {target}, query {target}, history, search {room?, text},
 * away {text}, back, help {target}, empty, invalid {error}.
 */
export function parseInput(line) {
  if (!line.trim()) return { kind: 'empty' };
  if (line.startsWith('//')) return { kind: 'say', text: line.slice(1) };
  if (!line.startsWith('/')) return { kind: 'say', text: line };
  const space = line.search(/\s/);
  const word = space === -1 ? line.slice(1) : line.slice(1, space);
  const rest = space === -1 ? '' : line.slice(space).trim();
  const c = find(word);
  if (!c) return invalid(`unknown command /${word} (try /help)`);
  const [first = '', ...others] = rest.split(/\s+/).filter(Boolean);
  const after = rest.slice(first.length).trim();
  switch (c.name) {
    case 'msg': {
      if (!first || !after) return invalid('usage: /msg user text');
      if (first.startsWith('#')) return ROOM.test(first) ? { kind: 'roomsay', room: first, text: after } : invalid(`bad room name ${first}`);
      const target = first.replace(/^@/, '');
      return NAME.test(target) ? { kind: 'direct', target, text: after } : invalid(`bad user name ${first}`);
    }
    case 'me':
      return rest ? { kind: 'action', text: rest } : invalid('usage: /me text');
    case 'join': {
      const room = first.startsWith('#') ? first : first ? '#' + first : '';
      return ROOM.test(room) ? { kind: 'join', room } : invalid('usage: /join #room');
    }
    case 'leave':
      if (!first) return { kind: 'leave' };
      return ROOM.test(first) ? { kind: 'leave', room: first } : invalid('usage: /leave [#room]');
    case 'rooms':
      return { kind: 'rooms' };
    case 'topic':
      if (first.startsWith('#')) {
        if (!ROOM.test(first)) return invalid(`bad room name ${first}`);
        return { kind: 'topic', room: first, text: after || undefined };
      }
      return { kind: 'topic', text: rest || undefined };
    case 'who':
      if (word.toLowerCase() === 'names' && !first) return { kind: 'who', here: true };
      if (!first) return { kind: 'who' };
      return ROOM.test(first) ? { kind: 'who', room: first } : invalid('usage: /who [#room]');
    case 'whois':
    case 'nick':
    case 'query': {
      const target = first.replace(/^@/, '');
      if (!NAME.test(target) || others.length) return invalid(`usage: ${c.usage}`);
      return { kind: c.name, target };
    }
    case 'history':
      return { kind: 'history' };
    case 'search': {
      if (first.startsWith('#')) {
        if (!ROOM.test(first)) return invalid(`bad room name ${first}`);
        return after ? { kind: 'search', room: first, text: after } : invalid('usage: /search [#room] words');
      }
      return rest ? { kind: 'search', text: rest } : invalid('usage: /search [#room] words');
    }
    case 'away':
      return { kind: 'away', text: rest };
    case 'back':
      return { kind: 'back' };
    case 'help':
      return { kind: 'help', target: first };
  }
  return invalid(`unknown command /${word}`);
}
