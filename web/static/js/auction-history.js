/* auction-history.js: the bid history of the live auction page
 * (#bid-history), for auction.js. Each bid and the automatic (proxy) bids
 * it caused become lines, newest first, marked automatic, private (a
 * leader's raise, shown only to them) or yours; the seller and admins see
 * the person behind each alias; admins get a "cancel this bid" form on
 * each bid; the whole list is rebuilt from the API when the stream cannot
 * explain a change (a reset snapshot, a struck or voided bid).
 */
(function () {
  'use strict';

  var G = (window.Gavel = window.Gavel || {});
  var $ = function (sel) { return document.getElementById(sel); };

  // bidHistory manages the history of auction opts.id, with amounts in
  // opts.currency (opts.exp decimals); opts.identify fetches the people
  // behind the aliases; opts.alias() is the viewer's own alias, or ''.
  G.bidHistory = function (opts) {
    var id = opts.id;
    var currency = opts.currency;
    var exp = opts.exp;
    var identify = opts.identify;


    // A line is a bid or an automatic bid: {seq, pos, bid_id, bidder, amount,
    // at, automatic, raise, buy_now, you, user}. Lines are ordered newest
    // first by (seq, pos), and a line already shown is never added twice.
    function lineKey(l) { return Number(l.seq) * 100 + Number(l.pos || 0); }

    function tag(text, cls) {
      var t = document.createElement('span');
      t.className = 'tag' + (cls ? ' ' + cls : '');
      t.textContent = text;
      return t;
    }

    function lineEl(l) {
      var li = document.createElement('li');
      li.className = 'bid-line' + (l.automatic ? ' bid-auto' : '') + (l.raise ? ' bid-raise' : '') + (l.you ? ' bid-mine' : '');
      li.dataset.seq = String(l.seq);
      li.dataset.pos = String(l.pos || 0);
      if (l.bid_id) { li.dataset.bidId = String(l.bid_id); }
      var who = document.createElement('span');
      who.className = 'bidder';
      who.textContent = l.bidder;
      li.appendChild(who);
      if (l.user) { li.appendChild(identityEl(l.user)); }
      if (l.raise) {
        var note = document.createElement('span');
        note.className = 'raise-note';
        note.textContent = 'raised their maximum to';
        li.appendChild(document.createTextNode(' '));
        li.appendChild(note);
      }
      var amount = document.createElement('span');
      amount.className = 'money';
      amount.dataset.amount = String(l.amount);
      amount.textContent = G.money(l.amount, currency, exp);
      li.appendChild(document.createTextNode(' '));
      li.appendChild(amount);
      var tags = [];
      if (l.buy_now) { tags.push(tag('buy it now')); }
      if (l.automatic) { tags.push(tag('automatic', 'tag-auto')); }
      if (l.raise) { tags.push(tag(l.you ? 'only you see this' : 'private')); }
      if (l.you) { tags.push(tag('you', 'tag-you')); }
      tags.forEach(function (t) { li.appendChild(document.createTextNode(' ')); li.appendChild(t); });
      li.appendChild(document.createTextNode(' '));
      li.appendChild(G.timeEl(l.at));
      var list = $('bid-history');
      if (l.bid_id && !l.pos && list.dataset.canStrike === 'true' && !l.buy_now) { li.appendChild(strikeForm(l.bid_id)); }
      return li;
    }

    function addLine(l) {
      var list = $('bid-history');
      if (!list || !l.bidder || !l.amount) { return false; }
      var key = lineKey(l);
      var items = list.children;
      var before = null;
      for (var i = 0; i < items.length; i++) {
        var k = lineKey(items[i].dataset);
        if (k === key) { return true; }
        if (k < key) { before = items[i]; break; }
      }
      var mine = opts.alias();
      if (l.bidder === mine && mine) { l.you = true; }
      var li = lineEl(l);
      list.insertBefore(li, before);
      $('bid-history-empty').hidden = true;
      if (identify && !l.user) { identifyLines(); }
      return true;
    }

    // eventLines turns a price (or buy-it-now closed) event into its lines:
    // the bid, unless it was a leader's raise, then its automatic bids.
    function eventLines(ev) {
      var lines = [];
      if (ev.bidder && ev.bid_amount) {
        lines.push({ seq: ev.seq, pos: 0, bid_id: ev.bid_id, bidder: ev.bidder, amount: ev.bid_amount, at: ev.committed_at, buy_now: ev.type === 'closed' });
      }
      (Array.isArray(ev.auto) ? ev.auto : []).forEach(function (a, i) {
        if (a && a.bidder && a.amount) {
          lines.push({ seq: ev.seq, pos: i + 1, bid_id: ev.bid_id, bidder: String(a.bidder), amount: a.amount, at: ev.committed_at, automatic: true });
        }
      });
      return lines;
    }

    // identities maps aliases to the people behind them, for the seller and
    // admins (GET /api/v1/auctions/{id}/bidders); lines without one are
    // completed when it arrives.
    var identities = {};
    var identityTimer = 0;
    function identityEl(u) {
      var span = document.createElement('span');
      span.className = 'identity';
      span.textContent = ' (' + u.name + (u.email ? ', ' + u.email : '') + ')';
      return span;
    }
    function identifyLines() {
      clearTimeout(identityTimer);
      identityTimer = setTimeout(function () {
        fetch('/api/v1/auctions/' + id + '/bidders', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) {
            if (!data || !Array.isArray(data.bidders)) { return; }
            data.bidders.forEach(function (b) { if (b && b.alias && b.user) { identities[b.alias] = b.user; } });
            $('bid-history').querySelectorAll('li').forEach(function (li) {
              var who = li.querySelector('.bidder');
              if (who && !li.querySelector('.identity') && identities[who.textContent]) {
                who.parentNode.insertBefore(identityEl(identities[who.textContent]), who.nextSibling);
              }
            });
          })
          .catch(function () {});
      }, 250);
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

    // reloadBids rebuilds the history from the API, which shows it as this
    // viewer may see it: after a snapshot that reset the stream, or a price
    // change that came from no new bid (bids voided by a suspension or
    // struck by an admin).
    var bidsTimer = 0;
    function reloadBids() {
      clearTimeout(bidsTimer);
      bidsTimer = setTimeout(function () {
        fetch('/api/v1/auctions/' + id + '/bids', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) {
            var bids = data && data.bids;
            if (!Array.isArray(bids)) { return; }
            $('bid-history').textContent = '';
            bids.forEach(function (b) {
              addLine({ seq: b.seq, pos: b.pos || 0, bid_id: b.id, bidder: b.bidder, amount: b.amount, at: b.received_at,
                automatic: b.automatic, raise: b.raise, buy_now: b.buy_now, you: b.you, user: b.bidder_user });
            });
            $('bid-history-empty').hidden = bids.length > 0;
          })
          .catch(function () {});
      }, 300);
    }

    // markMine tags the lines of alias as the viewer's, once they learn it.
    function markMine(alias) {
      $('bid-history').querySelectorAll('li').forEach(function (li) {
        var who = li.querySelector('.bidder');
        if (who && who.textContent === alias && !li.classList.contains('bid-mine')) {
          li.classList.add('bid-mine');
          var at = li.querySelector('time');
          li.insertBefore(tag('you', 'tag-you'), at);
          li.insertBefore(document.createTextNode(' '), at);
        }
      });
    }

    // identity is the person behind alias, once the seller's or admin's
    // page has learnt it; undefined otherwise.
    function identity(alias) { return identities[alias]; }

    return { add: addLine, eventLines: eventLines, reload: reloadBids, markMine: markMine, identity: identity };
  };
})();
