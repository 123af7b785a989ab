// Placeholder web client: one WebSocket to /ws, one protocol JSON object per
// text message (docs/protocol.md). Every string from the server is inserted
// as text, never as HTML.
'use strict';

(function () {
  const log = document.getElementById('log');
  const login = document.getElementById('login');
  const say = document.getElementById('say');
  let socket = null;
  let nextId = 1;
  let room = '#lobby';

  function show(text) {
    const item = document.createElement('li');
    item.textContent = text;
    log.appendChild(item);
    item.scrollIntoView({block: 'end'});
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  login.addEventListener('submit', function (event) {
    event.preventDefault();
    const name = document.getElementById('name').value.trim();
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(scheme + '//' + location.host + '/ws');
    socket.addEventListener('open', function () {
      send({type: 'hello', version: 1, user: name, id: nextId++});
    });
    socket.addEventListener('message', function (event) {
      let message;
      try { message = JSON.parse(event.data); } catch (e) { return show('unreadable: ' + event.data); }
      if (message.type === 'ping') return send({type: 'pong'});
      if (message.type === 'welcome') {
        login.hidden = true;
        say.hidden = false;
        if (Array.isArray(message.rooms) && message.rooms.length) room = message.rooms[0];
        document.getElementById('room').textContent = room;
      }
      if (message.type === 'message') return show((message.from || '?') + ' ' + (message.to || '') + ': ' + message.text);
      show(JSON.stringify(message));
    });
    socket.addEventListener('close', function (event) {
      show('closed (' + event.code + (event.reason ? ': ' + event.reason : '') + ')');
      login.hidden = false;
      say.hidden = true;
    });
  });

  say.addEventListener('submit', function (event) {
    event.preventDefault();
    const input = document.getElementById('text');
    send({type: 'send', id: nextId++, to: room, text: input.value});
    input.value = '';
  });
}());
