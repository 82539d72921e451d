/* invoice.js: invoices and offers, live. On an invoice page it redraws the
 * status when the seller marks a step (an `invoice` event on /stream/me),
 * and says what changed; on the lists it updates each row's status.
 * Labels match the server's (web/pages_invoice.go invoiceStatusLabel).
 */
(function () {
  'use strict';

  var G = window.Gavel;
  if (!G || !document.body.dataset.userId) { return; }

  var LABELS = { issued: 'Awaiting payment', paid: 'Paid', shipped: 'Shipped', collected: 'Collected', cancelled: 'Cancelled' };
  var CHANGES = {
    issued: 'was issued', checkout: 'now has its delivery or collection choice', paid: 'is marked paid',
    shipped: 'was shipped', collected: 'was collected', cancelled: 'was cancelled by a credit note', overdue: 'is overdue'
  };

  function label(inv) {
    if (inv.kind === 'credit_note') { return 'Credit note'; }
    if (inv.change === 'overdue') { return 'Overdue'; }
    return LABELS[inv.status] || inv.status;
  }

  function setBadge(el, inv) {
    if (!el) { return; }
    el.textContent = label(inv);
    el.className = 'badge badge-invoice-' + inv.status;
  }

  var page = document.getElementById('invoice');

  G.me.subscribe(function (type, ev) {
    if (type === 'invoice' && ev.invoice) {
      var inv = ev.invoice;
      if (page && String(page.dataset.invoiceId) === String(inv.id)) {
        page.dataset.status = inv.status;
        setBadge(document.getElementById('invoice-status'), inv);
        var note = document.getElementById('invoice-live');
        note.textContent = 'This invoice ' + (CHANGES[inv.change] || 'changed') + '. ';
        var a = document.createElement('a');
        a.href = location.pathname;
        a.textContent = 'Reload to see the details.';
        note.appendChild(a);
        note.hidden = false;
        if (inv.status !== 'issued') {
          ['checkout-form', 'paid-form', 'pay-section'].forEach(function (id) {
            var f = document.getElementById(id);
            if (f) { f.hidden = true; }
          });
        }
      }
      var row = document.querySelector('#invoice-list tr[data-invoice-id="' + Number(inv.id) + '"]');
      if (row) { setBadge(row.querySelector('[data-role="invoice-status"]'), inv); }
    }
  });
})();
