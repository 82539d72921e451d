/* auction.js: the live auction page. It opens the page's one stream,
 * /stream/auctions/{id}, and redraws price, minimum next bid, bid count,
 * leader, end time and result from each event (every event carries the
 * full public state). It prepends new bids to #bid-history, shows
 * "Extended!" when soft close moves the end, refetches the auction from the
 * API after price changes to learn whether the viewer still leads, and
 * places bids with fetch so the result appears inline (the form still works
 * without JavaScript).
 */
(function () {
  'use strict';

  var G = window.Gavel;
  var root = document.getElementById('auction');
  if (!G || !root) { return; }

  var id = root.dataset.auctionId;
  var currency = root.dataset.currency;
  var exp = Number(root.dataset.exp) || 0;
  var loggedIn = root.dataset.loggedIn === 'true';
  var leading = root.dataset.leading === 'true';
  var wasOutbid = false;
  var $ = function (sel) { return document.getElementById(sel); };

  G.seed(id, root.dataset.seq);

  // --- Applying state ----------------------------------------------------

  var STATUS_LABELS = { open: 'Open', scheduled: 'Scheduled', closed: 'Closed', cancelled: 'Cancelled' };

  function setText(elId, text) {
    var el = $(elId);
    if (el && el.textContent !== text) { el.textContent = text; }
  }

  function setStatus(status) {
    root.dataset.status = status;
    var badge = document.querySelector('#status .badge');
    if (badge) {
      badge.className = 'badge badge-' + status;
      badge.textContent = STATUS_LABELS[status] || status;
    }
    setText('countdown-label', status === 'scheduled' ? 'Starts in' : 'Time left');
    if (status === 'closed' || status === 'cancelled') {
      ['bid-form', 'buy-now-form'].forEach(function (f) { if ($(f)) { $(f).hidden = true; } });
      // Bids of an ended auction can no longer be cancelled.
      var list = $('bid-history');
      if (list) {
        list.dataset.canStrike = 'false';
        Array.prototype.forEach.call(list.querySelectorAll('.bid-strike'), function (el) { el.remove(); });
      }
    }
  }

  function resultText(ev) {
    if (ev.status === 'cancelled') {
      return ['cancelled', 'This auction was cancelled.' + (ev.reason ? ' Reason: ' + ev.reason : '')];
    }
    if (ev.status !== 'closed') { return ['', '']; }
    if (ev.winner) { return ['sold', 'Sold to ' + ev.winner + ' for ' + G.money(ev.current_price, currency, exp) + '.']; }
    if (ev.bid_count > 0 && ev.has_reserve && !ev.reserve_met) { return ['reserve', 'Reserve not met: the item did not sell.']; }
    return ['unsold', 'No bids: the item did not sell.'];
  }

  var amountTouched = false;
  var amountInput = $('bid-amount');
  if (amountInput) {
    amountInput.addEventListener('input', function () { amountTouched = true; });
  }

  function apply(type, ev) {
    if (ev.title) { setText('title', ev.title); }
    var price = ev.bid_count > 0 ? ev.current_price : ev.start_price;
    G.setMoney($('price'), price, currency, exp);
    G.setMoney($('min-next-bid'), ev.min_next_bid, currency, exp);
    setText('bid-count', String(ev.bid_count));
    setText('leader', ev.leader || 'No bids yet');
    if ($('reserve')) { setText('reserve', ev.reserve_met ? 'Reserve met' : 'Reserve not met'); }
    if (ev.ends_at) {
      $('countdown').dataset.endsAt = ev.ends_at;
      var endsAt = $('ends-at');
      endsAt.textContent = '';
      endsAt.appendChild(G.timeEl(ev.ends_at));
    }
    var buy = $('buy-now-form');
    if (buy) {
      buy.hidden = !ev.buy_now_price || ev.status === 'closed' || ev.status === 'cancelled';
      if (ev.buy_now_price) { G.setMoney($('buy-now-price'), ev.buy_now_price, currency, exp); }
    }
    if (amountInput && !amountTouched && document.activeElement !== amountInput && ev.min_next_bid) {
      amountInput.value = (ev.min_next_bid / Math.pow(10, exp)).toFixed(exp);
    }
    setStatus(ev.status);
    showPause(ev.paused_at);
    var r = resultText(ev);
    var result = $('result');
    if (result && r[1]) {
      result.dataset.kind = r[0];
      result.textContent = r[1];
      result.hidden = false;
    }
    G.tick();
  }

  // showPause stops the countdown while the lot's sale is paused: its end
  // moves by the pause's length when the sale resumes.
  function showPause(pausedAt) {
    var cd = $('countdown');
    var notice = $('paused-notice');
    if (pausedAt && (root.dataset.status === 'open' || root.dataset.status === 'scheduled')) {
      if (cd.dataset.endsAt) { cd.dataset.pausedEndsAt = cd.dataset.endsAt; delete cd.dataset.endsAt; }
      cd.textContent = 'Paused, ' + G.formatDuration(Date.parse(cd.dataset.pausedEndsAt) - Date.parse(pausedAt)) + ' left';
      if (notice) { notice.hidden = false; }
      return;
    }
    if (cd.dataset.pausedEndsAt) {
      if (!cd.dataset.endsAt) { cd.dataset.endsAt = cd.dataset.pausedEndsAt; }
      delete cd.dataset.pausedEndsAt;
    }
    if (notice) { notice.hidden = true; }
  }

  function addBid(ev) {
    var list = $('bid-history');
    if (!list || !ev.bidder || !ev.bid_amount) { return false; }
    if (list.querySelector('li[data-seq="' + Number(ev.seq) + '"]')) { return true; }
    var li = document.createElement('li');
    li.dataset.seq = String(ev.seq);
    var who = document.createElement('span');
    who.className = 'bidder';
    who.textContent = ev.bidder;
    var amount = document.createElement('span');
    amount.className = 'money';
    amount.dataset.amount = String(ev.bid_amount);
    amount.textContent = G.money(ev.bid_amount, currency, exp);
    li.appendChild(who);
    li.appendChild(document.createTextNode(' '));
    li.appendChild(amount);
    if (ev.type === 'closed') {
      var tag = document.createElement('span');
      tag.className = 'tag';
      tag.textContent = 'buy it now';
      li.appendChild(document.createTextNode(' '));
      li.appendChild(tag);
    }
    li.appendChild(document.createTextNode(' '));
    li.appendChild(G.timeEl(ev.committed_at));
    if (ev.bid_id) {
      li.dataset.bidId = String(ev.bid_id);
      if (list.dataset.canStrike === 'true' && ev.type !== 'closed') { li.appendChild(strikeForm(ev.bid_id)); }
    }
    list.insertBefore(li, list.firstChild);
    $('bid-history-empty').hidden = true;
    return true;
  }

  // strikeForm is the admin's "cancel this bid" form, as the page renders
  // it for the bids it was served with.
  function strikeForm(bidId) {
    var details = document.createElement('details');
    details.className = 'row-action bid-strike';
    var summary = document.createElement('summary');
    summary.textContent = 'Cancel bid…';
    var form = document.createElement('form');
    form.method = 'post';
    form.action = '/admin/auctions/' + id + '/bids/' + Number(bidId) + '/cancel';
    form.className = 'form compact';
    var label = document.createElement('label');
    label.htmlFor = 'strike-reason-' + Number(bidId);
    label.textContent = 'Reason';
    var input = document.createElement('input');
    input.id = label.htmlFor;
    input.name = 'reason';
    input.type = 'text';
    input.required = true;
    input.maxLength = 500;
    var button = document.createElement('button');
    button.type = 'submit';
    button.className = 'button button-danger';
    button.textContent = 'Cancel this bid';
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(button);
    details.appendChild(summary);
    details.appendChild(form);
    return details;
  }

  // reloadBids rebuilds the history from the API: after a snapshot that
  // reset the stream, or a price change that came from no new bid (bids
  // voided by a suspension or struck by an admin).
  var bidsTimer = 0;
  function reloadBids() {
    clearTimeout(bidsTimer);
    bidsTimer = setTimeout(function () {
      fetch('/api/v1/auctions/' + id + '/bids', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          var bids = Array.isArray(data) ? data : (data && (data.bids || data.items));
          if (!Array.isArray(bids)) { return; }
          var list = $('bid-history');
          list.textContent = '';
          bids.slice().reverse().forEach(function (b) {
            addBid({ seq: b.seq, bid_id: b.id, bidder: b.bidder, bid_amount: b.amount, committed_at: b.received_at, type: b.buy_now ? 'closed' : 'price' });
          });
          $('bid-history-empty').hidden = bids.length > 0;
        })
        .catch(function () {});
    }, 300);
  }

  // --- The viewer's own status --------------------------------------------

  function youStatus(v) {
    var you = v.you;
    if (!you) { return ['', '']; }
    if (you.seller) { return ['seller', 'You are the seller.']; }
    if (v.status === 'cancelled') { return ['', '']; }
    if (you.leading) {
      if (v.status === 'closed') {
        return v.winner ? ['won', 'You won this auction!'] : ['lost', 'You were the highest bidder, but the reserve was not met.'];
      }
      if (v.has_reserve && !v.reserve_met) { return ['reserve', 'You are the highest bidder, but the reserve has not been met yet.']; }
      var max = you.max_amount ? ' Your maximum is ' + G.money(you.max_amount, currency, exp) + '.' : '';
      return ['leading', 'You are the highest bidder.' + max];
    }
    if (wasOutbid) { return ['outbid', v.status === 'closed' ? 'You were outbid.' : 'You have been outbid.']; }
    return v.bid_count > 0 ? ['notleading', 'You are not the highest bidder.'] : ['', ''];
  }

  function showYou(v) {
    if (!v || !v.you) { return; }
    if (leading && !v.you.leading && !v.you.seller) {
      wasOutbid = true;
      // The last bid's "you are the highest bidder" is no longer true.
      var res = $('bid-result');
      if (res && res.dataset.kind === 'ok') { res.dataset.kind = ''; res.textContent = ''; }
      G.toast('You have been outbid on “' + (v.title || 'this auction') + '”.', '', 'outbid-' + id);
    }
    leading = !!v.you.leading;
    root.dataset.leading = String(leading);
    var s = youStatus(v);
    var el = $('your-status');
    el.dataset.kind = s[0];
    el.textContent = s[1];
  }

  // refreshYou refetches the auction (cheap) to learn whether the viewer
  // leads: events carry aliases, and the page does not know its own.
  var youTimer = 0;
  function refreshYou() {
    if (!loggedIn) { return; }
    clearTimeout(youTimer);
    youTimer = setTimeout(function () {
      fetch('/api/v1/auctions/' + id, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(showYou)
        .catch(function () {});
    }, 200);
  }

  // --- Events ------------------------------------------------------------

  function onEvent(type, ev) {
    if (String(ev.auction_id) !== String(id)) { return; }
    switch (type) {
      case 'snapshot':
      case 'opened':
      case 'price':
      case 'closed':
      case 'cancelled':
        apply(type, ev);
        if ((type === 'price' || type === 'closed') && !addBid(ev) && type === 'price') { reloadBids(); }
        if (type === 'snapshot' && ev.reset) { reloadBids(); }
        refreshYou();
        break;
      case 'paused':
      case 'resumed':
        apply(type, ev);
        break;
      case 'extended':
        apply(type, ev);
        var notice = $('extended-notice');
        notice.textContent = 'Extended! A late bid moved the end to ' + G.localTime(ev.ends_at) + '.';
        notice.hidden = false;
        break;
      case 'outbid':
        refreshYou();
        break;
      case 'won':
        refreshYou();
        break;
    }
  }

  // --- Bidding -----------------------------------------------------------

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return Date.now().toString(36) + '-' + Math.random().toString(36).slice(2);
  }

  function fieldError(elId, msg) {
    var err = $(elId + '-error');
    var input = $(elId);
    if (err) { err.textContent = msg || ''; }
    if (input) {
      if (msg) { input.setAttribute('aria-invalid', 'true'); } else { input.removeAttribute('aria-invalid'); }
    }
  }

  function showResult(kind, text) {
    var el = $('bid-result');
    el.dataset.kind = kind;
    el.textContent = text;
  }

  // pendingKey survives a network failure so that retrying the same bid is
  // idempotent; any answer from the server clears it.
  var pendingKey = '';

  function submitBid(buyNow, button) {
    fieldError('bid-amount', '');
    fieldError('bid-max', '');
    var body = {};
    if (!buyNow) {
      var amount = G.parseAmount($('bid-amount').value, exp);
      if (amount.error) { fieldError('bid-amount', amount.error); $('bid-amount').focus(); return; }
      body.amount = amount.value;
      var maxText = $('bid-max').value.trim();
      if (maxText) {
        var max = G.parseAmount(maxText, exp);
        if (max.error) { fieldError('bid-max', max.error); $('bid-max').focus(); return; }
        body.max_amount = max.value;
      }
    }
    if (!pendingKey) { pendingKey = newKey(); }
    button.disabled = true;
    showResult('pending', 'Placing your bid…');
    fetch('/api/v1/auctions/' + id + (buyNow ? '/buy-now' : '/bids'), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Idempotency-Key': pendingKey },
      body: JSON.stringify(body)
    }).then(function (res) {
      pendingKey = '';
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (res.ok) { receipt(data); } else { problem(res.status, data); }
      });
    }).catch(function () {
      showResult('error', 'Network problem: your bid may not have been placed. Check the bid history, or try again.');
    }).then(function () {
      button.disabled = false;
    });
  }

  function receipt(r) {
    amountTouched = false;
    // The receipt is authoritative for this moment: draw the status now,
    // so an outbid that follows within the refetch delay is still noticed.
    if (r.status !== 'closed') {
      leading = !!r.leading;
      root.dataset.leading = String(leading);
      if (leading) {
        wasOutbid = false;
        $('your-status').dataset.kind = 'leading';
        $('your-status').textContent = 'You are the highest bidder.';
      }
    }
    $('bid-max').value = '';
    showResult(r.leading ? 'ok' : 'error', G.bidReceiptText(r, currency, exp));
    refreshYou();
  }

  function problem(status, p) {
    var errors = (p && p.errors) || {};
    if (errors.amount) { fieldError('bid-amount', errors.amount); }
    if (errors.max_amount) { fieldError('bid-max', errors.max_amount); }
    if (p && p.min_next_bid) { G.setMoney($('min-next-bid'), p.min_next_bid, currency, exp); }
    var msg = G.bidProblemText(status, p);
    if (status === 401) { msg = 'Please log in again to bid.'; }
    showResult('error', msg);
  }

  var form = $('bid-form');
  if (form) {
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      submitBid(false, $('bid-submit'));
    });
  }
  var buyForm = $('buy-now-form');
  if (buyForm) {
    buyForm.addEventListener('submit', function (e) {
      e.preventDefault();
      submitBid(true, $('buy-now'));
    });
  }

  if (root.dataset.pausedAt) { showPause(root.dataset.pausedAt); }

  if (loggedIn) {
    G.connect('/stream/auctions/' + id, onEvent);
    G.me.subscribe(function (type, ev) {
      if (String(ev.auction_id) === String(id) && (type === 'outbid' || type === 'won')) { refreshYou(); }
    });
  }
})();
