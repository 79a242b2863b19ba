// The pages work without this script; it only helps keyboard users on small screens.
// A table wider than the window scrolls inside its own box (see style.css); such a box must
// be reachable with the keyboard to be scrolled (WCAG 2.1.1), so it gets a tab stop and the
// name of its caption. Tables that fit get neither.
(function () {
  function mark() {
    document.querySelectorAll('main table').forEach(function (t) {
      var scrolls = t.scrollWidth > t.clientWidth + 1;
      if (scrolls && !t.hasAttribute('tabindex')) {
        t.setAttribute('tabindex', '0');
        t.setAttribute('data-scroll-box', '');
        if (!t.hasAttribute('aria-label')) {
          var c = t.querySelector('caption');
          t.setAttribute('aria-label', c ? c.textContent.trim() : 'Tabell');
        }
      } else if (!scrolls && t.hasAttribute('data-scroll-box')) {
        t.removeAttribute('tabindex');
        t.removeAttribute('data-scroll-box');
      }
    });
  }
  document.addEventListener('DOMContentLoaded', mark);
  window.addEventListener('resize', mark);
})();
