/* auction.js: the live auction page. It opens the page's one stream,
 * /stream/auctions/{id}, and redraws price, minimum next bid, bid count,
 * leader, end time and result from each event (every event carries the
 * full public state). It adds each bid, and the automatic bids it caused,
 * to #bid-history through auction-history.js (loaded first), shows
 * "Extended!" when soft close moves the end, announces the
 * last 5 minutes, the last minute, an extension and the close politely to
 * screen readers (#announcer), refetches the auction from the API after
 * price changes to learn whether the viewer still leads, and places bids
 * with fetch so the result appears inline (the form still works without
 * JavaScript).
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
  var identify = root.dataset.identify === 'true';
  var myAlias = root.dataset.myAlias || '';
  var wasOutbid = false;
  var $ = function (sel) { return document.getElementById(sel); };

  G.seed(id, root.dataset.seq);

  // --- The bid history (auction-history.js) ------------------------------

  var hist = G.bidHistory({ id: id, currency: currency, exp: exp, identify: identify,
    alias: function () { return myAlias; } });
  var addLine = hist.add;
  var eventLines = hist.eventLines;
  var reloadBids = hist.reload;

  // --- Fees --------------------------------------------------------------
  // The lot's fee schedule comes with the page; G.feeEstimate (fees.js)
  // applies it with the server's rule.

  var fees = {};
  try { fees = JSON.parse(root.dataset.fees || '{}') || {}; } catch (e) { fees = {}; }
  var feeWords = root.dataset.feeWords || '';

  function estimate(hammer) { return G.feeEstimate(fees, hammer); }

  // showEstimate draws "Your bid €100.00 → €125.00 with buyer's premium
  // and VAT" for the amount in the bid form.
  function showEstimate() {
    var el = $('bid-estimate');
    var input = $('bid-amount');
    if (!el || !input || !feeWords) { return; }
    el.textContent = G.feeEstimateText(input, fees, feeWords, currency, exp);
  }

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
      ['bid-form', 'buy-now-form', 'min-next-fact'].forEach(function (f) { if ($(f)) { $(f).hidden = true; } });
      setText('ends-at-label', 'Ended at');
      // "Bid placed … You are the highest bidder" is stale once it ends:
      // the result and the viewer's status say what counts now.
      var res = $('bid-result');
      if (res && (res.dataset.kind === 'ok' || res.dataset.kind === 'pending')) { res.dataset.kind = ''; res.textContent = ''; }
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
    if (ev.winner) {
      var person = hist.identity(ev.winner);
      var who = person ? ev.winner + ' (' + person.name + ')' : ev.winner;
      return ['sold', 'Sold to ' + who + ' for ' + G.money(ev.current_price, currency, exp) + '.'];
    }
    if (ev.bid_count > 0 && ev.has_reserve && !ev.reserve_met) {
      return ['reserve', 'Reserve not met: the highest bid, ' + G.money(ev.current_price, currency, exp) + ', was below the reserve, so the item did not sell.'];
    }
    return ['unsold', 'No bids: the item did not sell.'];
  }

  var amountTouched = false;
  var amountInput = $('bid-amount');
  if (amountInput) {
    amountInput.addEventListener('input', function () { amountTouched = true; showEstimate(); });
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
      var shown = endsAt.querySelector('time');
      if (!shown || shown.getAttribute('datetime') !== ev.ends_at) {
        endsAt.textContent = '';
        endsAt.appendChild(G.timeEl(ev.ends_at, true));
      }
    }
    var buy = $('buy-now-form');
    if (buy) {
      buy.hidden = !ev.buy_now_price || ev.status === 'closed' || ev.status === 'cancelled';
      if (ev.buy_now_price) { G.setMoney($('buy-now-price'), ev.buy_now_price, currency, exp); }
    }
    if (amountInput && !amountTouched && document.activeElement !== amountInput && ev.min_next_bid) {
      amountInput.value = (ev.min_next_bid / Math.pow(10, exp)).toFixed(exp);
      showEstimate();
    }
    if ($('estimated-total')) { G.setMoney($('estimated-total'), estimate(price), currency, exp); }
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

  // --- The viewer's own status --------------------------------------------

  function youStatus(v) {
    var you = v.you;
    if (!you) { return ['', '']; }
    if (you.seller) { return ['seller', 'You are the seller.']; }
    if (v.status === 'cancelled') { return you.alias ? ['lost', 'This auction was cancelled: your bids no longer count.'] : ['', '']; }
    if (you.leading) {
      if (v.status === 'closed') {
        return v.winner ? ['won', 'You won this auction!'] : ['lost', 'You were the highest bidder, but the reserve was not met.'];
      }
      if (v.has_reserve && !v.reserve_met) { return ['reserve', 'You are the highest bidder, but the reserve has not been met yet.']; }
      var max = you.max_amount ? ' Your maximum is ' + G.money(you.max_amount, currency, exp) + '.' : '';
      return ['leading', 'You are the highest bidder.' + max];
    }
    if (wasOutbid) { return ['outbid', v.status === 'closed' ? 'You were outbid: the auction has ended.' : 'You have been outbid.']; }
    // Only someone who has bid here is "not the highest bidder".
    if (!you.alias) { return ['', '']; }
    if (v.status === 'closed') { return ['lost', 'You were outbid: the auction has ended.']; }
    return ['notleading', 'You are not the highest bidder.'];
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
    if (v.you.alias && v.you.alias !== myAlias) {
      myAlias = v.you.alias;
      root.dataset.myAlias = myAlias;
      hist.markMine(myAlias);
    }
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

  // --- Announcements -------------------------------------------------------

  // The live region speaks, politely, when 5 minutes and then 1 minute are
  // left, when soft close extends the auction and when it ends; a
  // threshold passed before the page loaded is not announced.
  var THRESHOLDS = [[300000, '5 minutes left.'], [60000, '1 minute left.']];
  var announced = {};
  function announce(text) {
    var el = $('announcer');
    if (!el) { return; }
    // Clearing first makes a repeated message speak again.
    el.textContent = '';
    setTimeout(function () { el.textContent = text; }, 50);
  }
  function armThresholds(left) {
    THRESHOLDS.forEach(function (t) { announced[t[0]] = left <= t[0]; });
  }
  var lastLeft = null;
  function checkThresholds(now) {
    if (root.dataset.status !== 'open') { return; }
    var left = Date.parse($('countdown').dataset.endsAt) - now;
    if (isNaN(left)) { return; }
    if (lastLeft === null) { armThresholds(left); }
    lastLeft = left;
    for (var i = THRESHOLDS.length - 1; i >= 0; i--) {
      var t = THRESHOLDS[i];
      if (left > 0 && left <= t[0] && !announced[t[0]]) {
        THRESHOLDS.forEach(function (u) { if (u[0] >= t[0]) { announced[u[0]] = true; } });
        announce(t[1] + ' The current price is ' + $('price').textContent.trim() + '.');
        return;
      }
    }
  }
  G.onTick(checkThresholds);

  var lastBidCount = Number(($('bid-count') || {}).textContent) || 0;
  var ended = root.dataset.status === 'closed' || root.dataset.status === 'cancelled';

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
        if (type === 'price' || type === 'closed') {
          var lines = eventLines(ev);
          lines.forEach(addLine);
          // A price change with no line and no new bid (a raise adds one
          // bid and no public line) came from a struck or voided bid.
          if (type === 'price' && lines.length === 0 && ev.bid_count !== lastBidCount + 1) { reloadBids(); }
        }
        if (type === 'snapshot' && ev.reset) { reloadBids(); }
        lastBidCount = ev.bid_count;
        if ((type === 'closed' || type === 'cancelled') && !ended) {
          ended = true;
          announce(type === 'cancelled' ? 'This auction was cancelled.' : 'Bidding has closed. ' + resultText(ev)[1]);
        }
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
        armThresholds(Date.parse(ev.ends_at) - G.now());
        announce('Extended: a late bid moved the end to ' + G.localTime(ev.ends_at) + '.');
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
    var wasLeading = leading;
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
    if (wasLeading && r.leading && r.status !== 'closed' && r.max_amount) {
      // A raise of one's own maximum is no public line: only its bidder
      // sees it, here at once and from the history API on reload.
      addLine({ seq: r.seq, pos: 0, bid_id: r.bid_id, bidder: myAlias || 'You', amount: r.max_amount, at: r.received_at, raise: true, you: true });
    }
    $('bid-max').value = '';
    if (r.status !== 'closed' && wasLeading && r.leading && r.max_amount) {
      showResult('ok', 'Your maximum is now ' + G.money(r.max_amount, currency, exp) + '. You are still the highest bidder.');
    } else {
      showResult(r.leading ? 'ok' : 'error', G.bidReceiptText(r, currency, exp, feeWords));
    }
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

  // Guests watch too: the page gave them a guest session (data-stream).
  if (document.body.dataset.stream) {
    G.connect(document.body.dataset.stream, onEvent);
  }
  if (loggedIn) {
    G.me.subscribe(function (type, ev) {
      if (String(ev.auction_id) === String(id) && (type === 'outbid' || type === 'won')) { refreshYou(); }
    });
  }
})();
