/* tab-leader.js: one connection for every tab where SharedWorker is
 * missing (Chrome on Android, some embedded browsers).
 *
 * The tabs of one browser (per user, or "guest") elect ONE of them with
 * Web Locks: each asks for the lock named after the stream, the browser
 * grants it to one tab at a time, and that tab holds it until it closes.
 * The holder loads shared-stream.js and runs the same hub a SharedWorker
 * would: it opens /stream/mux for every tab and relays over a
 * BroadcastChannel of the same name. When the leader closes, the browser
 * grants the lock to a waiting tab, which takes over: it opens the
 * connection with the id of the last event the hub passed to any tab,
 * asks every tab to say hello again, and so resumes with nothing lost;
 * the pages drop the repeats by (channel, seq).
 *
 * stream.js calls Gavel.tabLeader(name, hubURL) only without SharedWorker;
 * it returns a stand-in for a MessagePort (postMessage, onmessage, start),
 * or null where Web Locks or BroadcastChannel are missing: such browsers
 * keep a stream per page.
 *
 * It also gives every page, in every browser, G.tabLock: the Web Lock
 * that tells the hub (a SharedWorker or an elected tab) when the page is
 * gone, even without a bye.
 *
 * Messages on the channel: {to: 'hub', from: tab, m} from a page to the
 * hub, {to: tab, m} from the hub to one page, and {kind: 'leader'} when a
 * tab takes over.
 */
(function () {
  'use strict';

  var G = (window.Gavel = window.Gavel || {});

  G.tabLeader = function (name, hubURL) {
    if (!window.BroadcastChannel || !navigator.locks || typeof navigator.locks.request !== 'function') { return null; }
    var bc;
    try { bc = new BroadcastChannel(name); } catch (e) { return null; }
    var me = Math.random().toString(36).slice(2) + '-' + Date.now().toString(36);
    var hello = null; // this page's latest hello, said again to a new leader
    // lastId is the id of the latest event the hub passed to ANY tab: every
    // tab hears the whole channel, and an event's id names every channel
    // the connection carries. Keeping only this page's own events left a
    // new leader with a cursor older than channels added since (a tab that
    // joined after this page's last event), which then restarted with a
    // snapshot instead of resuming.
    var lastId = '';

    var port = {
      onmessage: null,
      start: function () {},
      postMessage: function (m) {
        if (m.kind === 'hello') { hello = m; }
        if (m.kind === 'bye') { hello = null; }
        bc.postMessage({ to: 'hub', from: me, m: m });
      }
    };
    bc.onmessage = function (e) {
      var d = e.data || {};
      if (d.kind === 'leader') {
        if (hello) { bc.postMessage({ to: 'hub', from: me, m: hello }); }
        return;
      }
      if (!d.m) { return; }
      if (d.m.kind === 'event' && d.m.id && !d.m.replay) { lastId = d.m.id; }
      if (d.to !== me) { return; }
      if (port.onmessage) { port.onmessage({ data: d.m }); }
    };
    // The lock is held for as long as the promise lead returns is
    // pending: until this tab goes away.
    navigator.locks.request(name, function () {
      return lead(name, hubURL, function () { return lastId; });
    }).catch(function () {});
    return port;
  };

  // G.tabLock holds a Web Lock named for this page for as long as the page
  // lives, so that the hub can tell when the page is gone: a tab that
  // crashes, or that the browser kills or discards, never says bye, but
  // the browser releases its locks all the same, and the hub, which asks
  // for the same lock, then stops carrying the page's channels. ready
  // settles once the lock is held: a hub that asked first would be granted
  // it at once and drop a live page. name is '' where Web Locks are
  // missing (the hub then has only the bye to go by).
  G.tabLock = function () {
    var l = { name: '', ready: Promise.resolve(), release: function () {} };
    var locks = navigator.locks;
    if (!locks || typeof locks.request !== 'function') { return l; }
    var name = 'gavel-tab-' + Math.random().toString(36).slice(2) + '-' + Date.now().toString(36);
    var release = null;
    var released = false;
    l.release = function () {
      released = true;
      if (release) { release(); }
    };
    l.ready = new Promise(function (held) {
      locks.request(name, function () {
        l.name = name;
        held();
        return new Promise(function (r) {
          release = r;
          if (released) { r(); }
        });
      }).catch(function () { held(); });
    });
    return l;
  };

  // lead runs the hub in this tab and relays for the others. It never
  // settles, so the lock stays with this tab until it closes.
  function lead(name, hubURL, cursor) {
    return loadHub(hubURL).then(function (createHub) {
      var hub = createHub({ personal: /^gavel-stream-\d+$/.test(name), lastId: cursor() });
      var hbc = new BroadcastChannel(name);
      var peers = {}; // tab -> the hub's port for it
      hbc.onmessage = function (e) {
        var d = e.data || {};
        if (d.to !== 'hub' || !d.from || !d.m) { return; }
        var p = peers[d.from];
        if (!p) {
          if (d.m.kind !== 'hello') { return; }
          p = peers[d.from] = peerPort(hbc, d.from);
          hub.connect(p);
        }
        if (d.m.kind === 'bye') { delete peers[d.from]; }
        if (p.onmessage) { p.onmessage({ data: d.m }); }
      };
      // Every tab, this one included, says hello to the new hub.
      hbc.postMessage({ kind: 'leader' });
      G.tabLeading = true;
      return new Promise(function () {});
    });
  }

  // peerPort is the hub's side of one tab: what the hub posts goes to that
  // tab only.
  function peerPort(hbc, tab) {
    return {
      onmessage: null,
      start: function () {},
      postMessage: function (m) { hbc.postMessage({ to: tab, m: m }); }
    };
  }

  // loadHub loads shared-stream.js into this page once.
  var hubPromise = null;
  function loadHub(url) {
    if (window.GavelStreamHub) { return Promise.resolve(window.GavelStreamHub); }
    if (!hubPromise) {
      hubPromise = new Promise(function (resolve, reject) {
        var s = document.createElement('script');
        s.src = url;
        s.onload = function () {
          if (window.GavelStreamHub) { resolve(window.GavelStreamHub); } else { reject(new Error('no hub')); }
        };
        s.onerror = function () { hubPromise = null; reject(new Error('hub did not load')); };
        document.head.appendChild(s);
      });
    }
    return hubPromise;
  }
})();
