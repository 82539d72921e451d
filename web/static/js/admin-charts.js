/* admin-charts.js: the admin monitor's live charts, drawn with uPlot
 * (vendor/uplot, embedded; no CDN): bids per minute over all running
 * auctions, events per second and watchers per node, delivery lag, and
 * one auction's price over time. admin.js feeds it every event of
 * /stream/admin (Gavel.adminCharts.event) and every stats event
 * (Gavel.adminCharts.stats). Each chart keeps the last 15 minutes and has a
 * heading, a time axis, a value axis with its unit, a legend, and a line
 * of text with the latest values for those who cannot see the canvas.
 */
(function () {
  'use strict';

  var G = window.Gavel;
  var U = window.uPlot;
  var root = document.getElementById('charts');
  if (!G || !root) { return; }
  if (!U) {
    root.querySelectorAll('.chart-note').forEach(function (p) { p.textContent = 'Charts unavailable: the chart library did not load.'; });
    return;
  }

  var KEEP = 15 * 60; // seconds of samples kept
  var TICK = 5; // seconds between samples of bids per minute and lag
  var WHOLE = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];
  var PALETTE = ['#0b5cad', '#a4161a', '#1d6b34', '#7a4b00', '#6a3d9a', '#00727a', '#b0006d', '#4a4f57'];

  function nowS() { return G.now() / 1000; }
  function $(id) { return document.getElementById(id); }
  function fixed(d) { return function (v) { return Number(v).toFixed(d); }; }

  // Chart is one uPlot time chart in the figure #id: x is the server's
  // time in seconds, each series one line with its own label.
  function Chart(id, yLabel, fmt, stepped, whole) {
    this.id = id;
    this.fig = $(id);
    this.host = this.fig.querySelector('.chart-canvas');
    this.note = this.fig.querySelector('.chart-note');
    this.yLabel = yLabel;
    this.fmt = fmt;
    this.stepped = !!stepped;
    // whole: counts, whose axis ticks are whole numbers.
    this.whole = !!whole;
    this.labels = [];
    this.xs = [];
    this.ys = [];
    this.plot = null;
  }

  Chart.prototype.width = function () {
    return Math.max(260, Math.floor(this.host.clientWidth || this.fig.clientWidth - 24 || 400));
  };

  // build (re)creates the plot for the current series.
  Chart.prototype.build = function () {
    if (this.plot) { this.plot.destroy(); this.plot = null; }
    if (this.labels.length === 0) { return; }
    var self = this;
    var series = [{ label: 'Time', value: function (u, v) { return v == null ? '–' : new Date(v * 1000).toLocaleTimeString(); } }];
    this.labels.forEach(function (label, i) {
      var s = { label: label, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true,
        value: function (u, v) { return v == null ? '–' : self.fmt(v); } };
      if (self.stepped) { s.paths = U.paths.stepped({ align: 1 }); }
      series.push(s);
    });
    this.plot = new U({
      width: this.width(),
      height: 200,
      scales: { x: { time: true } },
      series: series,
      axes: [
        { label: 'Time', labelSize: 20, stroke: '#4a4f57' },
        { label: this.yLabel, labelSize: 20, size: 70, stroke: '#4a4f57', incrs: this.whole ? WHOLE : undefined,
          values: function (u, vals) { return vals.map(function (v) { return v == null ? '' : self.fmt(v); }); } }
      ],
      legend: { live: true }
    }, this.data(), this.host);
    this.host.setAttribute('aria-hidden', 'true');
  };

  Chart.prototype.data = function () { return [this.xs].concat(this.ys); };

  // series returns the index of the series labelled label, adding it (and
  // rebuilding the plot) when it is new.
  Chart.prototype.series = function (label) {
    var i = this.labels.indexOf(label);
    if (i >= 0) { return i; }
    this.labels.push(label);
    this.ys.push(this.xs.map(function () { return null; }));
    this.build();
    return this.labels.length - 1;
  };

  // add appends one sample: values[i] for series i (null: none).
  Chart.prototype.add = function (t, values) {
    this.xs.push(t);
    for (var i = 0; i < this.ys.length; i++) { this.ys[i].push(values[i] === undefined ? null : values[i]); }
    var cut = 0;
    while (cut < this.xs.length && this.xs[cut] < t - KEEP) { cut++; }
    if (cut > 0) {
      this.xs.splice(0, cut);
      this.ys.forEach(function (y) { y.splice(0, cut); });
    }
    if (!this.plot) { this.build(); } else { this.plot.setData(this.data()); }
  };

  // reset empties the chart, for the price chart's next auction.
  Chart.prototype.reset = function (labels) {
    this.labels = labels.slice();
    this.xs = [];
    this.ys = labels.map(function () { return []; });
    this.build();
  };

  Chart.prototype.say = function (text) {
    if (this.note && this.note.textContent !== text) { this.note.textContent = text; }
  };

  Chart.prototype.resize = function () {
    if (this.plot) { this.plot.setSize({ width: this.width(), height: 200 }); }
  };

  var bidsChart = new Chart('chart-bids', 'bids / minute', fixed(0), false, true);
  var rateChart = new Chart('chart-rate', 'events / second', fixed(1));
  var watchChart = new Chart('chart-watchers', 'watchers', fixed(0), false, true);
  var lagChart = new Chart('chart-lag', 'lag (ms)', fixed(0));
  var priceChart = new Chart('chart-price', 'price', fixed(2), true);
  var charts = [bidsChart, rateChart, watchChart, lagChart, priceChart];
  bidsChart.series('Bids per minute');
  lagChart.series('Median');
  lagChart.series('Slowest');

  // --- Bids per minute and delivery lag, sampled every TICK seconds ----------

  var bidTimes = []; // committed_at (s) of recent bids
  var lags = []; // lag (ms) of the events seen since the last sample

  function sample() {
    var t = nowS();
    bidTimes = bidTimes.filter(function (b) { return b > t - 60; });
    bidsChart.add(t, [bidTimes.length]);
    bidsChart.say('Now: ' + bidTimes.length + ' bids in the last minute, over all running auctions.');
    if (lags.length > 0) {
      lags.sort(function (a, b) { return a - b; });
      var med = lags[Math.floor(lags.length / 2)];
      var max = lags[lags.length - 1];
      lagChart.add(t, [med, max]);
      lagChart.say('Last ' + TICK + ' s: median ' + med + ' ms, slowest ' + max + ' ms, over ' + lags.length + ' events.');
      lags = [];
    } else {
      lagChart.add(t, [null, null]);
    }
  }
  setInterval(sample, TICK * 1000);

  // --- Nodes: events per second and watchers, from stats ----------------------

  function num(v) {
    var n = Number(v);
    return isFinite(n) && n >= 0 ? n : null;
  }

  function stats(ev) {
    if (!ev || !Array.isArray(ev.nodes)) { return; }
    var t = Date.parse(ev.server_time) / 1000;
    if (isNaN(t)) { t = nowS(); }
    var rates = [];
    var watchers = [];
    var parts = [];
    ev.nodes.forEach(function (n) {
      if (!n || typeof n !== 'object') { return; }
      var name = String(n.node || 'node');
      var rate = num(n.events_per_second !== undefined ? n.events_per_second : n.events_per_sec);
      var w = num(typeof n.watchers === 'number' ? n.watchers : n.connections);
      rates[rateChart.series(name)] = rate;
      watchers[watchChart.series(name)] = w;
      parts.push(name + ': ' + (rate === null ? '–' : rate.toFixed(1)) + ' events/s, ' + (w === null ? '–' : w) + ' watchers');
    });
    rateChart.add(t, rates);
    watchChart.add(t, watchers);
    var text = parts.length ? 'Now: ' + parts.join('; ') + '.' : 'No node reports yet.';
    rateChart.say(text);
    watchChart.say(text);
  }

  // --- One auction's price ------------------------------------------------

  var select = $('price-auction');
  var priceAuction = '';
  var priceExp = 2;
  var priceCurrency = '';

  function moneyFmt(v) { return G.money(Math.round(v * Math.pow(10, priceExp)), priceCurrency, priceExp); }

  // fillSelect lists the running auctions of the table, keeping the choice.
  function fillSelect() {
    if (!select) { return; }
    var rows = document.querySelectorAll('#admin-auctions tr[data-auction-id]');
    var want = [];
    rows.forEach(function (tr) {
      var title = tr.querySelector('a.title');
      want.push([tr.dataset.auctionId, title ? title.textContent.trim() : '#' + tr.dataset.auctionId]);
    });
    var have = Array.prototype.map.call(select.options, function (o) { return o.value + '|' + o.textContent; }).join('\n');
    if (have === want.map(function (w) { return w[0] + '|' + w[1]; }).join('\n')) { return; }
    var keep = select.value;
    select.textContent = '';
    want.forEach(function (w) {
      var o = document.createElement('option');
      o.value = w[0];
      o.textContent = w[1];
      select.appendChild(o);
    });
    if (keep && want.some(function (w) { return w[0] === keep; })) { select.value = keep; }
    if (!priceAuction && want.length) {
      // Start with the busiest auction: a chart with a line in it.
      var best = want[0][0];
      var most = -1;
      rows.forEach(function (tr) {
        var bids = Number((tr.querySelector('.bids') || {}).textContent) || 0;
        if (bids > most) { most = bids; best = tr.dataset.auctionId; }
      });
      choose(best);
    }
  }

  // choose charts auction id: its history from the API, then live prices.
  function choose(id) {
    priceAuction = String(id);
    if (select && select.value !== priceAuction) { select.value = priceAuction; }
    var tr = document.querySelector('#admin-auctions tr[data-auction-id="' + priceAuction + '"]');
    priceCurrency = tr ? tr.dataset.currency : '';
    priceExp = tr ? Number(tr.dataset.exp) || 0 : 2;
    priceChart.fmt = moneyFmt;
    priceChart.yLabel = 'price (' + (priceCurrency || 'minor units') + ')';
    priceChart.reset(['Price']);
    priceChart.say('Loading the price history…');
    fetch('/api/v1/auctions/' + priceAuction + '/bids?limit=500', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (String(id) !== priceAuction || !data || !Array.isArray(data.bids)) { return; }
        // Newest first; the last line of each bid (its highest pos) is
        // the price that bid left.
        var lines = data.bids.slice().reverse().filter(function (l) { return !l.raise; });
        var points = [];
        lines.forEach(function (l) {
          var t = Date.parse(l.received_at) / 1000;
          var last = points[points.length - 1];
          if (last && last.seq === l.seq) { last.v = l.amount; } else { points.push({ seq: l.seq, t: t, v: l.amount }); }
        });
        var kept = priceChart.xs.slice();
        var keptY = priceChart.ys[0].slice();
        priceChart.reset(['Price']);
        points.forEach(function (p) { priceChart.add(p.t, [p.v / Math.pow(10, priceExp)]); });
        kept.forEach(function (t, i) { if (!points.length || t > points[points.length - 1].t) { priceChart.add(t, [keptY[i]]); } });
        priceSay();
      })
      .catch(function () { priceChart.say('The price history could not be loaded.'); });
  }

  function priceSay() {
    var ys = priceChart.ys[0] || [];
    var v = ys.length ? ys[ys.length - 1] : null;
    priceChart.say(v == null ? 'No bids yet on this auction.' : 'Now: ' + moneyFmt(v) + ' after ' + ys.length + ' price changes in view.');
  }

  if (select) {
    select.addEventListener('change', function () { choose(select.value); });
  }

  // --- Events ---------------------------------------------------------------

  function event(type, ev) {
    if (!ev || type === 'snapshot' || type === 'stats') { return; }
    var committed = Date.parse(ev.committed_at);
    var sent = Date.parse(ev.server_time);
    if (!isNaN(committed) && !isNaN(sent)) {
      var lag = sent - committed;
      // Replays after a reconnect are old on purpose; they are no lag.
      if (lag >= 0 && lag < 60000) { lags.push(lag); }
    }
    if (type === 'price' && (ev.bidder || (Array.isArray(ev.auto) && ev.auto.length))) {
      bidTimes.push(isNaN(committed) ? nowS() : committed / 1000);
    }
    if ((type === 'price' || type === 'closed') && String(ev.auction_id) === priceAuction && ev.bid_count > 0) {
      priceChart.add(isNaN(committed) ? nowS() : committed / 1000, [ev.current_price / Math.pow(10, priceExp)]);
      priceSay();
    }
  }

  var resizeTimer = 0;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 150);
  });

  G.adminCharts = { event: event, stats: stats, choose: choose,
    // yLabels names each chart's value axis (drawn on the canvas).
    yLabels: function () {
      var out = {};
      charts.forEach(function (c) { out[c.id] = c.plot ? c.plot.axes[1].label : ''; });
      return out;
    } };
  fillSelect();
  setInterval(fillSelect, 2000);
  sample();
})();
