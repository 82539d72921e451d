/* shared-stream.js: a SharedWorker that holds ONE /stream/me EventSource
 * for all of a user's tabs (pages name the worker per user, so a different
 * login in the same browser gets its own). It forwards every event, as raw
 * JSON, and the connection state to each connected page; pages de-duplicate
 * by seq and event id. It remembers the latest event of each auction so a
 * tab that joins late starts from current state; personal events (outbid,
 * won) are not replayed, so an old notice never pops up in a new tab.
 * Browsers without SharedWorker never load this file (see stream.js).
 */
'use strict';

var TYPES = ['snapshot', 'opened', 'price', 'extended', 'closed', 'cancelled',
  'outbid', 'won', 'suspended', 'stats',
  'ending_soon', 'watch_extended', 'watch_closed', 'watchers'];
var PERSONAL = { outbid: true, won: true, suspended: true,
  ending_soon: true, watch_extended: true, watch_closed: true, watchers: true };

var ports = [];
var es = null;
var state = 'connecting';
var lastId = '';
var attempt = 0;
var timer = 0;
var latest = {}; // auction id -> {seq, msg}

function broadcast(msg) {
  ports.forEach(function (p) { p.postMessage(msg); });
}

function setState(s) {
  state = s;
  broadcast({ kind: 'status', state: s });
}

function remember(type, data) {
  if (PERSONAL[type] || type === 'stats') { return; }
  var ev;
  try { ev = JSON.parse(data); } catch (e) { return; }
  if (!ev || !ev.auction_id) { return; }
  var prev = latest[ev.auction_id];
  if (!prev || type === 'snapshot' || ev.seq > prev.seq) {
    latest[ev.auction_id] = { seq: ev.seq, msg: { kind: 'event', type: type, data: data } };
  }
}

// open connects; the browser reconnects by itself with Last-Event-ID after
// a drop. Only after a fatal error (an HTTP error status) do we reopen,
// with backoff and the lastEventId query parameter.
function open() {
  var url = '/stream/me';
  if (lastId) { url += '?lastEventId=' + encodeURIComponent(lastId); }
  es = new EventSource(url);
  es.onopen = function () { attempt = 0; setState('live'); };
  es.onerror = function () {
    setState('reconnecting');
    if (es.readyState === EventSource.CLOSED) {
      es.close();
      clearTimeout(timer);
      timer = setTimeout(open, Math.min(60000, 1000 * Math.pow(2, attempt++)) + Math.floor(Math.random() * 1000));
    }
  };
  TYPES.forEach(function (t) {
    es.addEventListener(t, function (m) {
      if (m.lastEventId) { lastId = m.lastEventId; }
      remember(t, m.data);
      broadcast({ kind: 'event', type: t, data: m.data });
    });
  });
}

function close() {
  clearTimeout(timer);
  if (es) { es.close(); }
  es = null;
}

self.onconnect = function (e) {
  var port = e.ports[0];
  port.onmessage = function (m) {
    var kind = m.data && m.data.kind;
    if (kind === 'hello') {
      if (ports.indexOf(port) < 0) { ports.push(port); }
      port.postMessage({ kind: 'status', state: es ? state : 'connecting' });
      Object.keys(latest).forEach(function (id) { port.postMessage(latest[id].msg); });
      if (!es) { open(); }
    } else if (kind === 'bye') {
      ports = ports.filter(function (p) { return p !== port; });
      // No page is listening (the last tab closed or went into the
      // back/forward cache): free the connection until one says hello.
      if (ports.length === 0) { close(); }
    }
  };
  port.start();
};
