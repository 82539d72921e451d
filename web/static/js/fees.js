/* fees.js: the fee estimate a bidder reads before bidding ("Your bid
 * €100.00 → €125.00 with buyer's premium and VAT"), on a lot's page
 * (auction.js) and on each row of a sale's catalogue (sale.js). It applies
 * the server's rule (domain/fees.go, docs/INVOICING.md): each line rounded
 * once, half up, in exact integer minor units (BigInt, as amounts × rates
 * pass 2^53), so the page agrees with the receipt and the invoice.
 */
(function () {
  'use strict';

  var G = (window.Gavel = window.Gavel || {});

  function divHalfUp(n) { return (n + BigInt(5000)) / BigInt(10000); }

  // feeEstimate is the total a winner pays at hammer (minor units) under
  // fees ({buyers_premium, tax}), before shipping.
  G.feeEstimate = function (fees, hammer) {
    fees = fees || {};
    var h = BigInt(Math.max(0, Math.floor(hammer)));
    var tiers = fees.buyers_premium || [];
    var sum = BigInt(0);
    var below = BigInt(0);
    for (var i = 0; i < tiers.length && below < h; i++) {
      var top = h;
      if (i < tiers.length - 1 && tiers[i].up_to && BigInt(tiers[i].up_to) < h) { top = BigInt(tiers[i].up_to); }
      if (top > below) {
        sum += (top - below) * BigInt(tiers[i].rate_bps || 0);
        below = top;
      }
    }
    var premium = h > BigInt(0) && tiers.length ? divHalfUp(sum) : BigInt(0);
    var tax = BigInt(0);
    if (fees.tax && fees.tax.rate_bps > 0) {
      var base = premium;
      if (fees.tax.on === 'hammer_and_premium') { base += h; }
      if (base > BigInt(0)) { tax = divHalfUp(base * BigInt(fees.tax.rate_bps)); }
    }
    return Number(h + premium + tax);
  };

  // feeEstimateText is the sentence for the amount typed in input, or ''
  // when it is not an amount.
  G.feeEstimateText = function (input, fees, words, currency, exp) {
    var a = G.parseAmount(input.value, exp);
    if (a.error || !a.value) { return ''; }
    return 'Your bid ' + G.money(a.value, currency, exp) + ' → ' + G.money(G.feeEstimate(fees, a.value), currency, exp) + ' ' + words;
  };
})();
