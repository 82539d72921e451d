/* sell.js: the listing and sale forms (new and edit). A datetime-local input has no
 * time zone, so the browser interprets it in the viewer's zone: on submit
 * this script writes the exact instant, in UTC, into the hidden
 * starts_at_utc / ends_at_utc fields, which the server prefers. On load it
 * turns the UTC instants of an existing listing (data-utc) into local
 * input values. Without JavaScript the server reads the visible values in
 * the zone of the tz_offset field, or UTC when it is empty.
 */
(function () {
  'use strict';

  var form = document.getElementById('sell-form') || document.getElementById('sale-form');
  if (!form) { return; }

  function pad(n) { return n < 10 ? '0' + n : String(n); }

  // localValue formats an instant as a datetime-local value in this
  // browser's zone.
  function localValue(d) {
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) +
      'T' + pad(d.getHours()) + ':' + pad(d.getMinutes());
  }

  var inputs = form.querySelectorAll('input[data-utc-target]');
  inputs.forEach(function (input) {
    var utc = input.dataset.utc;
    if (utc) {
      var d = new Date(utc);
      if (!isNaN(d.getTime())) { input.value = localValue(d); }
    }
  });
  // The offset field is for forms sent without JavaScript; clear it so a
  // stale value cannot disagree with the UTC fields.
  var tz = document.getElementById('tz_offset');
  if (tz) { tz.value = ''; }

  form.addEventListener('submit', function () {
    inputs.forEach(function (input) {
      var hidden = document.getElementById(input.dataset.utcTarget);
      if (!hidden) { return; }
      hidden.value = '';
      if (!input.value) { return; }
      // "YYYY-MM-DDTHH:MM" without an offset is local time by definition.
      var d = new Date(input.value);
      if (!isNaN(d.getTime())) { hidden.value = d.toISOString(); }
    });
  });
})();
