/* shared-stream.js: the hub that carries every stream of every tab of one
 * browser over ONE EventSource (/stream/mux), whatever the number of
 * tabs: HTTP/1.1 allows six connections per origin, so a connection per
 * tab froze the seventh. It runs as a SharedWorker, which pages name per
 * user ("guest" for a visitor), so another login in the same browser gets
 * its own; where SharedWorker is missing, the one tab elected by
 * tab-leader.js loads this file and runs the same hub (GavelStreamHub).
 *
 * Each page says hello with the auctions and the sale catalogues it
 * shows; the hub opens the union (at most 100 auctions and 16 sales)
 * plus, for a user, the personal channel. When the union changes it
 * reopens with the new one and the last event's id as the cursor: the
 * channels it names resume where they were, new ones start with a
 * snapshot, so no event is lost; events already seen are dropped by
 * (channel, seq) (personal ones by id), so none is duplicated. Each event
 * goes to the pages that show its auction, or its sale when it is in the
 * sale's log (it has a sale_seq); personal events go to every page. A
 * page that joins gets the latest event of each of its auctions at once;
 * one that joins a sale the connection already carries needs the whole
 * catalogue, so the hub reopens with that sale left out of the cursor and
 * the server sends a fresh sale_snapshot (the other pages of that sale
 * take it as they take any snapshot).
 */
