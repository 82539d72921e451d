/* stream.js: the shared client runtime every page loads first.
 *
 * - Gavel.connect(url, handler) wraps the one EventSource a page may open:
 *   it keeps #conn-status at "live" / "reconnecting…", parses each event,
 *   syncs the page's clock offset to the event's server_time, drops
 *   events already applied (seq per auction, id for personal events) and
 *   reopens the stream itself, with lastEventId, if the browser gives up.
 * - Gavel.me.subscribe(fn) delivers the user's /stream/me events (outbid,
 *   won, and the live state of their own listings) from ONE connection
 *   shared by every tab through a SharedWorker (shared-stream.js). Pages
 *   with no stream of their own fall back to their own EventSource on
 *   /stream/me when SharedWorker is missing (e.g. Chrome on Android);
 *   pages that already hold an auction stream then get no cross-auction
 *   toasts, because a second connection per page would eat into the
 *   browser's six connections per origin. The auction page still shows
 *   "outbid" for its own auction from its own stream.
 * - Toasts (#toast) for outbid, won and the watchlist's reminders
 *   (ending_soon, watch_extended, watch_closed), money in the auction's currency, local
 *   times (<time data-local>) and the countdowns ([data-ends-at]).
 */
(function () {
  'use strict';

  var G = (window.Gavel = window.Gavel || {});
  document.documentElement.classList.add('js');

  var TYPES = ['snapshot', 'opened', 'price', 'extended', 'closed', 'cancelled',
    'outbid', 'won', 'suspended', 'stats',
    'paused', 'resumed', 'sale_snapshot', 'sale_scheduled', 'sale_updated', 'sale_opened', 'sale_closing',
    'sale_closed', 'sale_cancelled', 'sale_paused', 'sale_resumed', 'sale_extended', 'sale_watchers',
    'ending_soon', 'watch_extended', 'watch_closed', 'watchers'];
  var PERSONAL = { outbid: true, won: true, suspended: true,
    ending_soon: true, watch_extended: true, watch_closed: true, watchers: true };
  // WATCH_NOTICES carry a watched lot's state as it was when the notice
  // was sent (or none, for watchers): pages never redraw prices from them.
  G.WATCH_NOTICES = { ending_soon: true, watch_extended: true, watch_closed: true, watchers: true };

  G.offset = 0; // server clock minus local clock, in ms
  G.now = function () { return Date.now() + G.offset; };
  G.syncClock = function (iso) {
    var t = Date.parse(iso || '');
    if (!isNaN(t) && t > 0) { G.offset = t - Date.now(); }
  };

  // --- De-duplication -----------------------------------------------------

  var lastSeq = {};
  var seenIds = {};
  var seenOrder = [];

  // seed records the seq the server rendered, so replayed older events are
  // ignored.
  G.seed = function (auctionId, seq) {
    var s = Number(seq) || 0;
    if (!(auctionId in lastSeq) || lastSeq[auctionId] < s) { lastSeq[auctionId] = s; }
  };

  // accept reports whether an event is new, and records it. A snapshot
  // always replaces state; other auction events apply only above the last
  // applied seq, which makes replays after a reconnect harmless.
  var lastSaleSeq = {};

  G.accept = function (type, ev) {
    if (type === 'stats') { return true; }
    if (type.indexOf('sale_') === 0) {
      // A sale's own events, by position in the sale's log.
      var sseq = Number(ev.sale_seq) || 0;
      var sid = ev.sale_id || (ev.sale && ev.sale.id);
      if (!sid || !sseq) { return true; }
      if (type !== 'sale_snapshot' && sid in lastSaleSeq && sseq <= lastSaleSeq[sid]) { return false; }
      lastSaleSeq[sid] = sseq;
      return true;
    }
    if (PERSONAL[type]) {
      if (!ev.id) { return true; }
      if (seenIds[ev.id]) { return false; }
      seenIds[ev.id] = true;
      seenOrder.push(ev.id);
      if (seenOrder.length > 500) { delete seenIds[seenOrder.shift()]; }
      return true;
    }
    var id = ev.auction_id;
    if (!id) { return true; }
    var seq = Number(ev.seq) || 0;
    if (type !== 'snapshot' && id in lastSeq && seq <= lastSeq[id]) { return false; }
    lastSeq[id] = seq;
    return true;
  };

  // --- Connection status --------------------------------------------------

  var LABELS = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', offline: 'offline' };
  G.setStatus = function (state) {
    var el = document.getElementById('conn-status');
    if (!el) { return; }
    el.dataset.state = state;
    el.textContent = LABELS[state] || state;
  };

  // --- Streams -----------------------------------------------------------

  function parse(raw) {
    try { return JSON.parse(raw); } catch (e) { return null; }
  }

  // deliver runs the common steps for one received event.
  function deliver(type, raw, handler) {
    var ev = parse(raw);
    if (!ev || typeof ev !== 'object') { return; }
    if (ev.server_time) { G.syncClock(ev.server_time); }
    if (!G.accept(type, ev)) { return; }
    if (PERSONAL[type]) { notifyPersonal(type, ev); }
    if (handler) { handler(type, ev); }
  }

  // connect opens url as this page's one EventSource. The browser
  // reconnects by itself after a dropped connection, sending
  // Last-Event-ID; only when it gives up for good (an HTTP error such as
  // 429 or 503) do we reopen it, with backoff and the lastEventId query
  // parameter, because a new EventSource does not send the header.
  G.connect = function (url, handler, opts) {
    opts = opts || {};
    var setStatus = opts.status || G.setStatus;
    var es = null;
    var lastId = '';
    var attempt = 0;
    var timer = 0;

    function open() {
      var u = url;
      if (lastId) { u += (u.indexOf('?') < 0 ? '?' : '&') + 'lastEventId=' + encodeURIComponent(lastId); }
      es = new EventSource(u);
      setStatus(attempt === 0 && !lastId ? 'connecting' : 'reconnecting');
      es.onopen = function () { attempt = 0; setStatus('live'); };
      es.onerror = function () {
        setStatus('reconnecting');
        if (es.readyState === EventSource.CLOSED) { retryLater(); }
      };
      TYPES.forEach(function (t) {
        es.addEventListener(t, function (m) {
          if (m.lastEventId) { lastId = m.lastEventId; }
          deliver(t, m.data, handler);
        });
      });
    }

    function retryLater() {
      if (es) { es.close(); }
      clearTimeout(timer);
      var delay = Math.min(60000, 1000 * Math.pow(2, attempt++));
      timer = setTimeout(open, delay + Math.floor(Math.random() * 1000));
    }

    open();
    return {
      close: function () { clearTimeout(timer); if (es) { es.close(); } setStatus('offline'); }
    };
  };

  // --- The shared personal stream (/stream/me) ----------------------------

  var meSubs = [];
  G.me = {
    // subscribe registers fn(type, ev) for every accepted /stream/me event.
    subscribe: function (fn) { meSubs.push(fn); }
  };

  function meHandler(type, ev) {
    meSubs.forEach(function (fn) { fn(type, ev); });
  }

  // startMe connects to the per-user SharedWorker, or, when direct is set
  // and SharedWorker is missing, opens /stream/me in this page.
  function startMe(userId, direct) {
    var statusFn = direct ? G.setStatus : function () {};
    if (window.SharedWorker) {
      try {
        var w = new SharedWorker(document.body.dataset.worker, { name: 'gavel-me-' + userId });
        w.port.onmessage = function (m) {
          var d = m.data || {};
          if (d.kind === 'status') { statusFn(d.state); }
          if (d.kind === 'event') { deliver(d.type, d.data, meHandler); }
        };
        w.port.start();
        w.port.postMessage({ kind: 'hello' });
        window.addEventListener('pagehide', function () { w.port.postMessage({ kind: 'bye' }); });
        window.addEventListener('pageshow', function (e) {
          if (e.persisted) { w.port.postMessage({ kind: 'hello' }); }
        });
        return;
      } catch (e) {
        // Blocked (e.g. by browser settings): fall through.
      }
    }
    if (direct) { G.connect('/stream/me', meHandler); }
  }

  // --- Toasts ------------------------------------------------------------

  var toastTimer = 0;
  var recentToasts = {};

  // toast shows a short notice; key suppresses repeats of the same notice
  // (the auction page and the shared stream may both report one outbid).
  G.toast = function (text, href, key) {
    var now = Date.now();
    if (key) {
      if (recentToasts[key] && now - recentToasts[key] < 15000) { return; }
      recentToasts[key] = now;
    }
    var box = document.getElementById('toast');
    if (!box) { return; }
    box.querySelector('.toast-text').textContent = text;
    var link = box.querySelector('.toast-link');
    if (href && location.pathname !== href) {
      link.href = href;
      link.hidden = false;
    } else {
      link.hidden = true;
    }
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.hidden = true; }, 12000);
  };

  function notifyPersonal(type, ev) {
    var title = ev.title ? '“' + ev.title + '”' : 'an auction';
    var href = ev.auction_id ? '/auctions/' + ev.auction_id : '';
    if (type === 'outbid') {
      G.toast('You have been outbid on ' + title + '.', href, 'outbid-' + ev.auction_id);
    } else if (type === 'won') {
      G.toast('You won ' + title + '!', href, 'won-' + ev.auction_id);
    } else if (type === 'suspended') {
      G.toast('Your account has been suspended.', '', 'suspended');
    } else if (type === 'ending_soon') {
      G.toast(title.charAt(0).toUpperCase() + title.slice(1) + ' ends ' + endsIn(ev) + '.', href,
        'ending-' + ev.auction_id + '-' + (ev.threshold_seconds || 0));
    } else if (type === 'watch_extended') {
      G.toast('Bidding on ' + title + ' was extended: it now ends at ' + G.localTime(ev.ends_at) + '.', href, 'extended-' + ev.auction_id);
    } else if (type === 'watch_closed') {
      var how = ev.status === 'cancelled' ? ' was cancelled.' : ev.winner ? ' has ended: sold to ' + ev.winner + '.' : ' has ended without selling.';
      G.toast(title.charAt(0).toUpperCase() + title.slice(1) + how, href, 'closed-' + ev.auction_id);
    }
  }

  // --- Bid results ---------------------------------------------------------

  // bidReceiptText tells a bidder what their committed bid achieved, in the
  // words of the server's pages (web/pages_auction.go receiptMessage).
  G.bidReceiptText = function (r, currency, exp) {
    var amount = G.money(r.amount, currency, exp);
    if (r.status === 'closed' && r.leading) { return 'You bought it for ' + amount + '!'; }
    if (r.leading) { return 'Bid placed: ' + amount + '. You are the highest bidder.'; }
    return 'Bid placed: ' + amount + ', but another bidder’s maximum is higher. You have been outbid.';
  };

  // bidProblemText is the message of a refused bid: the server's own.
  G.bidProblemText = function (status, p) {
    if (status === 429) { return 'Too many bids at once. Wait a moment and try again.'; }
    return (p && (p.detail || p.title)) || 'Your bid was not accepted.';
  };

  // endsIn says how soon a watched lot ends: "in about a minute", "in 15
  // minutes", from its end and the synced server clock.
  function endsIn(ev) {
    var left = Date.parse(ev.ends_at || '') - G.now();
    if (isNaN(left)) { left = (ev.threshold_seconds || 60) * 1000; }
    var mins = Math.round(left / 60000);
    if (left < 30000) { return 'in a few seconds'; }
    if (mins <= 1) { return 'in about a minute'; }
    return 'in ' + mins + ' minutes';
  }

  // --- Money -------------------------------------------------------------

  var formats = {};
  G.money = function (amount, currency, exp) {
    exp = Number(exp) || 0;
    var n = Number(amount) || 0;
    var key = currency + '/' + exp;
    if (!(key in formats)) {
      try {
        formats[key] = new Intl.NumberFormat(undefined, {
          style: 'currency', currency: currency,
          minimumFractionDigits: exp, maximumFractionDigits: exp
        });
      } catch (e) {
        formats[key] = null;
      }
    }
    var major = n / Math.pow(10, exp);
    if (formats[key]) { return formats[key].format(major); }
    return major.toFixed(exp) + ' ' + currency;
  };

  // setMoney writes amount into el, in the currency of its nearest
  // [data-currency] ancestor (or the given one).
  G.setMoney = function (el, amount, currency, exp) {
    if (!el) { return; }
    var host = el.closest('[data-currency]');
    currency = currency || (host && host.dataset.currency) || '';
    exp = exp !== undefined ? exp : (host ? host.dataset.exp : 0);
    var span = el.classList.contains('money') ? el : el.querySelector('.money');
    if (!span) {
      span = document.createElement('span');
      span.className = 'money';
      el.textContent = '';
      el.appendChild(span);
    }
    var text = G.money(amount, currency, exp);
    // Rewriting an unchanged price would make screen readers announce it
    // again from the polite live region.
    if (span.dataset.amount === String(amount) && span.textContent === text) { return; }
    span.dataset.amount = String(amount);
    span.textContent = text;
  };

  // parseAmount turns "12.5" into minor units with exp decimals, exactly
  // like domain.ParseAmount: no floats, no signs, no separators.
  G.parseAmount = function (s, exp) {
    exp = Number(exp) || 0;
    s = String(s || '').trim();
    if (!s) { return { error: 'Enter an amount.' }; }
    var m = /^(\d*)(?:\.(\d+))?$/.exec(s);
    if (!m || (m[1] === '' && m[2] === undefined)) { return { error: 'Enter the amount as a plain number such as 12.50.' }; }
    var frac = m[2] || '';
    if (frac.length > exp) {
      return { error: exp === 0 ? 'This currency has no minor units: enter a whole number.' : 'Use at most ' + exp + ' decimals.' };
    }
    var whole = (m[1] || '0').replace(/^0+(?=\d)/, '');
    if (whole.length > 15) { return { error: 'That amount is too large.' }; }
    while (frac.length < exp) { frac += '0'; }
    var v = Number(whole + frac);
    if (!isFinite(v) || v > 1e15) { return { error: 'That amount is too large.' }; }
    return { value: v };
  };

  // --- Times and countdowns ----------------------------------------------

  G.localTime = function (iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return iso; }
    return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  };

  G.timeEl = function (iso) {
    var t = document.createElement('time');
    t.dateTime = iso;
    t.setAttribute('data-local', '');
    t.textContent = G.localTime(iso);
    return t;
  };

  G.localize = function (root) {
    (root || document).querySelectorAll('time[data-local]').forEach(function (t) {
      t.textContent = G.localTime(t.getAttribute('datetime'));
    });
    (root || document).querySelectorAll('.money[data-amount]').forEach(function (m) {
      var host = m.closest('[data-currency]');
      if (host && host.dataset.currency) { m.textContent = G.money(m.dataset.amount, host.dataset.currency, host.dataset.exp); }
    });
  };

  function pad(n) { return n < 10 ? '0' + n : String(n); }

  G.formatDuration = function (ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var d = Math.floor(s / 86400);
    var h = Math.floor((s % 86400) / 3600);
    var m = Math.floor((s % 3600) / 60);
    var sec = s % 60;
    if (d > 0) { return d + 'd ' + h + 'h ' + pad(m) + 'm'; }
    if (h > 0) { return h + ':' + pad(m) + ':' + pad(sec); }
    return pad(m) + ':' + pad(sec);
  };

  // tick redraws every countdown from the server-synced clock.
  G.tick = function () {
    var now = G.now();
    document.querySelectorAll('[data-ends-at]').forEach(function (el) {
      var host = el.closest('[data-status]');
      var status = host ? host.dataset.status : 'open';
      var text;
      if (status === 'closed') {
        text = 'Ended';
      } else if (status === 'cancelled') {
        text = 'Cancelled';
      } else if (status === 'scheduled' && el.dataset.startsAt && Date.parse(el.dataset.startsAt) > now) {
        text = 'Starts in ' + G.formatDuration(Date.parse(el.dataset.startsAt) - now);
      } else {
        var left = Date.parse(el.dataset.endsAt) - now;
        text = left > 0 ? G.formatDuration(left) : 'Ending…';
      }
      if (el.textContent !== text) { el.textContent = text; }
    });
  };

  // --- Start-up ----------------------------------------------------------

  function init() {
    var body = document.body;
    G.syncClock(body.dataset.serverTime);
    G.localize(document);
    G.tick();
    setInterval(G.tick, 1000);

    var close = document.querySelector('#toast .toast-close');
    if (close) {
      close.addEventListener('click', function () { document.getElementById('toast').hidden = true; });
    }

    var user = body.dataset.userId;
    if (!user) { return; }
    var own = body.dataset.stream || '';
    // Pages without a stream of their own (and My listings, whose stream is
    // /stream/me) may open /stream/me directly; the others only share it.
    startMe(user, own === '' || own === '/stream/me');
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
