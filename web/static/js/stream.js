/* stream.js: the shared client runtime every page loads first.
 *
 * - Gavel.connect(url, handler) gives the page its stream. Every tab's
 *   auctions, sale catalogues and the user's personal events ride on ONE
 *   connection per browser (shared-stream.js, over /stream/mux), whatever
 *   the number of tabs: in a SharedWorker, or where that is missing in the
 *   tab elected with Web Locks (tab-leader.js). Browsers with neither open
 *   the page's own EventSource. Either way it keeps #conn-status at "live" /
 *   "reconnecting…", parses each event, syncs the page's clock offset to
 *   the event's server_time, drops events already applied (seq per
 *   auction, sale_seq per sale, id for personal events), and a direct
 *   stream reopens itself, with lastEventId, if the browser gives up. The
 *   admin monitor and a sale's dashboard keep a stream of their own.
 * - Gavel.me.subscribe(fn) delivers the user's personal events (outbid,
 *   won) and, on My listings, the live state of their own listings.
 *   Without a shared connection (no SharedWorker, and no Web Locks or
 *   BroadcastChannel), pages with no stream of their own open /stream/me
 *   themselves; pages that already hold an auction stream then get no
 *   cross-auction toasts, because a second connection per page would eat
 *   into the browser's six connections per origin.
 * - Toasts (#toast) for outbid, won and the watchlist's reminders
 *   (ending_soon, watch_extended, watch_closed), money in the auction's currency, local
 *   times (<time data-local>) and the countdowns ([data-ends-at]).
 */
