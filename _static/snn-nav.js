/* The sidebar and page-contents buttons of the article header.
 *
 * pydata-sphinx-theme 0.17 binds its click handlers (open the chapter list or the page's contents as a
 * drawer, or, from 992 px up, hide the chapter list) to the first .primary-toggle and .secondary-toggle
 * of the page: the copies in the site header (#pst-header), which the book hides.  The buttons a
 * reader sees are the article header's copies, which had no handler (pydata-sphinx-theme#2451,
 * sphinx-book-theme#988; sphinx-book-theme 1.3 pins pydata-sphinx-theme 0.17, and the release with the
 * fix needs Sphinx 8, which Jupyter Book 1 does not support).  Here a click on any other copy is passed
 * on to the bound one, so the theme's own code opens the drawer.
 *
 * Jupyter Book 1 adds every .js file in _static to every page; tests/test_site_browser.py clicks the
 * buttons at 390, 1024 and 1280 px.
 */
(function () {
  "use strict";
  function forward() {
    ["primary-toggle", "secondary-toggle"].forEach(function (cls) {
      var buttons = document.querySelectorAll("." + cls);
      var bound = buttons[0];
      for (var i = 1; i < buttons.length; i++) {
        buttons[i].addEventListener("click", function (event) {
          event.preventDefault();
          event.stopPropagation();
          this.blur();
          bound.click();
        });
      }
    });
  }
  // the theme's scripts are deferred: they have bound their handlers by DOMContentLoaded
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", forward); }
  else { forward(); }
})();
