/* watch.js: watch buttons and watcher counts, on every page.
 *
 * - A watch button (.watch-form) is a plain form that posts to
 *   /me/watchlist/{id} and comes back; here it is sent instead as PUT or
 *   DELETE /api/v1/me/watchlist/{id}, and every button of the same lot on
 *   the page flips with it.
 * - Watcher counts ([data-watchers-for="{id}"]) are the seller's and the
 *   admins': they follow the seller's "watchers" events on the shared
 *   /stream/me, and, where marked [data-watchers-poll] (an admin, who gets
 *   no such events), GET /api/v1/auctions/{id}/watchers every 30 s while
 *   the page is visible.
 */
(function () {
  'use strict';

  var G = window.Gavel;
  if (!G) { return; }

  function buttonsOf(id) {
    return document.querySelectorAll('.watch-form[data-watch-id="' + id + '"]');
  }

  function setWatching(id, watching) {
    buttonsOf(id).forEach(function (form) {
      form.querySelector('input[name="action"]').value = watching ? 'unwatch' : 'watch';
      var b = form.querySelector('.watch-button');
      b.dataset.watching = String(watching);
      b.textContent = watching ? 'Unwatch' : 'Watch';
    });
  }

  function send(form) {
    var id = form.dataset.watchId;
    var watch = form.querySelector('input[name="action"]').value !== 'unwatch';
    var buttons = buttonsOf(id);
    buttons.forEach(function (f) { f.querySelector('.watch-button').disabled = true; });
    fetch('/api/v1/me/watchlist/' + encodeURIComponent(id), {
      method: watch ? 'PUT' : 'DELETE',
      credentials: 'same-origin',
      headers: { Accept: 'application/json' }
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (res.status === 401) {
          location.href = '/login?next=' + encodeURIComponent(location.pathname + location.search);
          return;
        }
        if (!res.ok) {
          G.toast(body.detail || 'That did not work; please try again.', '', 'watch-error-' + id);
          return;
        }
        setWatching(id, !!body.watching);
        G.toast(body.watching ? 'Watching: you will be reminded before it ends.' : 'Removed from your watchlist.', '', '');
      });
    }).catch(function () {
      G.toast('No connection: your watchlist was not changed.', '', 'watch-offline');
    }).then(function () {
      buttons.forEach(function (f) { f.querySelector('.watch-button').disabled = false; });
    });
  }

  document.addEventListener('submit', function (e) {
    var form = e.target.closest && e.target.closest('.watch-form');
    if (!form) { return; }
    e.preventDefault();
    send(form);
  });

  function setCount(id, n) {
    document.querySelectorAll('[data-watchers-for="' + id + '"]').forEach(function (el) {
      var text = String(n);
      if (el.textContent !== text) { el.textContent = text; }
    });
  }

  G.me.subscribe(function (type, ev) {
    if (type === 'watchers' && ev && typeof ev.watchers === 'number') { setCount(ev.auction_id, ev.watchers); }
  });

  var polled = document.querySelectorAll('[data-watchers-poll]');
  if (polled.length) {
    setInterval(function () {
      if (document.hidden) { return; }
      polled.forEach(function (el) {
        var id = el.dataset.watchersFor;
        fetch('/api/v1/auctions/' + encodeURIComponent(id) + '/watchers', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (v) { if (v && typeof v.watchers === 'number') { setCount(id, v.watchers); } })
          .catch(function () {});
      });
    }, 30000);
  }
})();