(function () {
  'use strict';

  var G = (window.Gavel = window.Gavel || {});
  document.documentElement.classList.add('js');

  var TYPES = ['snapshot', 'opened', 'price', 'extended', 'closed', 'cancelled',
    'outbid', 'won', 'suspended', 'stats', 'invoice', 'offer',
    'paused', 'resumed', 'sale_snapshot', 'sale_scheduled', 'sale_updated', 'sale_opened', 'sale_closing',
    'sale_closed', 'sale_cancelled', 'sale_paused', 'sale_resumed', 'sale_extended', 'sale_watchers',
    'ending_soon', 'watch_extended', 'watch_closed', 'watchers'];
  var PERSONAL = { outbid: true, won: true, suspended: true, invoice: true, offer: true,
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

  // received counts the events the page applied, by type: what a test
  // (or a person in the console) checks to see a stream resumed rather
  // than restarted with snapshots.
  G.received = {};

  // deliver runs the common steps for one received event.
  function deliver(type, raw, handler) {
    var ev = parse(raw);
    if (!ev || typeof ev !== 'object') { return; }
    if (ev.server_time) { G.syncClock(ev.server_time); }
    if (!G.accept(type, ev)) { return; }
    G.received[type] = (G.received[type] || 0) + 1;
    if (PERSONAL[type]) { notifyPersonal(type, ev); }
    if (handler) { handler(type, ev); }
  }

  // connect opens url as this page's one EventSource. The browser
  // reconnects by itself after a dropped connection, sending
  // Last-Event-ID; only when it gives up for good (an HTTP error such as
  // 429 or 503) do we reopen it, with backoff and the lastEventId query
  // parameter, because a new EventSource does not send the header.
  G.connect = function (url, handler, opts) {
    if (sharedPort() && channelsOf(url)) {
      // The page's auctions or sale ride on the browser's one shared
      // connection.
      pageHandler = handler;
      return { close: function () { pageHandler = null; } };
    }
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

  // --- One connection for every tab (shared-stream.js) -------------------

  // channelsOf is what a page stream URL carries, {ids, sales}:
  // /stream/auctions/7, /stream/auctions?ids=1,2, /stream/sales/9 (a
  // catalogue), or /stream/me (the running listings on the page); null for
  // other streams (the admin monitor and a sale's dashboard, with its
  // watcher counts, keep their own).
  function channelsOf(url) {
    url = url || '';
    var m = /^\/stream\/auctions\/(\d+)$/.exec(url);
    if (m) { return { ids: [Number(m[1])], sales: [] }; }
    m = /^\/stream\/auctions\?ids=([\d,]+)$/.exec(url);
    if (m) { return { ids: m[1].split(',').map(Number), sales: [] }; }
    m = /^\/stream\/sales\/(\d+)$/.exec(url);
    if (m) { return { ids: [], sales: [Number(m[1])] }; }
    if (url === '/stream/me' || url === '') {
      var ids = [];
      document.querySelectorAll('[data-auction-id]').forEach(function (el) {
        var st = el.dataset.status;
        if (st === 'open' || st === 'scheduled') { ids.push(Number(el.dataset.auctionId)); }
      });
      return { ids: ids, sales: [] };
    }
    return null;
  }

  var pageHandler = null;
  var port = null;
  var portTried = false;

  // sharedPort connects to the browser's shared worker (named per user, or
  // "guest"), or, where SharedWorker is missing, to the hub of the tab
  // elected by tab-leader.js; it returns null where neither works.
  function sharedPort() {
    if (portTried) { return port; }
    portTried = true;
    var name = 'gavel-stream-' + (document.body.dataset.userId || 'guest');
    if (window.SharedWorker) {
      try {
        port = new SharedWorker(document.body.dataset.worker, { name: name }).port;
      } catch (e) {
        port = null;
      }
    } else if (G.tabLeader) {
      port = G.tabLeader(name, document.body.dataset.worker);
    }
    if (!port) { return null; }
    var own = document.body.dataset.stream || '';
    port.onmessage = function (m) {
      var d = m.data || {};
      if (d.kind === 'status') { G.setStatus(d.state); }
      if (d.kind !== 'event') { return; }
      deliver(d.type, d.data, function (type, ev) {
        if (PERSONAL[type]) { meHandler(type, ev); return; }
        if (pageHandler) { pageHandler(type, ev); }
        if (own === '/stream/me') { meHandler(type, ev); }
      });
    };
    port.start();
    var noLock = function () { return { name: '', ready: Promise.resolve(), release: function () {} }; };
    var tabLock = G.tabLock || noLock;
    var lock = tabLock();
    var hello = function () {
      var l = lock;
      l.ready.then(function () {
        if (l !== lock) { return; }
        var c = channelsOf(own) || { ids: [], sales: [] };
        port.postMessage({ kind: 'hello', ids: c.ids, sales: c.sales, lock: l.name });
      });
    };
    // Page scripts (deferred, after this one) register their handlers
    // before DOMContentLoaded; only then may events flow.
    if (document.readyState === 'complete') { hello(); } else { document.addEventListener('DOMContentLoaded', hello); }
    window.addEventListener('pagehide', function () {
      port.postMessage({ kind: 'bye' });
      lock.release();
    });
    window.addEventListener('pageshow', function (e) {
      if (e.persisted) {
        lock = tabLock();
        hello();
      }
    });
    G.shared = true;
    return port;
  }

  // startMe gives the page the user's personal events: through the shared
  // worker, or, where it is missing and direct is set, from its own
  // /stream/me.
  function startMe(direct) {
    if (sharedPort()) { return; }
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
    } else if (type === 'invoice' && ev.invoice) {
      G.toast(invoiceText(ev.invoice), '/invoices/' + ev.invoice.id, 'invoice-' + ev.invoice.id + '-' + ev.invoice.change);
    } else if (type === 'offer' && ev.offer) {
      G.toast(offerText(ev, title), '/me/offers', 'offer-' + ev.offer.id + '-' + ev.offer.status);
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

  var INVOICE_CHANGES = {
    issued: 'was issued', checkout: 'has its delivery or collection choice', paid: 'is marked paid',
    shipped: 'was shipped', collected: 'was collected', cancelled: 'was cancelled by a credit note',
    overdue: 'is overdue'
  };

  function invoiceText(inv) {
    var kind = inv.kind === 'credit_note' ? 'Credit note ' : 'Invoice ';
    return kind + inv.reference + ' ' + (INVOICE_CHANGES[inv.change] || 'changed') + '.';
  }

  function offerText(ev, title) {
    var o = ev.offer;
    var me = Number(document.body.dataset.userId) === Number(o.buyer_id);
    if (o.status === 'open') {
      return me ? 'You have an offer on ' + title + '.' : 'Your offer on ' + title + ' was sent.';
    }
    return 'The offer on ' + title + ' was ' + o.status + '.';
  }

  // --- Bid results ---------------------------------------------------------

  // bidReceiptText tells a bidder what their committed bid achieved, in the
  // words of the server's pages (web/pages_auction.go receiptMessage).
  // feeWords (the lot's "with buyer's premium and VAT"), when given, adds
  // what the bid costs in all.
  G.bidReceiptText = function (r, currency, exp, feeWords) {
    var amount = G.money(r.amount, currency, exp);
    if (feeWords && r.estimated_total) { amount += ' (' + G.money(r.estimated_total, currency, exp) + ' ' + feeWords + ')'; }
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

  // localTime shows a time in the viewer's zone, always naming the zone
  // ("10:53 CET"), with the date unless it is today.
  var timeFormats = {};
  function timeFormat(withDate) {
    var key = withDate ? 'd' : 't';
    if (!(key in timeFormats)) {
      var o = { hour: '2-digit', minute: '2-digit', timeZoneName: 'short' };
      if (withDate) { o.day = 'numeric'; o.month = 'short'; o.year = 'numeric'; }
      try { timeFormats[key] = new Intl.DateTimeFormat(undefined, o); } catch (e) { timeFormats[key] = null; }
    }
    return timeFormats[key];
  }
  G.localTime = function (iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return iso; }
    var today = new Date(G.now()).toDateString() === d.toDateString();
    var f = timeFormat(!today);
    return f ? f.format(d) : d.toUTCString();
  };

  // relTime says how far a time is from now ("in 4 minutes", "2 hours
  // ago"), or '' beyond a day, where the date says enough.
  var relFormat = null;
  try { relFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }); } catch (e) { relFormat = null; }
  G.relTime = function (iso) {
    var ms = Date.parse(iso) - G.now();
    if (isNaN(ms) || !relFormat) { return ''; }
    var s = Math.round(ms / 1000);
    var abs = Math.abs(s);
    if (abs >= 86400) { return ''; }
    if (abs < 60) { return relFormat.format(s, 'second'); }
    if (abs < 3600) { return relFormat.format(Math.round(s / 60), 'minute'); }
    return relFormat.format(Math.round(s / 3600), 'hour');
  };

  G.timeEl = function (iso, relative) {
    var t = document.createElement('time');
    t.dateTime = iso;
    t.setAttribute('data-local', '');
    if (relative) { t.setAttribute('data-relative', ''); }
    t.textContent = G.localTime(iso);
    return t;
  };

  // relSpan keeps the relative-time companion of a time[data-relative].
  function relSpan(t) {
    var rel = t.nextElementSibling;
    if (!rel || !rel.classList.contains('rel-time')) {
      rel = document.createElement('span');
      rel.className = 'rel-time';
      t.parentNode.insertBefore(rel, t.nextSibling);
    }
    return rel;
  }

  function relativize(root) {
    (root || document).querySelectorAll('time[data-relative]').forEach(function (t) {
      if (!t.parentNode) { return; }
      var r = G.relTime(t.getAttribute('datetime'));
      var rel = relSpan(t);
      var text = r ? ' (' + r + ')' : '';
      if (rel.textContent !== text) { rel.textContent = text; }
    });
  }

  G.localize = function (root) {
    (root || document).querySelectorAll('time[data-local]').forEach(function (t) {
      t.textContent = G.localTime(t.getAttribute('datetime'));
    });
    relativize(root);
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
    relativize(document);
    tickHooks.forEach(function (fn) { fn(now); });
  };

  // onTick registers fn(now) to run after every countdown redraw.
  var tickHooks = [];
  G.onTick = function (fn) { tickHooks.push(fn); };

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
    var own = body.dataset.stream || '';
    if (!user) {
      // A guest's public stream rides on the shared worker too.
      if (own) { sharedPort(); }
      return;
    }
    // Pages without a stream of their own (and My listings, whose stream is
    // /stream/me) may open /stream/me directly; the others only share it.
    startMe(own === '' || own === '/stream/me');
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
