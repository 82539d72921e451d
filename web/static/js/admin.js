/* admin.js: the admin monitor. One stream, /stream/admin, carries every
 * running auction's events plus each node's periodic stats. It keeps the
 * #admin-auctions table live (price, bids, bids per minute computed here
 * from price events, watchers summed over nodes from stats), draws each
 * node's connections and event rate as inline-SVG sparklines in
 * #node-charts, and lists recent events in #admin-feed. Stats are read
 * defensively: unknown or missing fields are skipped, never trusted.
 */
(function () {
  'use strict';

  var G = window.Gavel;
  var table = document.getElementById('admin-auctions');
  if (!G || !table) { return; }

  var SVG = 'http://www.w3.org/2000/svg';
  var SAMPLES = 60;
  var FEED_MAX = 50;
  var tbody = table.tBodies[0];
  var rows = {};
  var bidTimes = {}; // auction id -> committed_at (ms) of recent price events

  tbody.querySelectorAll('tr[data-auction-id]').forEach(function (tr) {
    rows[tr.dataset.auctionId] = tr;
    G.seed(tr.dataset.auctionId, tr.dataset.seq);
  });

  var STATUS_LABELS = { open: 'Open', scheduled: 'Scheduled', closed: 'Closed', cancelled: 'Cancelled' };

  // addRow clones the server's row template for an auction that opened
  // after the page loaded.
  function addRow(ev) {
    var tpl = document.getElementById('admin-row-template');
    if (!tpl) { return null; }
    var tr = tpl.content.querySelector('tr').cloneNode(true);
    var id = String(ev.auction_id);
    tr.dataset.auctionId = id;
    tr.dataset.currency = ev.currency || '';
    tr.dataset.exp = String(expOf(ev.currency));
    var link = tr.querySelector('a.title');
    link.href = '/auctions/' + id;
    link.textContent = '#' + id + ' ' + (ev.title || '');
    var form = tr.querySelector('form');
    form.action = '/admin/auctions/' + id + '/cancel';
    var input = form.querySelector('input[name="reason"]');
    input.id = 'cancel-reason-' + id;
    form.querySelector('label').htmlFor = input.id;
    tbody.insertBefore(tr, tbody.firstChild);
    rows[id] = tr;
    document.getElementById('admin-auctions-empty').hidden = true;
    return tr;
  }

  // expOf returns a currency's exponent from the table the server renders
  // from domain's currency list (data-exponents="EUR:2 JPY:0 …").
  var exponents = {};
  (table.dataset.exponents || '').split(' ').forEach(function (pair) {
    var kv = pair.split(':');
    if (kv.length === 2) { exponents[kv[0]] = Number(kv[1]) || 0; }
  });
  function expOf(currency) {
    return currency in exponents ? exponents[currency] : 2;
  }

  function bidsPerMinute(id) {
    var cutoff = G.now() - 60000;
    var times = (bidTimes[id] || []).filter(function (t) { return t >= cutoff; });
    bidTimes[id] = times;
    return times.length;
  }

  function applyAuction(type, ev) {
    var id = String(ev.auction_id);
    var tr = rows[id];
    if (!tr) {
      if (ev.status !== 'open' && ev.status !== 'scheduled') { return; }
      tr = addRow(ev);
      if (!tr) { return; }
    }
    var price = ev.bid_count > 0 ? ev.current_price : ev.start_price;
    G.setMoney(tr.querySelector('.price'), price, ev.currency || tr.dataset.currency, tr.dataset.exp);
    tr.querySelector('.bids').textContent = String(ev.bid_count);
    if (ev.ends_at) { tr.querySelector('.countdown').dataset.endsAt = ev.ends_at; }
    if (ev.status) {
      tr.dataset.status = ev.status;
      var badge = tr.querySelector('[data-role="status"]');
      badge.className = 'badge badge-' + ev.status;
      badge.textContent = STATUS_LABELS[ev.status] || ev.status;
    }
    if (type === 'price' && ev.bidder) {
      var at = Date.parse(ev.committed_at);
      (bidTimes[id] = bidTimes[id] || []).push(isNaN(at) ? G.now() : at);
    }
    tr.querySelector('.bids-per-minute').textContent = String(bidsPerMinute(id));
    if (ev.status === 'closed' || ev.status === 'cancelled') {
      // Keep a finished auction visible for a minute, then drop it.
      setTimeout(function () {
        if (rows[id] && (rows[id].dataset.status === 'closed' || rows[id].dataset.status === 'cancelled')) {
          rows[id].remove();
          delete rows[id];
        }
      }, 60000);
    }
  }

  // --- Feed --------------------------------------------------------------

  function feed(type, ev) {
    if (type === 'snapshot' || type === 'stats') { return; }
    var list = document.getElementById('admin-feed');
    var li = document.createElement('li');
    li.appendChild(G.timeEl(ev.committed_at || new Date(G.now()).toISOString()));
    var text = type + ' #' + ev.auction_id + (ev.title ? ' ' + ev.title : '');
    var tr = rows[String(ev.auction_id)];
    var exp = tr ? tr.dataset.exp : expOf(ev.currency);
    if (type === 'price' && ev.bidder) { text += ': ' + ev.bidder + ' bid ' + G.money(ev.bid_amount, ev.currency, exp); }
    if (type === 'price' || type === 'closed') { text += ' (price ' + G.money(ev.current_price, ev.currency, exp) + ')'; }
    if (type === 'closed') { text += ev.winner ? ', won by ' + ev.winner : ', unsold'; }
    if (type === 'extended') { text += ': now ends ' + G.localTime(ev.ends_at); }
    if (type === 'cancelled' && ev.reason) { text += ': ' + ev.reason; }
    li.appendChild(document.createTextNode(text));
    list.insertBefore(li, list.firstChild);
    while (list.children.length > FEED_MAX) { list.removeChild(list.lastChild); }
  }

  // --- Node charts -------------------------------------------------------

  var nodes = {}; // name -> {box, conn: [], rate: [], lines, text}

  function chartFor(name) {
    if (nodes[name]) { return nodes[name]; }
    var box = document.createElement('div');
    box.className = 'node-chart';
    box.dataset.node = name;
    var h = document.createElement('h3');
    h.textContent = name;
    var svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + (SAMPLES - 1) + ' 40');
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', 'Connections (blue) and events per second (red) on ' + name);
    var conn = document.createElementNS(SVG, 'polyline');
    conn.setAttribute('class', 'line-conn');
    conn.setAttribute('vector-effect', 'non-scaling-stroke');
    var rate = document.createElementNS(SVG, 'polyline');
    rate.setAttribute('class', 'line-rate');
    rate.setAttribute('vector-effect', 'non-scaling-stroke');
    svg.appendChild(conn);
    svg.appendChild(rate);
    var p = document.createElement('p');
    box.appendChild(h);
    box.appendChild(svg);
    box.appendChild(p);
    var holder = document.getElementById('node-charts');
    holder.appendChild(box);
    var empty = document.getElementById('node-charts-empty');
    if (empty) { empty.hidden = true; }
    nodes[name] = { conn: [], rate: [], connLine: conn, rateLine: rate, text: p };
    return nodes[name];
  }

  function points(values) {
    var max = Math.max.apply(null, values.concat([1]));
    var offset = SAMPLES - values.length;
    return values.map(function (v, i) {
      return (offset + i) + ',' + (38 - (v / max) * 36).toFixed(1);
    }).join(' ');
  }

  function num(v) {
    var n = Number(v);
    return isFinite(n) && n >= 0 ? n : 0;
  }

  // firstNum returns the first of the named fields of o that is a number.
  function firstNum(o, names) {
    for (var i = 0; i < names.length; i++) {
      if (typeof o[names[i]] === 'number') { return num(o[names[i]]); }
    }
    return 0;
  }

  // applyStats reads each node's numbers. It accepts the realtime package's
  // NodeStats (events_per_second, slow_consumers, watchers as a total and
  // auctions: [{auction_id, watchers}], the 20 most watched) as well as the
  // older draft (events_per_sec, dropped, watchers: {"<id>": n}).
  function applyStats(ev) {
    // A malformed stats event is ignored rather than read as "no nodes".
    if (!ev || !Array.isArray(ev.nodes)) { return; }
    var watchers = {};
    var complete = true; // every node listed all of its auctions
    ev.nodes.forEach(function (n) {
      if (!n || typeof n !== 'object') { return; }
      var name = String(n.node || 'node');
      var conns = firstNum(n, ['connections']);
      var rate = firstNum(n, ['events_per_second', 'events_per_sec']);
      var dropped = firstNum(n, ['slow_consumers', 'dropped']);
      var c = chartFor(name);
      c.conn.push(conns);
      c.rate.push(rate);
      if (c.conn.length > SAMPLES) { c.conn.shift(); c.rate.shift(); }
      c.connLine.setAttribute('points', points(c.conn));
      c.rateLine.setAttribute('points', points(c.rate));
      var text = conns + ' connections · ' + rate.toFixed(1) + ' events/s · ' + dropped + ' dropped';
      if (typeof n.watchers === 'number') { text += ' · ' + num(n.watchers) + ' watching'; }
      c.text.textContent = text;
      if (Array.isArray(n.auctions)) {
        if (n.auctions.length >= 20) { complete = false; }
        n.auctions.forEach(function (aw) {
          if (aw && aw.auction_id) { watchers[aw.auction_id] = (watchers[aw.auction_id] || 0) + num(aw.watchers); }
        });
      } else if (n.watchers && typeof n.watchers === 'object') {
        Object.keys(n.watchers).forEach(function (id) { watchers[id] = (watchers[id] || 0) + num(n.watchers[id]); });
      }
    });
    Object.keys(rows).forEach(function (id) {
      // Nodes report only their most watched auctions: an auction missing
      // from a full list has an unknown count, not zero.
      var text = id in watchers ? String(watchers[id]) : (complete ? '0' : '–');
      rows[id].querySelector('.watchers').textContent = text;
    });
  }

  function onEvent(type, ev) {
    if (type === 'stats') {
      applyStats(ev);
      return;
    }
    if (ev.auction_id) { applyAuction(type, ev); }
    feed(type, ev);
  }

  // Bids per minute decay even when nothing happens.
  setInterval(function () {
    Object.keys(rows).forEach(function (id) {
      rows[id].querySelector('.bids-per-minute').textContent = String(bidsPerMinute(id));
    });
  }, 5000);

  G.connect('/stream/admin', onEvent);
})();
