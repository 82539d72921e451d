/* list.js: live auction lists (Auctions, My bids, My listings). Every row
 * ([data-auction-id]) is updated from ONE connection: the multiplexed
 * /stream/auctions?ids=… on Auctions and My bids, or the shared /stream/me
 * on My listings (it carries the live state of the seller's auctions). On
 * My bids it keeps the leading/outbid badge right: a row knows its own
 * alias once the server said we lead there; otherwise a price change is
 * checked against the API.
 */
(function () {
  'use strict';

  var G = window.Gavel;
  var list = document.getElementById('auction-list');
  if (!G || !list) { return; }

  var page = document.body.dataset.page;
  var rows = {};
  list.querySelectorAll('[data-auction-id]').forEach(function (row) {
    rows[row.dataset.auctionId] = row;
    G.seed(row.dataset.auctionId, row.dataset.seq);
  });

  var STATUS_LABELS = { open: 'Open', scheduled: 'Scheduled', closed: 'Closed', cancelled: 'Cancelled' };

  function setBadge(row, kind, text) {
    var el = row.querySelector('[data-role="you"]');
    if (!el) {
      el = document.createElement('p');
      el.dataset.role = 'you';
      row.appendChild(el);
    }
    el.className = 'you badge badge-' + kind;
    el.textContent = text;
  }

  // bidBadge is the My bids badge for a row, given whether we lead.
  function bidBadge(row, ev, lead) {
    if (ev.status === 'cancelled') { return setBadge(row, 'lost', 'Cancelled'); }
    if (ev.status === 'closed') {
      if (lead && ev.winner) { return setBadge(row, 'won', 'Won'); }
      return setBadge(row, 'lost', lead ? 'Reserve not met' : 'Lost');
    }
    if (!lead) { return setBadge(row, 'outbid', 'Outbid'); }
    if (ev.has_reserve && !ev.reserve_met) { return setBadge(row, 'reserve', 'Leading, reserve not met'); }
    setBadge(row, 'leading', 'Leading');
  }

  var checks = {};
  // checkLeading asks the API whether we lead, at most once per second per
  // auction, and remembers our alias when we do.
  function checkLeading(row, ev) {
    var id = row.dataset.auctionId;
    clearTimeout(checks[id]);
    checks[id] = setTimeout(function () {
      fetch('/api/v1/auctions/' + id, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (v) {
          if (!v || !v.you) { return; }
          if (v.you.leading && v.leader) { row.dataset.myAlias = v.leader; }
          bidBadge(row, v, !!v.you.leading);
        })
        .catch(function () {});
    }, 1000);
  }

  function apply(type, ev) {
    var row = rows[String(ev.auction_id)];
    if (!row) { return; }
    var price = ev.bid_count > 0 ? ev.current_price : ev.start_price;
    G.setMoney(row.querySelector('.price'), price, ev.currency || row.dataset.currency, row.dataset.exp);
    var count = row.querySelector('.bid-count');
    if (count) { count.textContent = String(ev.bid_count); }
    var cd = row.querySelector('.countdown');
    if (cd && ev.ends_at) { cd.dataset.endsAt = ev.ends_at; }
    if (ev.status) {
      row.dataset.status = ev.status;
      var badge = row.querySelector('[data-role="status"]');
      if (badge) {
        badge.className = 'badge badge-' + ev.status;
        badge.textContent = STATUS_LABELS[ev.status] || ev.status;
      }
    }
    if (ev.title) {
      var title = row.querySelector('.card-title');
      if (title && title.textContent !== ev.title) { title.textContent = ev.title; }
    }
    // A listing can be edited or cancelled only until the first bid.
    if (ev.bid_count > 0 || ev.status === 'closed' || ev.status === 'cancelled') {
      var actions = row.querySelector('.card-actions');
      if (actions) { actions.remove(); }
    }
    if (page === 'bids') {
      if (type === 'outbid') {
        delete row.dataset.myAlias;
        bidBadge(row, ev, false);
      } else if (type === 'won') {
        bidBadge(row, ev, true);
      } else if (row.dataset.myAlias) {
        var lead = ev.leader === row.dataset.myAlias;
        if (!lead) { delete row.dataset.myAlias; }
        bidBadge(row, ev, lead);
      } else if (type === 'price' || type === 'closed' || type === 'snapshot') {
        checkLeading(row, ev);
      }
    }
    G.tick();
  }

  function onEvent(type, ev) {
    // Watch notices are toasts (stream.js) and counts (watch.js), not state.
    if (type === 'stats' || G.WATCH_NOTICES[type]) { return; }
    apply(type, ev);
  }

  // My listings: "Viewing now" (people with the auction open), polled;
  // the counts change with every page opened anywhere, too often and too
  // widely to be events of their own.
  if (list.querySelector('[data-viewers]')) {
    var pollWatchers = function () {
      if (document.hidden) { return; }
      fetch('/api/v1/me/watchers', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (m) {
          if (!m || !m.watchers) { return; }
          list.querySelectorAll('[data-auction-id]').forEach(function (row) {
            var el = row.querySelector('[data-viewers]');
            if (!el) { return; }
            var text = String(m.watchers[row.dataset.auctionId] || 0);
            if (el.textContent !== text) { el.textContent = text; }
          });
        })
        .catch(function () {});
    };
    setInterval(pollWatchers, 5000);
    document.addEventListener('visibilitychange', pollWatchers);
  }

  var own = document.body.dataset.stream || '';
  if (!document.body.dataset.userId) {
    // A guest watches the listing's public stream; nothing is personal.
    if (own && own !== '/stream/me') { G.connect(own, onEvent); }
    return;
  }
  if (own === '/stream/me') {
    G.me.subscribe(onEvent);
  } else if (own) {
    G.connect(own, onEvent);
    // Personal events still arrive through the shared worker, if any.
    G.me.subscribe(function (type, ev) {
      if (type === 'outbid' || type === 'won') { apply(type, ev); }
    });
  }
})();
