/* admin.js: the admin monitor. One stream, /stream/admin, carries every
 * running auction's events plus each node's periodic stats. It keeps the
 * #admin-auctions table live (price, bids, bids per minute computed here
 * from price events, watchers summed over nodes from stats), lists each
 * node's numbers in #node-charts, lists recent events in #admin-feed with
 * the person behind each bidder alias, and hands events and stats to the
 * charts (admin-charts.js). Stats are read defensively: unknown or missing
 * fields are skipped, never trusted.
 */
(function () {
  'use strict';

  var G = window.Gavel;
  var table = document.getElementById('admin-auctions');
  if (!G || !table) { return; }

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

  // identities maps, per auction, each alias to the person behind it
  // (GET /api/v1/auctions/{id}/bidders, admins only). A feed line whose
  // bidder is not known yet is completed when the answer arrives.
  var identities = {};
  var identityTimers = {};
  function identify(auctionId) {
    if (identityTimers[auctionId]) { return; }
    identityTimers[auctionId] = setTimeout(function () {
      fetch('/api/v1/auctions/' + auctionId + '/bidders', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          delete identityTimers[auctionId];
          if (!data || !Array.isArray(data.bidders)) { return; }
          var m = identities[auctionId] = identities[auctionId] || {};
          data.bidders.forEach(function (b) { if (b && b.alias && b.user) { m[b.alias] = b.user; } });
          document.querySelectorAll('#admin-feed .identity[data-auction-id="' + auctionId + '"]').forEach(fillIdentity);
        })
        .catch(function () { delete identityTimers[auctionId]; });
    }, 200);
  }
  function fillIdentity(span) {
    var u = (identities[span.dataset.auctionId] || {})[span.dataset.alias];
    if (u) { span.textContent = ' (' + u.name + ', ' + u.email + ')'; }
  }
  // who appends an alias, and the person behind it, to li.
  function who(li, auctionId, alias) {
    li.appendChild(document.createTextNode(alias));
    var span = document.createElement('span');
    span.className = 'identity';
    span.dataset.auctionId = String(auctionId);
    span.dataset.alias = alias;
    li.appendChild(span);
    fillIdentity(span);
    if (!span.textContent) { identify(String(auctionId)); }
  }

  function feed(type, ev) {
    if (type === 'snapshot' || type === 'stats') { return; }
    var list = document.getElementById('admin-feed');
    var li = document.createElement('li');
    li.appendChild(G.timeEl(ev.committed_at || new Date(G.now()).toISOString()));
    var tr = rows[String(ev.auction_id)];
    var exp = tr ? tr.dataset.exp : expOf(ev.currency);
    var money = function (v) { return G.money(v, ev.currency, exp); };
    var text = function (s) { li.appendChild(document.createTextNode(s)); };
    text(type + ' #' + ev.auction_id + (ev.title ? ' ' + ev.title : ''));
    if (type === 'price' && ev.bidder) {
      text(': ');
      who(li, ev.auction_id, ev.bidder);
      text(' bid ' + money(ev.bid_amount));
    }
    if (type === 'price' && Array.isArray(ev.auto)) {
      ev.auto.forEach(function (a) {
        if (!a || !a.bidder) { return; }
        text('; automatic: ');
        who(li, ev.auction_id, String(a.bidder));
        text(' ' + money(a.amount));
      });
    }
    if (type === 'price' || type === 'closed') { text(' (price ' + money(ev.current_price) + ')'); }
    if (type === 'closed') {
      if (ev.winner) { text(', won by '); who(li, ev.auction_id, ev.winner); } else { text(', unsold'); }
    }
    if (type === 'extended') { text(': now ends ' + G.localTime(ev.ends_at)); }
    if (type === 'cancelled' && ev.reason) { text(': ' + ev.reason); }
    list.insertBefore(li, list.firstChild);
    while (list.children.length > FEED_MAX) { list.removeChild(list.lastChild); }
  }

  // --- Nodes -------------------------------------------------------------

  var nodes = {}; // name -> the paragraph with its numbers

  function nodeText(name) {
    if (nodes[name]) { return nodes[name]; }
    var box = document.createElement('div');
    box.className = 'node-chart';
    box.dataset.node = name;
    var h = document.createElement('h3');
    h.textContent = name;
    var p = document.createElement('p');
    box.appendChild(h);
    box.appendChild(p);
    document.getElementById('node-charts').appendChild(box);
    var empty = document.getElementById('node-charts-empty');
    if (empty) { empty.hidden = true; }
    nodes[name] = p;
    return p;
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
      var text = conns + ' connections · ' + rate.toFixed(1) + ' events/s · ' + dropped + ' dropped';
      if (typeof n.watchers === 'number') { text += ' · ' + num(n.watchers) + ' watching'; }
      nodeText(name).textContent = text;
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

  var charts = function () { return G.adminCharts || { event: function () {}, stats: function () {} }; };

  function onEvent(type, ev) {
    if (type === 'stats') {
      applyStats(ev);
      charts().stats(ev);
      return;
    }
    if (ev.auction_id) { applyAuction(type, ev); }
    feed(type, ev);
    charts().event(type, ev);
  }

  // Bids per minute decay even when nothing happens.
  setInterval(function () {
    Object.keys(rows).forEach(function (id) {
      rows[id].querySelector('.bids-per-minute').textContent = String(bidsPerMinute(id));
    });
  }, 5000);

  G.connect('/stream/admin', onEvent);
})();