(function (root) {
  'use strict';

  var TYPES = ['snapshot', 'opened', 'price', 'extended', 'closed', 'cancelled',
    'outbid', 'won', 'suspended', 'stats', 'invoice', 'offer', 'paused', 'resumed',
    'sale_snapshot', 'sale_scheduled', 'sale_updated', 'sale_opened', 'sale_closing',
    'sale_closed', 'sale_cancelled', 'sale_paused', 'sale_resumed', 'sale_extended',
    'ending_soon', 'watch_extended', 'watch_closed', 'watchers'];
  var PERSONAL = { outbid: true, won: true, suspended: true, invoice: true, offer: true,
    ending_soon: true, watch_extended: true, watch_closed: true, watchers: true };
  var MAX_IDS = 100;
  var MAX_SALES = 16;

  // sorted is the keys of the sets as sorted numbers, the first max.
  function sorted(sets, max) {
    var all = {};
    sets.forEach(function (s) { Object.keys(s).forEach(function (id) { all[id] = true; }); });
    return Object.keys(all).map(Number).sort(function (a, b) { return a - b; }).slice(0, max);
  }

  // withoutSales drops the s<id>: tokens of the given sales from a cursor
  // ("7:3,s9:12,u:4"), so those sales start again with a snapshot.
  function withoutSales(cursor, sales) {
    return cursor.split(',').filter(function (tok) {
      var m = /^s(\d+):/.exec(tok);
      return !m || !sales[m[1]];
    }).join(',');
  }

  // cursorKey is the channel a cursor token names: "7" for "7:57", "s3"
  // for "s3:410", "u" for "u:4".
  function cursorKey(tok) { return tok.slice(0, tok.indexOf(':')); }

  // withTakeover adds to cursor the tokens of a taken-over cursor for
  // channels the cursor does not name yet but the connection will carry
  // (keys), so those channels resume rather than start with a snapshot.
  function withTakeover(cursor, takeover, keys) {
    var named = {};
    var toks = cursor ? cursor.split(',') : [];
    toks.forEach(function (tok) { named[cursorKey(tok)] = true; });
    Object.keys(takeover).forEach(function (k) {
      if (!named[k] && keys[k]) { toks.push(takeover[k]); }
    });
    return toks.join(',');
  }

  // createHub makes a hub. opts.personal: the user's channel rides along
  // (a logged-in browser); opts.lastId: a cursor to resume from (a tab
  // taking over from a leader that closed).
  function createHub(opts) {
    var ports = []; // {port, ids: {id: true}, sales: {id: true}, lock: the page's Web Lock}
    var es = null;
    var openKey = null; // the auctions and sales the open connection carries
    var carried = {}; // sale id -> true, for the open connection
    var state = 'connecting';
    var lastId = opts.lastId || '';
    // takeover keeps the taken-over cursor's token of each channel until an
    // event of this hub names that channel: tabs say hello one by one, so
    // the first connection may carry only some of their channels, and its
    // first event's id names only those. Without this, reopening for the
    // later tabs would start their channels afresh, with snapshots.
    var takeover = {};
    if (lastId) {
      lastId.split(',').forEach(function (tok) { takeover[cursorKey(tok)] = tok; });
    }
    var attempt = 0;
    var timer = 0;
    var latest = {}; // auction id -> the latest event message, for late joiners
    var lastSeq = {}; // auction id -> the highest seq passed on
    var lastSaleSeq = {}; // sale id -> the highest sale_seq passed on
    var resnap = {}; // sale id -> true: reopen without its cursor (a page joined it)
    var seenIds = {};
    var seenOrder = [];

    function setState(s) {
      state = s;
      ports.forEach(function (p) { p.port.postMessage({ kind: 'status', state: s }); });
    }

    function wanted() {
      return {
        ids: sorted(ports.map(function (p) { return p.ids; }), MAX_IDS),
        sales: sorted(ports.map(function (p) { return p.sales; }), MAX_SALES)
      };
    }

    function keyOf(w) { return w.ids.join(',') + '/' + w.sales.join(','); }

    // pass forwards one event, unless it was seen already, to the pages
    // that want it.
    function pass(type, data, id) {
      var ev;
      try { ev = JSON.parse(data); } catch (e) { return; }
      if (!ev) { return; }
      var msg = { kind: 'event', type: type, data: data, id: id };
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
      if (type.indexOf('sale_') === 0) {
        var sid = ev.sale_id || (ev.sale && ev.sale.id);
        var sseq = Number(ev.sale_seq) || 0;
        if (!sid) { return; }
        if (type !== 'sale_snapshot' && sid in lastSaleSeq && sseq <= lastSaleSeq[sid]) { return; }
        lastSaleSeq[sid] = sseq;
        ports.forEach(function (p) { if (p.sales[sid]) { p.port.postMessage(msg); } });
        return;
      }
      var aid = ev.auction_id;
      if (!aid) { return; }
      var seq = Number(ev.seq) || 0;
      if (aid in lastSeq && (seq < lastSeq[aid] || (seq === lastSeq[aid] && type !== 'snapshot'))) { return; }
      lastSeq[aid] = seq;
      latest[aid] = msg;
      // A lot event goes to its sale's catalogues only when it is in the
      // sale's log: those it is covered by a sale-level event for
      // (sale_extended) would move the rows twice.
      var inSale = ev.sale_id && Number(ev.sale_seq) > 0 ? ev.sale_id : 0;
      ports.forEach(function (p) { if (p.ids[aid] || (inSale && p.sales[inSale])) { p.port.postMessage(msg); } });
    }

    // open connects with the wanted channels; the browser reconnects by
    // itself with Last-Event-ID after a drop. Only after a fatal error (an
    // HTTP error status) do we reopen, with backoff and the lastEventId
    // parameter.
    function open(w) {
      close();
      openKey = keyOf(w);
      // A sale new to the connection starts with a snapshot even if an
      // older cursor names it: the pages that asked for it have nothing.
      var now = {};
      w.sales.forEach(function (id) {
        now[id] = true;
        if (!carried[id]) { resnap[id] = true; }
      });
      carried = now;
      var keys = { u: !!opts.personal };
      w.ids.forEach(function (id) { keys[String(id)] = true; });
      w.sales.forEach(function (id) { if (!resnap[id]) { keys['s' + id] = true; } });
      lastId = withoutSales(withTakeover(lastId, takeover, keys), resnap);
      resnap = {};
      var q = [];
      if (w.ids.length) { q.push('ids=' + w.ids.join(',')); }
      if (w.sales.length) { q.push('sales=' + w.sales.join(',')); }
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
          timer = setTimeout(function () { open(wanted()); },
            Math.min(60000, 1000 * Math.pow(2, attempt++)) + Math.floor(Math.random() * 1000));
        }
      };
      TYPES.forEach(function (t) {
        src.addEventListener(t, function (m) {
          if (es !== src) { return; }
          if (m.lastEventId) {
            lastId = m.lastEventId;
            lastId.split(',').forEach(function (tok) { delete takeover[cursorKey(tok)]; });
          }
          pass(t, m.data, m.lastEventId);
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
        var w = wanted();
        if (ports.length === 0 || (w.ids.length === 0 && w.sales.length === 0 && !opts.personal)) {
          close();
          carried = {};
          return;
        }
        if (es && openKey === keyOf(w) && Object.keys(resnap).length === 0) { return; }
        open(w);
      }, es ? 50 : 0);
    }

    // watchLock drops a page's entry once the browser releases the lock the
    // page holds while it lives (G.tabLock, tab-leader.js): the page closed,
    // crashed or was discarded, with or without a bye. Without it a
    // crashed tab's auctions stayed on the connection for as long as the
    // hub lived.
    function watchLock(entry, name) {
      entry.lock = name;
      var locks = root.navigator && root.navigator.locks;
      if (!locks || typeof locks.request !== 'function') { return; }
      locks.request(name, function () {
        if (entry.lock !== name) { return; }
        var n = ports.length;
        ports = ports.filter(function (p) { return p !== entry; });
        if (ports.length !== n) { reconcile(); }
      }).catch(function () {});
    }

    // connect serves one page's port (a MessagePort, or tab-leader.js's
    // stand-in for a tab without SharedWorker).
    function connect(port) {
      port.onmessage = function (m) {
        var d = m.data || {};
        var entry = null;
        ports.forEach(function (p) { if (p.port === port) { entry = p; } });
        if (d.kind === 'hello') {
          if (!entry) {
            entry = { port: port, ids: {}, sales: {} };
            ports.push(entry);
          }
          var had = entry.sales;
          entry.ids = {};
          entry.sales = {};
          (d.ids || []).forEach(function (id) { if (Number(id) > 0) { entry.ids[Number(id)] = true; } });
          (d.sales || []).forEach(function (id) {
            id = Number(id);
            if (!(id > 0)) { return; }
            entry.sales[id] = true;
            if (es && carried[id] && !had[id]) { resnap[id] = true; }
          });
          if (d.lock && entry.lock !== d.lock) { watchLock(entry, String(d.lock)); }
          port.postMessage({ kind: 'status', state: es ? state : 'connecting' });
          // replay marks these as old news: their ids are cursors from the
          // past, which an elected tab must not take as the connection's.
          Object.keys(entry.ids).forEach(function (id) {
            var m = latest[id];
            if (m) { port.postMessage({ kind: m.kind, type: m.type, data: m.data, id: m.id, replay: true }); }
          });
          reconcile();
        } else if (d.kind === 'bye') {
          ports = ports.filter(function (p) { return p.port !== port; });
          reconcile();
        }
      };
      if (port.start) { port.start(); }
    }

    return { connect: connect };
  }

  if (typeof SharedWorkerGlobalScope !== 'undefined' && root instanceof SharedWorkerGlobalScope) {
    var hub = createHub({ personal: /^gavel-stream-\d+$/.test(root.name || '') });
    root.onconnect = function (e) { hub.connect(e.ports[0]); };
  } else {
    root.GavelStreamHub = createHub;
  }
})(self);
