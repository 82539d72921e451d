/* gallery.js: the lot page's photos. Without JavaScript every thumbnail
 * links to its large photo. With it, a thumbnail (or Previous/Next, or the
 * arrow keys, Home and End anywhere in the gallery) shows that photo in
 * the stage; the caption announces "Photo n of N" politely.
 */
(function () {
  'use strict';

  var root = document.getElementById('gallery');
  var thumbs = root ? root.querySelectorAll('.gallery-thumb') : [];
  if (!root || thumbs.length < 2) { return; }
  var image = document.getElementById('gallery-image');
  var link = document.getElementById('gallery-link');
  var caption = document.getElementById('gallery-caption');
  var prev = document.getElementById('gallery-prev');
  var next = document.getElementById('gallery-next');
  var hint = document.getElementById('gallery-hint');
  var list = document.getElementById('gallery-thumbs');
  var current = 0;

  function show(i, focus) {
    var n = thumbs.length;
    i = ((i % n) + n) % n;
    var t = thumbs[i];
    image.src = t.dataset.medium;
    image.alt = t.dataset.alt;
    image.width = Number(t.dataset.width);
    image.height = Number(t.dataset.height);
    link.href = t.getAttribute('href');
    thumbs[current].removeAttribute('aria-current');
    t.setAttribute('aria-current', 'true');
    caption.textContent = 'Photo ' + (i + 1) + ' of ' + n;
    current = i;
    if (focus) { t.focus(); }
  }

  thumbs.forEach(function (t) {
    t.addEventListener('click', function (e) {
      e.preventDefault();
      show(Number(t.dataset.index), false);
    });
  });
  prev.hidden = false;
  next.hidden = false;
  hint.hidden = false;
  prev.addEventListener('click', function () { show(current - 1, false); });
  next.addEventListener('click', function () { show(current + 1, false); });

  // Arrow keys anywhere in the gallery. On the thumbnails focus follows
  // the photo shown, so keyboard users see where they are; on a button it
  // stays put.
  root.addEventListener('keydown', function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    var to = null;
    switch (e.key) {
      case 'ArrowLeft': to = current - 1; break;
      case 'ArrowRight': to = current + 1; break;
      case 'Home': to = 0; break;
      case 'End': to = thumbs.length - 1; break;
    }
    if (to === null) { return; }
    e.preventDefault();
    show(to, list.contains(document.activeElement));
  });
})();
