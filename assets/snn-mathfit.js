/* Display equations that fit their column.
 *
 * MathJax 3 does not break lines.  A display equation that is wider than its column is first shown
 * stacked: its top-level parts (separated by \qquad, or before a top-level \Longrightarrow, \iff or
 * \Rightarrow) one under the other, in a `gathered` block.  If it is still too wide, its font is scaled
 * down to fit, to no less than MIN_SCALE; only past that does it scroll.  Re-checked on resize.
 * window.snnMathFit is a promise that resolves once the page's equations have been fitted.
 */
(function () {
  "use strict";
  var MIN_SCALE = 0.7;
  var pairs = [];

  // split TeX at top-level separators (outside braces and \begin..\end)
  function parts(tex) {
    var out = [], depth = 0, env = 0, start = 0, i = 0;
    var seps = [["\\qquad", "drop"], ["\\quad\\Longrightarrow\\quad", "keep"], ["\\Longrightarrow", "keep"],
                ["\\iff", "keep"], ["\\Rightarrow", "keep"]];
    while (i < tex.length) {
      var c = tex[i];
      if (c === "\\" && tex[i + 1] === "\\") { i += 2; continue; }
      if (c === "\\" && (tex[i + 1] === "{" || tex[i + 1] === "}")) { i += 2; continue; }
      if (c === "{") { depth++; i++; continue; }
      if (c === "}") { depth--; i++; continue; }
      if (tex.startsWith("\\begin{", i)) { env++; i += 7; depth++; continue; }
      if (tex.startsWith("\\end{", i)) { env--; i += 5; depth++; continue; }
      if (depth === 0 && env === 0 && c === "\\") {
        var hit = null;
        for (var k = 0; k < seps.length; k++) {
          var s = seps[k][0];
          if (tex.startsWith(s, i) && !/[A-Za-z]/.test(tex[i + s.length] || "")) { hit = seps[k]; break; }
        }
        if (hit) {
          out.push(tex.slice(start, i));
          if (hit[1] === "drop") { start = i + hit[0].length; }
          else { start = i; }
          i += hit[0].length;
          continue;
        }
      }
      i++;
    }
    out.push(tex.slice(start));
    return out.map(function (p) { return p.replace(/^(\s|\\quad)+|(\s|\\quad)+$/g, ""); })
              .filter(function (p) { return p.length > 0; });
  }

  // does a token matching re occur outside braces and environments?
  function topLevel(tex, re) {
    var depth = 0, env = 0;
    for (var i = 0; i < tex.length; i++) {
      if (tex.startsWith("\\begin{", i)) { env++; continue; }
      if (tex.startsWith("\\end{", i)) { env--; continue; }
      var c = tex[i];
      if (c === "\\" && (tex[i + 1] === "{" || tex[i + 1] === "}")) { i++; continue; }
      if (c === "{") { depth++; continue; }
      if (c === "}") { depth--; continue; }
      if (depth === 0 && env === 0 && re.test(tex.slice(i, i + 2))) { return true; }
      if (c === "\\") { i++; }
    }
    return false;
  }

  function stacked(tex) {
    // Sphinx wraps math that holds \\ in a split environment; look inside it
    var m = /^\s*\\begin\{split\}([\s\S]*)\\end\{split\}\s*$/.exec(tex);
    if (m) { tex = m[1]; }
    if (topLevel(tex, /^(&|\\\\)/)) { return null; }   // aligned rows: leave as written
    var p = parts(tex);
    return p.length > 1 ? "\\begin{gathered}" + p.join(" \\\\ ") + "\\end{gathered}" : null;
  }

  function tooWide(el) { return el.scrollWidth > el.clientWidth + 1; }

  function show(el, on) { el.style.display = on ? "" : "none"; }

  function fit() {
    pairs.forEach(function (p) {
      show(p.one, true); if (p.alt) { show(p.alt, false); }
      p.one.style.fontSize = p.oneSize; if (p.alt) { p.alt.style.fontSize = p.altSize; }
      var cur = p.one, base = p.oneSize;
      if (tooWide(p.one) && p.alt) { show(p.one, false); show(p.alt, true); cur = p.alt; base = p.altSize; }
      if (tooWide(cur)) {
        var pct = parseFloat(base) || 100;
        var s = Math.max(MIN_SCALE, cur.clientWidth / cur.scrollWidth * 0.98);
        cur.style.fontSize = (pct * s).toFixed(1) + "%";
      }
    });
  }

  function prepare() {
    var doc = MathJax.startup.document;
    var items = Array.from(doc.math).filter(function (m) { return m.display && m.typesetRoot; });
    var jobs = items.map(function (m) {
      var one = m.typesetRoot, alt = stacked(m.math);
      var pair = {one: one, alt: null, oneSize: one.style.fontSize, altSize: one.style.fontSize, tex: m.math};
      pairs.push(pair);
      if (!alt) { return Promise.resolve(); }
      return MathJax.tex2chtmlPromise(alt, {display: true}).then(function (node) {
        node.classList.add("snn-stacked");
        show(node, false);
        one.after(node);
        pair.alt = node;
      }, function (e) { pair.error = String(e); console.warn("snn-mathfit: could not stack", m.math, e); });
    });
    return Promise.all(jobs).then(function () {
      doc.clear(); doc.updateDocument();   // the stylesheet for the glyphs of the stacked forms
      fit();
      window.snnMathFitPairs = pairs;
      var t = null;
      window.addEventListener("resize", function () { clearTimeout(t); t = setTimeout(fit, 100); });
    });
  }

  window.snnMathFit = new Promise(function (done) {
    function start() {
      if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) { return setTimeout(start, 50); }
      MathJax.startup.promise.then(prepare).then(done, function (e) { console.warn("snn-mathfit:", e); done(); });
    }
    if (document.readyState === "complete") { start(); } else { window.addEventListener("load", start); }
  });
})();
