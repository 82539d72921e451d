/* sale.js: a sale's live catalogue (/sales/{id}) and the seller's
 * dashboard (/sales/{id}/dashboard). The page's one stream carries its
 * lots' events; every row ([data-auction-id]) redraws its price, bids,
 * countdown and the viewer's status (colour and text) from each event.
 * Sale-level events move many lots at once: sale_extended (a cascade),
 * sale_paused, sale_resumed, sale_opened, sale_cancelled. The lot closing
 * now is highlighted, and "Follow" keeps it in view. A row's bid form
 * posts through the API with the lot page's rules and messages; without
 * JavaScript it posts the lot page's form and comes back here. Guests see
 * the page live too (a guest session carries the stream); their rows link
 * to log in to bid. Rows' watch buttons are watch.js's, as on cards.
 */
(function () {
  'use strict';

  var G = window.Gavel;
  var table = document.getElementById('catalogue');
  var head = document.getElementById('sale');
  if (!G || !table || !head) { return; }

  var loggedIn = !!document.body.dataset.userId;
  var rows = {};
  var finished = {}; // lots counted as closed or withdrawn on the dashboard
  table.querySelectorAll('tr.lot-row').forEach(function (tr) {
    rows[tr.dataset.auctionId] = tr;
    G.seed(tr.dataset.auctionId, tr.dataset.seq);
    if (tr.dataset.status === 'closed' || tr.dataset.status === 'cancelled') { finished[tr.dataset.auctionId] = true; }
  });

  var STATUS_LABELS = { open: 'Open', scheduled: 'Scheduled', closed: 'Closed', cancelled: 'Cancelled' };
  var SALE_LABELS = { draft: 'Draft', scheduled: 'Upcoming', open: 'Open', closing: 'Closing now', closed: 'Closed', cancelled: 'Cancelled' };
  var $ = function (id) { return document.getElementById(id); };

  function running(tr) { return tr.dataset.status === 'open' || tr.dataset.status === 'scheduled'; }

  // --- The viewer's status in a lot (web/pages_sales.go lotStatus) -------

  function youStatus(tr, ev) {
    if (!loggedIn) { return ['', '–']; }
    if (tr.hasAttribute('data-mine')) { return ['seller', 'Your lot']; }
    var mine = tr.dataset.myAlias || '';
    var leading = mine !== '' && ev.leader === mine;
    if (ev.status === 'cancelled') { return ['lost', 'Withdrawn']; }
    if (ev.status === 'closed') {
      if (leading && ev.winner) { return ['won', 'Won']; }
      return mine ? ['lost', 'Lost'] : ['none', 'Not bid'];
    }
    if (leading && ev.has_reserve && !ev.reserve_met) { return ['reserve', 'Leading, reserve not met']; }
    if (leading) { return ['leading', 'Leading']; }
    return mine ? ['outbid', 'Outbid'] : ['none', 'Not bid'];
  }

  function setYou(tr, kind, text) {
    var el = tr.querySelector('.you');
    if (!el || (el.dataset.kind === kind && el.textContent === text)) { return; }
    el.className = kind ? 'you badge badge-' + kind : 'you';
    el.dataset.kind = kind;
    el.textContent = text;
  }

  // --- Applying one lot's state ------------------------------------------

  var last = {}; // auction id -> the latest state applied, for sale-level moves

  function setEnds(tr, iso) {
    var cd = tr.querySelector('.countdown');
    if (!cd || !iso) { return; }
    if (cd.dataset.pausedEndsAt !== undefined && tr.dataset.pausedAt) { cd.dataset.pausedEndsAt = iso; } else { cd.dataset.endsAt = iso; }
  }

  // setPaused stops a row's clock at pausedAt, or restarts it (null).
  function setPaused(tr, pausedAt) {
    var cd = tr.querySelector('.countdown');
    if (!cd) { return; }
    if (pausedAt && running(tr)) {
      tr.dataset.pausedAt = pausedAt;
      if (cd.dataset.endsAt) { cd.dataset.pausedEndsAt = cd.dataset.endsAt; delete cd.dataset.endsAt; }
      var left = Date.parse(cd.dataset.pausedEndsAt) - Date.parse(pausedAt);
      cd.textContent = 'Paused, ' + G.formatDuration(left) + ' left';
    } else {
      delete tr.dataset.pausedAt;
      if (cd.dataset.pausedEndsAt) { cd.dataset.endsAt = cd.dataset.pausedEndsAt; delete cd.dataset.pausedEndsAt; }
    }
  }

  function setStatus(tr, status) {
    if (!status || tr.dataset.status === status) { return; }
    tr.dataset.status = status;
    var badge = tr.querySelector('[data-role="status"]');
    if (badge) {
      badge.className = 'badge badge-' + status;
      badge.textContent = STATUS_LABELS[status] || status;
    }
    if (!running(tr)) {
      var form = tr.querySelector('.row-bid');
      if (form) { form.hidden = true; }
      var pull = tr.querySelector('.lot-withdraw');
      if (pull) { pull.remove(); }
      // An ended lot can no longer be watched, only unwatched (as on cards).
      var watch = tr.querySelector('.watch-form');
      if (watch && watch.querySelector('.watch-button').dataset.watching !== 'true') { watch.hidden = true; }
      setPaused(tr, null);
    }
  }

  function apply(tr, ev) {
    var id = tr.dataset.auctionId;
    last[id] = ev;
    var price = ev.bid_count > 0 ? ev.current_price : ev.start_price;
    G.setMoney(tr.querySelector('.price'), price, tr.dataset.currency, tr.dataset.exp);
    var count = tr.querySelector('.bid-count');
    if (count && count.textContent !== String(ev.bid_count)) { count.textContent = String(ev.bid_count); }
    var leader = tr.querySelector('.leader');
    if (leader && ev.leader !== undefined) {
      var text = ev.leader || '–';
      if (leader.textContent.indexOf(text) < 0) { leader.textContent = text; }
    }
    setStatus(tr, ev.status);
    setEnds(tr, ev.ends_at);
    setPaused(tr, ev.paused_at || null);
    var input = tr.querySelector('.row-bid-amount');
    if (input && !input.dataset.touched && document.activeElement !== input && ev.min_next_bid) {
      input.value = (ev.min_next_bid / Math.pow(10, Number(tr.dataset.exp) || 0)).toFixed(Number(tr.dataset.exp) || 0);
      rowEstimate(tr);
    }
    var s = youStatus(tr, ev);
    setYou(tr, s[0], s[1]);
  }

  // --- The lot closing now ------------------------------------------------

  var closing = null;
  var follow = $('follow-closing');

  function endsOf(tr) {
    var cd = tr.querySelector('.countdown');
    return cd ? Date.parse(cd.dataset.endsAt || cd.dataset.pausedEndsAt || '') : NaN;
  }

  function highlight() {
    var best = null;
    var bestEnd = Infinity;
    Object.keys(rows).forEach(function (id) {
      var tr = rows[id];
      if (tr.dataset.status !== 'open') { return; }
      var end = endsOf(tr);
      if (isNaN(end)) { return; }
      if (end < bestEnd || (end === bestEnd && Number(tr.dataset.lotNumber) < Number(best.dataset.lotNumber))) {
        best = tr;
        bestEnd = end;
      }
    });
    if (best === closing) { return; }
    if (closing) {
      closing.classList.remove('closing-now');
      var old = closing.querySelector('.closing-tag');
      if (old) { old.remove(); }
    }
    closing = best;
    var note = $('closing-now');
    if (!best) {
      if (note) { note.textContent = ''; }
      return;
    }
    best.classList.add('closing-now');
    var tag = document.createElement('span');
    tag.className = 'closing-tag';
    tag.textContent = 'Closing now';
    best.querySelector('th').appendChild(tag);
    if (note) {
      var link = best.querySelector('td a');
      note.textContent = 'Closing now: lot ' + best.dataset.lotNumber + (link ? ', ' + link.textContent : '') + '.';
    }
    if (follow && follow.checked) { best.scrollIntoView({ block: 'center', behavior: 'smooth' }); }
  }

  if (follow) {
    follow.addEventListener('change', function () {
      if (follow.checked && closing) { closing.scrollIntoView({ block: 'center' }); }
    });
  }

  // --- The seller's dashboard ---------------------------------------------

  var dash = $('dashboard');
  var bidTimes = [];
  var seedUntil = Date.now() + 60000;

  function bump(id, by) {
    var el = $(id);
    if (el) { el.textContent = String((Number(el.textContent) || 0) + by); }
  }

  function countFinish(type, ev) {
    var id = String(ev.auction_id);
    if (!dash || finished[id] || (type !== 'closed' && type !== 'cancelled')) { return; }
    finished[id] = true;
    bump('dash-open', -1);
    if (type === 'cancelled') { bump('dash-withdrawn', 1); return; }
    if (ev.winner) {
      bump('dash-sold', 1);
      var hammer = $('dash-hammer');
      var now = Number((hammer.querySelector('.money') || {}).dataset.amount || 0);
      G.setMoney(hammer, now + ev.current_price, hammer.dataset.currency, hammer.dataset.exp);
    } else {
      bump('dash-unsold', 1);
    }
  }

  function countBid() {
    if (!dash) { return; }
    var now = Date.now();
    bidTimes.push(now);
    showRate();
  }

  function showRate() {
    if (!dash) { return; }
    var now = Date.now();
    while (bidTimes.length && bidTimes[0] < now - 60000) { bidTimes.shift(); }
    // The server's count covers the minute before the page loaded.
    var seed = now < seedUntil ? Number(dash.dataset.bidsPerMinute) || 0 : 0;
    var el = $('dash-bpm');
    var text = String(Math.max(seed, bidTimes.length));
    if (el && el.textContent !== text) { el.textContent = text; }
  }

  // --- The sale's own events ----------------------------------------------

  function setSaleStatus(status) {
    if (!status) { return; }
    head.dataset.saleStatus = status;
    var el = $('sale-status');
    if (el) {
      el.className = 'badge badge-sale-' + status;
      el.textContent = SALE_LABELS[status] || status;
    }
  }

  function setSalePaused(pausedAt) {
    var banner = $('paused-banner');
    if (banner) { banner.hidden = !pausedAt; }
    if (pausedAt) { head.dataset.pausedAt = pausedAt; } else { delete head.dataset.pausedAt; }
  }

  // onSale applies a sale-level event to every row it moves.
  function onSale(type, ev) {
    setSaleStatus(ev.sale_status);
    var ids = Object.keys(rows);
    switch (type) {
      case 'sale_snapshot':
        if (ev.sale) {
          setSaleStatus(ev.sale.status);
          setSalePaused(ev.sale.paused_at || null);
        }
        (ev.lots || []).forEach(function (lot) {
          var tr = rows[String(lot.auction_id)];
          if (tr && G.accept('snapshot', lot)) { apply(tr, lot); }
        });
        break;
      case 'sale_paused':
        setSalePaused(ev.paused_at || ev.committed_at);
        ids.forEach(function (id) { setPaused(rows[id], ev.paused_at || ev.committed_at); });
        break;
      case 'sale_resumed':
        setSalePaused(null);
        ids.forEach(function (id) {
          var tr = rows[id];
          if (!running(tr)) { return; }
          setPaused(tr, null);
          shift(tr, ev.shift_ms);
        });
        break;
      case 'sale_extended':
        var capped = {};
        (ev.capped || []).forEach(function (c) { capped[String(c.auction_id)] = c.ends_at; });
        ids.forEach(function (id) {
          var tr = rows[id];
          if (!running(tr) || Number(tr.dataset.lotNumber) <= Number(ev.after_lot)) { return; }
          if (capped[id]) { setEnds(tr, capped[id]); } else { shift(tr, ev.shift_ms); }
        });
        break;
      case 'sale_opened':
        ids.forEach(function (id) { if (rows[id].dataset.status === 'scheduled') { setStatus(rows[id], 'open'); } });
        break;
      case 'sale_cancelled':
        ids.forEach(function (id) {
          var tr = rows[id];
          if (running(tr)) {
            countFinish('cancelled', { auction_id: id });
            setStatus(tr, 'cancelled');
            setYou(tr, 'lost', 'Withdrawn');
          }
        });
        setSalePaused(null);
        break;
      case 'sale_closed':
        setSalePaused(null);
        break;
      case 'sale_watchers':
        var w = $('dash-watchers');
        if (w && ev.watchers !== undefined) { w.textContent = String(ev.watchers); }
        break;
    }
    highlight();
  }

  // shift moves a row's end by ms (a cascade or a resume).
  function shift(tr, ms) {
    var cd = tr.querySelector('.countdown');
    if (!cd) { return; }
    var key = cd.dataset.endsAt ? 'endsAt' : 'pausedEndsAt';
    var end = Date.parse(cd.dataset[key] || '');
    if (!isNaN(end)) { cd.dataset[key] = new Date(end + Number(ms || 0)).toISOString(); }
  }

  // --- Events --------------------------------------------------------------

  var aliasBySeq = {}; // auction id -> { seq: bidder alias } of recent bids
  var ownSeq = {}; // auction id -> seq of the viewer's last accepted bid

  function learnAlias(tr, id, seq, bidder) {
    if (!bidder) { return; }
    var seen = aliasBySeq[id] = aliasBySeq[id] || {};
    seen[seq] = bidder;
    var keys = Object.keys(seen);
    if (keys.length > 20) { delete seen[keys[0]]; }
    if (ownSeq[id] === seq) { tr.dataset.myAlias = bidder; }
  }

  function onEvent(type, ev) {
    if (type.indexOf('sale_') === 0) {
      if (String(ev.sale_id) === head.dataset.saleId || type === 'sale_snapshot') { onSale(type, ev); }
      return;
    }
    var tr = rows[String(ev.auction_id)];
    if (!tr) { return; }
    if (type === 'outbid' || type === 'won') { return; }
    if (type === 'price') {
      learnAlias(tr, String(ev.auction_id), Number(ev.seq), ev.bidder);
      countBid();
    }
    apply(tr, ev);
    countFinish(type, ev);
    highlight();
  }

  // --- Bidding from a row ----------------------------------------------------

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return Date.now().toString(36) + '-' + Math.random().toString(36).slice(2);
  }

  function rowResult(tr, kind, text) {
    var el = tr.querySelector('.row-result');
    el.dataset.kind = kind;
    el.textContent = text;
  }

  // rowEstimate redraws "Your bid → total with buyer's premium" under a
  // row's bid form (fees.js), as on the lot's page.
  function rowEstimate(tr) {
    var el = tr.querySelector('.row-estimate');
    var input = tr.querySelector('.row-bid-amount');
    if (!el || !input || !G.feeEstimateText) { return; }
    var fees = {};
    try { fees = JSON.parse(el.dataset.fees || '{}') || {}; } catch (err) { fees = {}; }
    el.textContent = G.feeEstimateText(input, fees, el.dataset.feeWords, tr.dataset.currency, Number(tr.dataset.exp) || 0);
  }

  table.addEventListener('input', function (e) {
    if (e.target.classList.contains('row-bid-amount')) { e.target.dataset.touched = '1'; rowEstimate(e.target.closest('tr')); }
  });

  table.addEventListener('submit', function (e) {
    var form = e.target;
    if (!form.classList.contains('row-bid')) { return; }
    e.preventDefault();
    var tr = form.closest('tr');
    var id = tr.dataset.auctionId;
    var exp = Number(tr.dataset.exp) || 0;
    var input = form.querySelector('.row-bid-amount');
    var amount = G.parseAmount(input.value, exp);
    if (amount.error) {
      input.setAttribute('aria-invalid', 'true');
      rowResult(tr, 'error', amount.error);
      input.focus();
      return;
    }
    input.removeAttribute('aria-invalid');
    var key = form.dataset.pendingKey || newKey();
    form.dataset.pendingKey = key; // kept across a network failure: a retry is the same bid
    var button = form.querySelector('button');
    button.disabled = true;
    rowResult(tr, 'pending', 'Placing your bid…');
    fetch('/api/v1/auctions/' + id + '/bids', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify({ amount: amount.value })
    }).then(function (res) {
      delete form.dataset.pendingKey;
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (res.ok) {
          receipt(tr, data);
        } else {
          var msg = G.bidProblemText(res.status, data);
          if (res.status === 401) { msg = 'Please log in again to bid.'; }
          input.setAttribute('aria-invalid', 'true');
          rowResult(tr, 'error', msg);
        }
      });
    }).catch(function () {
      rowResult(tr, 'error', 'Network problem: your bid may not have been placed. Check the lot, or try again.');
    }).then(function () {
      button.disabled = false;
    });
  });

  function receipt(tr, r) {
    var id = tr.dataset.auctionId;
    var input = tr.querySelector('.row-bid-amount');
    delete input.dataset.touched;
    ownSeq[id] = Number(r.seq);
    var known = aliasBySeq[id] && aliasBySeq[id][Number(r.seq)];
    if (known) { tr.dataset.myAlias = known; }
    var est = tr.querySelector('.row-estimate');
    var text = G.bidReceiptText(r, tr.dataset.currency, tr.dataset.exp, est ? est.dataset.feeWords : '');
    rowResult(tr, r.leading ? 'ok' : 'error', text);
    if (r.status !== 'closed') { setYou(tr, r.leading ? 'leading' : 'outbid', r.leading ? 'Leading' : 'Outbid'); }
  }

  // --- Start -------------------------------------------------------------

  highlight();
  setInterval(function () { highlight(); showRate(); }, 1000);
  Object.keys(rows).forEach(function (id) {
    var tr = rows[id];
    if (tr.dataset.pausedAt) { setPaused(tr, tr.dataset.pausedAt); }
  });
  var stream = document.body.dataset.stream;
  if (stream) {
    G.connect(stream, onEvent);
  }
})();
