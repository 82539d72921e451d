/* shared-stream.js: a SharedWorker that carries every stream of every tab
 * of one browser over ONE EventSource (/stream/mux), whatever the number
 * of tabs: HTTP/1.1 allows six connections per origin, so a connection per
 * tab froze the seventh. Pages name the worker per user ("guest" for a
 * visitor), so another login in the same browser gets its own.
 *
 * Each page says hello with the auctions it shows; the worker opens the
 * union (at most 100) plus, for a user, the personal channel. When the
 * union changes it reopens with the new one and the last event's id as
 * the cursor: the channels it names resume where they were, new ones start
 * with a snapshot, so no event is lost; events already seen are dropped by
 * (channel, seq) (personal ones by id), so none is duplicated. Each event
 * goes to the pages that show its auction; personal events go to every
 * page. A page that joins gets the latest event of each of its auctions at
 * once. Browsers without SharedWorker never load this file (see stream.js).
 */
'use strict';

var TYPES = ['snapshot', 'opened', 'price', 'extended', 'closed', 'cancelled',
  'outbid', 'won', 'suspended', 'stats', 'invoice', 'offer', 'paused', 'resumed',
  'ending_soon', 'watch_extended', 'watch_closed', 'watchers'];
var PERSONAL = { outbid: true, won: true, suspended: true, invoice: true, offer: true,
  ending_soon: true, watch_extended: true, watch_closed: true, watchers: true };
var MAX_IDS = 100;

var ports = []; // {port, ids: {id: true}}
var es = null;
var openKey = null; // the ids the open connection carries
var state = 'connecting';
var lastId = '';
var attempt = 0;
var timer = 0;
var latest = {}; // auction id -> the latest event message, for late joiners
var lastSeq = {}; // auction id -> the highest seq passed on
var seenIds = {};
var seenOrder = [];
var personal = /^gavel-stream-\d+$/.test(self.name || '');

function setState(s) {
  state = s;
  ports.forEach(function (p) { p.port.postMessage({ kind: 'status', state: s }); });
}

// union is the sorted ids the tabs want, the first MAX_IDS of them.
function union() {
  var all = {};
  ports.forEach(function (p) { Object.keys(p.ids).forEach(function (id) { all[id] = true; }); });
  return Object.keys(all).map(Number).sort(function (a, b) { return a - b; }).slice(0, MAX_IDS);
}

// pass forwards one event, unless it was seen already, to the pages that
// want it.
function pass(type, data) {
  var ev;
  try { ev = JSON.parse(data); } catch (e) { return; }
  if (!ev) { return; }
  var msg = { kind: 'event', type: type, data: data };
  if (PERSONAL[type]) {
    if (ev.id) {
      if (seenIds[ev.id]) { return; }
      seenIds[ev.id] = true;
      seenOrder.push(ev.id);
      if (seenOrder.length > 500) { delete seenIds[seenOrder.shift()]; }
    }
    ports.forEach(function (p) { p.port.postMessage(msg); });
    return;
  }
  var id = ev.auction_id;
  if (!id) { return; }
  var seq = Number(ev.seq) || 0;
  if (id in lastSeq && (seq < lastSeq[id] || (seq === lastSeq[id] && type !== 'snapshot'))) { return; }
  lastSeq[id] = seq;
  latest[id] = msg;
  ports.forEach(function (p) { if (p.ids[id]) { p.port.postMessage(msg); } });
}

// open connects with the current union; the browser reconnects by itself
// with Last-Event-ID after a drop. Only after a fatal error (an HTTP error
// status) do we reopen, with backoff and the lastEventId parameter.
function open(ids) {
  close();
  openKey = ids.join(',');
  var q = [];
  if (ids.length) { q.push('ids=' + openKey); }
  if (lastId) { q.push('lastEventId=' + encodeURIComponent(lastId)); }
  var src = new EventSource('/stream/mux' + (q.length ? '?' + q.join('&') : ''));
  es = src;
  src.onopen = function () { attempt = 0; setState('live'); };
  src.onerror = function () {
    if (es !== src) { return; }
    setState('reconnecting');
    if (src.readyState === EventSource.CLOSED) {
      src.close();
      clearTimeout(timer);
      timer = setTimeout(function () { open(union()); },
        Math.min(60000, 1000 * Math.pow(2, attempt++)) + Math.floor(Math.random() * 1000));
    }
  };
  TYPES.forEach(function (t) {
    src.addEventListener(t, function (m) {
      if (es !== src) { return; }
      if (m.lastEventId) { lastId = m.lastEventId; }
      pass(t, m.data);
    });
  });
}

function close() {
  clearTimeout(timer);
  if (es) { es.close(); }
  es = null;
  openKey = null;
}

// reconcile opens, reopens or closes the connection to match the tabs.
// Tabs often come and go together (a restored session): a short pause
// lets one reopen serve them all.
var pending = 0;
function reconcile() {
  clearTimeout(pending);
  pending = setTimeout(function () {
    var ids = union();
    if (ports.length === 0 || (ids.length === 0 && !personal)) { close(); return; }
    if (es && openKey === ids.join(',')) { return; }
    open(ids);
  }, es ? 50 : 0);
}

self.onconnect = function (e) {
  var port = e.ports[0];
  port.onmessage = function (m) {
    var d = m.data || {};
    var entry = null;
    ports.forEach(function (p) { if (p.port === port) { entry = p; } });
    if (d.kind === 'hello') {
      if (!entry) {
        entry = { port: port, ids: {} };
        ports.push(entry);
      }
      entry.ids = {};
      (d.ids || []).forEach(function (id) { if (Number(id) > 0) { entry.ids[Number(id)] = true; } });
      port.postMessage({ kind: 'status', state: es ? state : 'connecting' });
      Object.keys(entry.ids).forEach(function (id) { if (latest[id]) { port.postMessage(latest[id]); } });
      reconcile();
    } else if (d.kind === 'bye') {
      ports = ports.filter(function (p) { return p.port !== port; });
      reconcile();
    }
  };
  port.start();
};
