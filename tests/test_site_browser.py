"""The built site, opened offline in headless Chromium.

Served on 127.0.0.1 with every other address blocked, each page must load without script errors; math
must be typeset by the vendored MathJax; every plotly figure and every saved widget must be drawn;
moving an explorer's plotly slider must change the plot; and no internal link may be broken.  A
screenshot of each page is saved under ``_build/screenshots``, at 1280 and at 390 px.

Layout checks at 1280 px (desktop) and 390 px (phone): every figure the executed chapter holds is drawn;
no display equation, table cell or code cell is cut off; pages without figures load no plotly or widget
JavaScript.  Page bytes and cold first paint are printed (run with ``-s`` to see them).

Each page is loaded once per width, in a fresh context, and every check that only reads it shares that
load (the ``loaded`` fixture); the slider check, which clicks, opens its own.

Run by ``python3 dev.py test`` after the book is built (``SNNLIB_SITE`` points at the HTML).
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("SNNLIB_SITE", ROOT / "_build" / "html"))
SHOTS = SITE.parent / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str | None:
    return os.environ.get("SNNLIB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _pages() -> list[Path]:
    if not SITE.exists():
        return []
    return sorted(p for p in SITE.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])


@functools.lru_cache(maxsize=None)
def _parse(path: Path) -> _Ids:
    p = _Ids()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    return p


@pytest.fixture(scope="module")
def server():
    if not (SITE / "index.html").exists():
        pytest.fail(f"no built site at {SITE}: run `python3 dev.py book` first")
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("CI=true but no Chromium found (install Debian's chromium or set SNNLIB_CHROMIUM)")
        pytest.skip("no Chromium on PATH (install Debian's chromium or set SNNLIB_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


WIDTHS = {"desktop": 1280, "phone": 390}


def _open(browser, server, rel: str, width: int = 1280):
    """Open a page with the network cut off; returns (page, external requests, script errors)."""
    ctx = browser.new_context(viewport={"width": width, "height": 900 if width > 600 else 844})
    external: list[str] = []
    errors: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith(server) or url.startswith("data:") or url.startswith("blob:"):
            r.continue_()
        else:
            external.append(url)
            r.abort()

    ctx.route("**/*", route)
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    resp = page.goto(server + rel, wait_until="load")
    assert resp is not None and resp.ok, f"{rel}: HTTP {resp.status if resp else 'no response'}"
    return page, external, errors


def _rel(p: Path) -> str:
    return str(p.relative_to(SITE)) if SITE in p.parents else str(p)


@pytest.fixture(scope="module")
def loaded(browser, server):
    """One load per page and width, settled, shared by every check that only reads the page.

    Each page is opened once in its own fresh context (a cold cache, the network cut off) and waited on
    until math is typeset and every figure drawn; the checks that follow read its layout, its performance
    entries and the errors it raised.  Checks that click or scroll (the explorer sliders) open their own,
    and the full-page screenshots, which resize the viewport for a moment (plotly relayouts after it),
    are taken last (``test_screenshots``).
    """
    cache: dict[tuple[str, int], tuple] = {}

    def get(rel: str, width: int = 1280):
        if (rel, width) not in cache:
            page, external, errors = _open(browser, server, rel, width)
            try:
                if 'http-equiv="Refresh"' in (SITE / rel).read_text(encoding="utf-8"):   # index.html
                    page.wait_for_url(lambda url: not url.endswith("/" + rel), timeout=20000)
                    page.wait_for_load_state("load")
                _settle(page)
            except Exception:
                page.context.close()
                raise
            cache[rel, width] = (page, external, errors)
        return cache[rel, width]

    yield get
    for page, _, _ in cache.values():
        page.context.close()


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
@pytest.mark.parametrize("page_path", _pages(), ids=_rel)
def test_page_renders_offline(loaded, page_path, width):
    rel = page_path.relative_to(SITE).as_posix()
    html_text = page_path.read_text(encoding="utf-8")
    page, external, errors = loaded(rel, width)
    # math: typeset by the vendored MathJax, with no TeX errors
    if 'class="math' in html_text:
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
        page.evaluate("MathJax.startup.promise")
        n_math = page.locator("mjx-container").count()
        assert n_math > 0, f"{rel}: math present but nothing typeset"
        assert page.locator("mjx-merror").count() == 0, f"{rel}: MathJax reported a TeX error"
    # plotly figures: each graph drawn as SVG
    n_graphs = html_text.count('class="snn-plotly-graph"')
    if n_graphs:
        page.wait_for_function(
            f"document.querySelectorAll('.snn-plotly-graph .main-svg').length >= {n_graphs}", timeout=20000)
    # saved widgets: each view rendered by the vendored html-manager
    n_views = html_text.count('application/vnd.jupyter.widget-view+json')
    if n_views:
        page.wait_for_function(
            f"document.querySelectorAll('.widget-subarea .jupyter-widgets').length >= {n_views}", timeout=20000)
        assert page.locator(".widget-subarea .widget-slider, .widget-subarea .widget-toggle-buttons").count() > 0
    assert not external, f"{rel}: requested addresses off this site at load time: {external[:5]}"
    assert not errors, f"{rel}: script errors: {errors[:5]}"


def test_explorer_sliders_change_the_plot(browser, server):
    """Every explorer on every page: clicking the start of each slider changes the plotted data."""
    pages = [p for p in _pages() if 'class="snn-explorer"' in p.read_text(encoding="utf-8")]
    assert pages, "no page carries an explorer (snnlib.viz.explorer in static mode)"
    for page_path in pages:
        rel = page_path.relative_to(SITE).as_posix()
        page, _, errors = _open(browser, server, rel)
        try:
            graphs = page.locator(".snn-explorer .snn-plotly-graph")
            changed = 0
            for g in range(graphs.count()):
                graph = graphs.nth(g)
                graph.scroll_into_view_if_needed()
                graph.locator(".slider-container").first.wait_for(timeout=20000)
                rails = graph.locator(".slider-container .slider-rail-touch-rect")
                for r in range(rails.count()):
                    state = "gd => JSON.stringify(gd.data.map(t => t.type === 'heatmap' ? t.z : Array.from(t.y)))"
                    before = graph.evaluate(state)
                    combo0 = graph.evaluate("gd => gd.dataset.combo")
                    rails.nth(r).scroll_into_view_if_needed()
                    box = rails.nth(r).bounding_box()
                    assert box is not None
                    # click the end of the rail that is farther from the current step
                    active = graph.evaluate(f"gd => gd._fullLayout.sliders[{r}].active")
                    x = box["x"] + 3 if active > 0 else box["x"] + box["width"] - 3
                    page.mouse.click(x, box["y"] + box["height"] / 2)
                    graph.evaluate(f"gd => new Promise(ok => {{ const t0 = Date.now(); (function w() {{ "
                                   f"if (gd.dataset.combo !== '{combo0}' || Date.now() - t0 > 5000) ok(); "
                                   f"else setTimeout(w, 50); }})(); }})")
                    combo = graph.evaluate("gd => gd.dataset.combo")
                    assert combo != combo0, f"{rel}: graph {g} slider {r} did not move"
                    after = graph.evaluate(state)
                    expected = graph.evaluate(f"gd => JSON.stringify(gd.snnTable[{combo}])")
                    assert after == expected, f"{rel}: graph {g} does not show the precomputed data of its sliders"
                    changed += after != before
            assert changed >= graphs.count(), f"{rel}: moving the sliders changed the plot only {changed} times"
            assert not errors, f"{rel}: script errors: {errors[:5]}"
        finally:
            page.context.close()


def test_no_broken_internal_links():
    pages = _pages()
    assert pages, f"no HTML pages under {SITE}"
    broken = []
    for page in pages:
        for href in _parse(page).links:
            parsed = urlparse(href)
            if parsed.scheme or href.startswith("//") or href.startswith("mailto:"):
                continue
            target = page if not parsed.path else (page.parent / unquote(parsed.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(SITE)} -> {href}")
                continue
            if parsed.fragment and target.suffix == ".html" and parsed.fragment not in _parse(target).ids:
                broken.append(f"{page.relative_to(SITE)} -> {href} (no id {parsed.fragment!r})")
    assert not broken, "broken internal links:\n" + "\n".join(broken[:30])


class _OutputProse(HTMLParser):
    """The text of a page's cell outputs, without their <pre>, <code>, <script> and <style> parts."""
    SKIP = {"pre", "code", "script", "style"}
    VOID = {"br", "img", "hr", "input", "meta", "link", "wbr", "source"}

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, bool, bool]] = []       # (tag, opens an output, opens a skipped part)
        self.depth_out = self.depth_skip = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        out = tag == "div" and "cell_output" in (dict(attrs).get("class") or "").split()
        skip = tag in self.SKIP
        self.stack.append((tag, out, skip))
        self.depth_out += out
        self.depth_skip += skip

    def handle_endtag(self, tag):
        while self.stack:
            t, out, skip = self.stack.pop()
            self.depth_out -= out
            self.depth_skip -= skip
            if t == tag:
                break

    def handle_data(self, data):
        if self.depth_out and not self.depth_skip and data.strip():
            self.texts.append(data)


def test_generated_sentences_show_no_raw_dollar_math():
    """The sentences a chapter writes from its run (Markdown outputs) have their $...$ math typeset."""
    chapters = [p for p in _pages() if p.parent.name == "notebooks"]
    assert chapters, "no chapter pages in the site"
    raw = []
    for p in chapters:
        prose = _OutputProse()
        prose.feed(p.read_text(encoding="utf-8"))
        raw += [f"{p.name}: {t.strip()[:90]}" for t in prose.texts if re.search(r"(?<!\\)\$", t)]
    assert not raw, "raw $ in generated prose (is nb_render_markdown_format 'myst'?):\n" + "\n".join(raw[:20])


def test_every_chapter_has_a_colab_button():
    chapters = [p for p in _pages() if p.parent.name == "notebooks"]
    assert chapters, "no chapter pages in the site"
    for p in chapters:
        text = p.read_text(encoding="utf-8")
        m = re.search(r'href="(https://colab\.research\.google\.com/github/[^"]+)"', text)
        assert m, f"{p.name}: no Colab launch button"
        assert m.group(1).endswith(f"notebooks/{p.stem}.ipynb"), f"{p.name}: Colab button points at {m.group(1)}"


# ---- layout at desktop and phone width ------------------------------------------------------------

def _chapters() -> list[Path]:
    return [p for p in _pages() if p.parent.name == "notebooks"]


def _settle(page) -> None:
    """Wait until math is typeset and every plotly figure drawn, so that layout is final."""
    html_text = page.content()
    if "mjx-container" in html_text or 'class="math' in html_text:
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
        page.evaluate("MathJax.startup.promise")
        page.evaluate("window.snnMathFit || null")
    n_graphs = html_text.count('class="snn-plotly-graph"')
    if n_graphs:
        page.wait_for_function(
            f"document.querySelectorAll('.snn-plotly-graph .main-svg').length >= {n_graphs}", timeout=20000)
    page.evaluate("document.fonts.ready.then(() => true)")


def _executed_notebook(chapter_html: Path) -> Path:
    """The executed notebook the page was built from (SNNLIB_EXECUTED_DIR, or the copy the site serves)."""
    name = chapter_html.stem + ".ipynb"
    executed = os.environ.get("SNNLIB_EXECUTED_DIR")
    if executed and (Path(executed) / name).exists():
        return Path(executed) / name
    return SITE / "_sources" / "notebooks" / name


def _png_outputs(nb: Path) -> tuple[int, int]:
    """(image/png outputs, code cells that call plt.show()) in an executed notebook."""
    cells = [c for c in json.loads(nb.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    pngs = sum("image/png" in out.get("data", {}) for c in cells for out in c.get("outputs", []))
    showing = sum(bool(re.search(r"\bplt\.show\(\)", "".join(c["source"]))) for c in cells)
    return pngs, showing


# non-blank: decoded, and not one uniform colour (sampled on a canvas)
NONBLANK_IMAGES = """() => Array.from(document.querySelectorAll('article img')).filter(img => {
  if (!img.complete || img.naturalWidth === 0) return false;
  const c = document.createElement('canvas'); const w = Math.min(img.naturalWidth, 400);
  const h = Math.max(1, Math.round(img.naturalHeight * w / img.naturalWidth));
  c.width = w; c.height = h; const g = c.getContext('2d'); g.drawImage(img, 0, 0, w, h);
  const d = g.getImageData(0, 0, w, h).data;
  for (let i = 4; i < d.length; i += 4) {
    if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2] || d[i + 3] !== d[3]) return true;
  }
  return false;
}).length"""


def test_every_executed_figure_is_drawn(loaded):
    chapters = _chapters()
    assert chapters, "no chapter pages in the site"
    for page_path in chapters:
        nb = _executed_notebook(page_path)
        assert nb.exists(), f"no executed notebook for {page_path.name} at {nb}"
        pngs, showing = _png_outputs(nb)
        assert pngs >= showing, f"{nb.name}: {showing} cells call plt.show() but only {pngs} images were kept"
        expected = pngs
        rel = page_path.relative_to(SITE).as_posix()
        page, _, _ = loaded(rel)
        page.evaluate("Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null)))")
        drawn = page.evaluate(NONBLANK_IMAGES)
        print(f"[figures] {rel}: {drawn} non-blank <img> drawn, {expected} image/png outputs in {nb.name}")
        assert drawn >= expected, f"{rel}: {drawn} non-blank images drawn, but {nb.name} holds {expected}"


# A display equation is cut off when its typeset math is wider than the box that shows it (MathJax's box
# scrolls, but a reader sees only its left part), or when the box reaches past the content column or the
# viewport.  Hidden boxes (the other form of a fitted equation) are skipped.
OVERFLOWING_EQUATIONS = """() => {
  const col = document.querySelector('article.bd-article') || document.querySelector('article') || document.body;
  const right = Math.min(col.getBoundingClientRect().right, document.documentElement.clientWidth);
  const bad = [];
  const shown = Array.from(document.querySelectorAll('mjx-container[display="true"]')).filter(el => el.offsetParent !== null);
  for (const el of shown) {
    const r = el.getBoundingClientRect();
    const wider = el.scrollWidth > el.clientWidth + 1;
    if (wider || r.right > right + 1) {
      bad.push({tex: (el.querySelector('mjx-assistive-mml') || el).textContent.slice(0, 60),
                box: Math.round(r.width), content: el.scrollWidth});
    }
  }
  return {n: shown.length, bad: bad};
}"""


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_no_display_equation_is_cut_off(loaded, width):
    pages = [p for p in _pages() if 'class="math' in p.read_text(encoding="utf-8")]
    assert pages, "no page holds math"
    problems = []
    for page_path in pages:
        rel = page_path.relative_to(SITE).as_posix()
        page, _, _ = loaded(rel, width)
        res = page.evaluate(OVERFLOWING_EQUATIONS)
        print(f"[equations {width}px] {rel}: {len(res['bad'])} of {res['n']} display equations cut off")
        problems += [f"{rel}: {b}" for b in res["bad"]]
    assert not problems, f"display equations cut off at {width} px:\n" + "\n".join(problems)


# A table cell is hidden when it lies outside the viewport, or outside the visible box of the element
# that clips it; with reachable=True a cell inside a horizontally scrolling container counts as shown.
HIDDEN_CELLS = """(reachable) => {
  const vw = document.documentElement.clientWidth;
  const clipper = el => {
    for (let a = el.parentElement; a && a !== document.body && a !== document.documentElement; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (ox !== 'visible') return a;
    }
    return null;
  };
  const bad = [];
  for (const cell of document.querySelectorAll('article table td, article table th')) {
    const r = cell.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const head = cell.closest('thead');                    // visually hidden (kept for screen readers)
    if (head && head.getBoundingClientRect().width <= 1) continue;
    const c = clipper(cell);
    const ox = c ? getComputedStyle(c).overflowX : 'visible';
    const box = c ? c.getBoundingClientRect() : {left: 0, right: vw};
    const left = Math.max(box.left, 0), right = Math.min(box.right, vw);
    const scrolls = c && (ox === 'auto' || ox === 'scroll') && box.left >= -1 && box.right <= vw + 1;
    const inside = r.left >= left - 1 && r.right <= right + 1;
    if (inside || (reachable && scrolls)) continue;
    bad.push(cell.textContent.trim().slice(0, 40) + ` [${Math.round(r.left)}..${Math.round(r.right)} of ${Math.round(left)}..${Math.round(right)}]`);
  }
  return bad;
}"""


def _hidden_cells(loaded, rel: str, width: int, reachable: bool) -> list[str]:
    page, _, _ = loaded(rel, width)
    return page.evaluate(HIDDEN_CELLS, reachable)


def test_tables_fit_at_desktop_width(loaded):
    """At 1280 px every cell of every table is on screen, with no scrolling."""
    hidden = []
    for page_path in _pages():
        if "<table" not in page_path.read_text(encoding="utf-8"):
            continue
        rel = page_path.relative_to(SITE).as_posix()
        hidden += [f"{rel}: {c}" for c in _hidden_cells(loaded, rel, 1280, reachable=False)]
    assert not hidden, "table cells off-screen at 1280 px:\n" + "\n".join(hidden[:30])


def test_tables_reachable_at_phone_width(loaded):
    """At 390 px a table may scroll inside its own box, but no cell is off-screen for good."""
    hidden = []
    for page_path in _pages():
        if "<table" not in page_path.read_text(encoding="utf-8"):
            continue
        rel = page_path.relative_to(SITE).as_posix()
        hidden += [f"{rel}: {c}" for c in _hidden_cells(loaded, rel, 390, reachable=True)]
    assert not hidden, "table cells out of reach at 390 px:\n" + "\n".join(hidden[:30])


# The 中文 terms may wrap only between words: at a space, a slash, or around full-width brackets.
GLOSSARY_CHINESE_BREAKS = """() => {
  const out = [];
  // the glossary is a definition list: each definition opens with the term's Chinese name in bold
  for (const dd of document.querySelectorAll('article dl.glossary dd')) {
    {
      const td = dd.querySelector('strong');
      if (!td) continue;
      // each character's line, from its own client rect; a new line starts where the top jumps
      const chars = [];
      let text = '';
      const walk = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
      for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        for (let i = 0; i < n.length; i++) {
          const range = document.createRange(); range.setStart(n, i); range.setEnd(n, i + 1);
          const r = range.getClientRects()[0];
          if (r && r.width > 0) chars.push([n.data[i], r.top, r.bottom, text.length]);
          text += n.data[i];
        }
      }
      const bad = [];
      for (let i = 1; i < chars.length; i++) {
        if (chars[i][1] >= chars[i - 1][2] - 2) {          // chars[i] starts a new line
          const before = chars[i - 1][0], after = chars[i][0];
          const between = text.slice(chars[i - 1][3] + 1, chars[i][3]);   // e.g. a collapsed space
          if (!(/\\s/.test(between) || /[\\s/）)、，,]/.test(before) || /[\\s（(/]/.test(after))) bad.push(before + '|' + after);
        }
      }
      out.push([td.textContent.trim(), bad]);
    }
  }
  return out;
}"""


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_glossary_chinese_terms_are_not_broken(loaded, width):
    path = SITE / "book" / "glossary.html"
    assert path.exists(), "no glossary page"
    page, _, _ = loaded("book/glossary.html", width)
    cells = page.evaluate(GLOSSARY_CHINESE_BREAKS)
    assert cells, "the glossary has no 中文 names (dl.glossary dd strong)"
    broken = [f"{term} (at {', '.join(breaks)})" for term, breaks in cells if breaks]
    assert not broken, f"中文 terms broken inside a word at {width} px: {broken}"


def test_scoreboard_height_and_columns(loaded):
    path = SITE / "book" / "scoreboard.html"
    if not path.exists():
        pytest.skip("no scoreboard page in this build")
    page, _, _ = loaded("book/scoreboard.html", 1280)
    height = page.evaluate("document.documentElement.scrollHeight")
    hidden = page.evaluate(HIDDEN_CELLS, False)
    print(f"[scoreboard] height at 1280 px: {height} px; {len(hidden)} table cells off-screen")
    assert not hidden, "scoreboard cells off-screen at 1280 px:\n" + "\n".join(hidden[:30])


OVERFLOWING_CODE = """() => Array.from(document.querySelectorAll('article .cell_input pre'))
  .filter(pre => pre.scrollWidth > pre.clientWidth + 1)
  .map(pre => {
    const lines = pre.textContent.split('\\n');
    const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), '');
    return `${pre.scrollWidth - pre.clientWidth}px too wide, longest line (${longest.length} chars): ${longest.trim().slice(0, 70)}`;
  })"""


def test_code_cells_fit_the_column(loaded):
    """At 1280 px no code cell needs horizontal scrolling: chapter code fits the content column."""
    offenders = []
    for page_path in _chapters():
        rel = page_path.relative_to(SITE).as_posix()
        page, _, _ = loaded(rel, 1280)
        bad = page.evaluate(OVERFLOWING_CODE)
        print(f"[code 1280px] {rel}: {len(bad)} code cells wider than the column")
        for b in bad:
            print(f"    {b}")
        offenders += [f"{rel}: {b}" for b in bad]
    assert not offenders, "code cells wider than the content column at 1280 px:\n" + "\n".join(offenders)


SCROLLING_OUTPUT = """() => Array.from(document.querySelectorAll('article .cell_output pre'))
  .filter(pre => pre.scrollWidth > pre.clientWidth + 1)
  .map(pre => `${pre.scrollWidth - pre.clientWidth}px hidden: ${pre.textContent.trim().slice(0, 70)}`)"""


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_no_printed_output_scrolls_sideways(loaded, width):
    """Printed output (the environment line, a run's summary, a verdict printed by a cell) wraps inside the
    column: nothing is hidden in a side-scrolling box, at 1280 or 390 px."""
    offenders = []
    for page_path in _pages():
        rel = page_path.relative_to(SITE).as_posix()
        if not rel.startswith("notebooks/"):
            continue
        page, _, _ = loaded(rel, width)
        offenders += [f"{rel}: {b}" for b in page.evaluate(SCROLLING_OUTPUT)]
    assert not offenders, f"printed output that scrolls at {width} px:\n" + "\n".join(offenders[:20])


HEAVY_JS = ("plotly.min.js", "plotly-snn.min.js", "widgets/embed.js")


def _cold_load(loaded, rel: str) -> dict:
    """The page's first load, in its fresh context (cold cache): bytes transferred, first paint, scripts."""
    page, _, _ = loaded(rel, 1280)
    try:
        page.wait_for_load_state("networkidle", timeout=60000)
    except Exception:                            # measure what has arrived; a slow machine is not a failure
        pass
    return page.evaluate("""() => {
          const nav = performance.getEntriesByType('navigation')[0];
          const res = performance.getEntriesByType('resource');
          const fcp = performance.getEntriesByName('first-contentful-paint')[0];
          return {bytes: nav.transferSize + res.reduce((a, r) => a + r.transferSize, 0),
                  fcp: fcp ? fcp.startTime : null,
                  scripts: res.filter(r => r.initiatorType === 'script' || r.name.endsWith('.js')).map(r => r.name)};
    }""")


#: the most a page may load, everything included (HTML, styles, scripts, fonts, images), uncompressed
CHAPTER_MAX_BYTES = 4_000_000
PAGE_MAX_BYTES = 1_500_000


def test_page_weight(loaded):
    """Every page within its weight (chapters 4 MB, other pages 1.5 MB, all it loads); heavy scripts only
    where needed: plotly.js and the widget renderer only with a figure or widget, Font Awesome's 1.5 MB
    fontawesome.js nowhere (the web fonts draw the icons), the search index only on the search page."""
    problems = []
    for page_path in _pages():
        rel = page_path.relative_to(SITE).as_posix()
        text = page_path.read_text(encoding="utf-8")
        m = _cold_load(loaded, rel)
        fcp = "n/a" if m["fcp"] is None else f"{m['fcp']:.0f} ms"
        print(f"[weight] {rel}: {m['bytes'] / 1e6:.2f} MB transferred, first contentful paint {fcp}")
        needs = 'class="snn-plotly-graph"' in text or "application/vnd.jupyter.widget-view+json" in text
        heavy = [s for s in m["scripts"] if s.split("?")[0].endswith(HEAVY_JS)]
        if heavy and not needs:
            problems.append(f"{rel}: no figure or widget, but loads {heavy}")
        limit = CHAPTER_MAX_BYTES if page_path.parent.name == "notebooks" else PAGE_MAX_BYTES
        if m["bytes"] > limit:
            problems.append(f"{rel}: {m['bytes'] / 1e6:.2f} MB, over {limit / 1e6:.1f} MB")
        names = [s.split("?")[0].rsplit("/", 1)[-1] for s in m["scripts"]]
        if "fontawesome.js" in names:
            problems.append(f"{rel}: loads fontawesome.js")
        if "searchindex.js" in names and rel != "search.html":
            problems.append(f"{rel}: loads the search index")
    assert not problems, "page weight:\n" + "\n".join(problems)


def test_heavy_scripts_are_deferred():
    """Where plotly.js or the widget renderer is loaded, it does not block the first paint."""
    blocking = []
    for page_path in _pages():
        for tag in re.findall(r"<script\b[^>]*>", page_path.read_text(encoding="utf-8")):
            if any(h in tag for h in HEAVY_JS) and not re.search(r"\b(defer|async)\b", tag):
                blocking.append(f"{_rel(page_path)}: {tag}")
    assert not blocking, "render-blocking heavy scripts:\n" + "\n".join(blocking)


def test_static_explorers_show_no_dead_widgets():
    """On the static site an explorer is its plotly twin only: no saved ipywidgets view that cannot act."""
    pages = [p for p in _pages() if 'class="snn-explorer"' in p.read_text(encoding="utf-8")]
    assert pages, "no page carries an explorer"
    for p in pages:
        text = p.read_text(encoding="utf-8")
        assert "application/vnd.jupyter.widget-view+json" not in text and "snn-live-controls" not in text, \
            f"{_rel(p)}: the static page shows the explorer's live ipywidgets controls, which do nothing there"


CITATION_LABEL = re.compile(r"^[A-Z][^\s,]*(?: [^\s,]+)*(?: et al\.)?, (?:\d{4}[a-z]?|n\.d\.)$")


def test_citations_are_author_year_everywhere():
    """The bibliography's labels and the text's citations are one author–year style; same label, same work."""
    bib = SITE / "book" / "bibliography.html"
    assert bib.exists(), "no bibliography page"
    labels = re.findall(r'<div class="citation" id="([^"]+)"[^>]*>\s*<span class="label"><span class="fn-bracket">\[</span>'
                        r'(?:<a[^>]*>)?([^<]+)', bib.read_text(encoding="utf-8"))
    assert labels, "no entries in the bibliography"
    bad = [lab for _, lab in labels if not CITATION_LABEL.match(lab)]
    assert not bad, f"bibliography labels that are not author–year: {bad}"
    texts = [lab for _, lab in labels]
    assert len(set(texts)) == len(texts), f"two works share a label: {sorted(t for t in texts if texts.count(t) > 1)}"
    by_id = dict(labels)
    for page_path in _pages():
        html_text = page_path.read_text(encoding="utf-8")
        for span in re.findall(r'<span class="bibtex-citation"[^>]*>(.*?)</span>', html_text, flags=re.S):
            for target, shown in re.findall(r'href="[^"]*bibliography\.html#([^"]+)"[^>]*>([^<]+)</a>', span):
                label = by_id.get(target)
                assert label is not None, f"{_rel(page_path)}: citation to #{target}, which is no bibliography entry"
                year = label.rpartition(", ")[2]
                plain = re.sub(r"<[^>]+>", "", span)
                assert year in shown or shown == label, \
                    f"{_rel(page_path)}: citation {plain!r} does not show its entry's label {label!r}"
                assert label.rpartition(", ")[0] in plain, \
                    f"{_rel(page_path)}: citation {plain!r} does not name the authors of {label!r}"


# In a plotly figure: no legend over a plotting area, and no axis label, tick label, title or legend entry
# reaching past the figure's own box (where the page would clip it).
PLOTLY_COVERED_OR_CLIPPED = """() => {
  const bad = [];
  document.querySelectorAll('.snn-plotly-graph').forEach((gd, g) => {
    const box = gd.getBoundingClientRect();
    const areas = Array.from(gd.querySelectorAll('.nsewdrag')).map(e => e.getBoundingClientRect());
    gd.querySelectorAll('.legend').forEach(lg => {
      const r = lg.getBoundingClientRect();
      if (r.width === 0) return;
      if (areas.some(a => r.left < a.right - 1 && r.right > a.left + 1 && r.top < a.bottom - 1 && r.bottom > a.top + 1))
        bad.push(`figure ${g}: legend over the data`);
    });
    const labels = '.xaxislayer-above text, .yaxislayer-above text, [class^="g-x"][class$="title"] text, ' +
                   '[class^="g-y"][class$="title"] text, .gtitle, .legendtext';
    gd.querySelectorAll(labels).forEach(t => {
      const r = t.getBoundingClientRect();
      if (r.width === 0) return;
      if (r.left < box.left - 1 || r.right > box.right + 1)
        bad.push(`figure ${g}: "${t.textContent}" cut at the figure's edge`);
    });
  });
  return bad;
}"""


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_plotly_labels_and_legends_stay_clear(loaded, width):
    pages = [p for p in _pages() if 'class="snn-plotly-graph"' in p.read_text(encoding="utf-8")]
    assert pages, "no page holds a plotly figure"
    problems = []
    for page_path in pages:
        rel = page_path.relative_to(SITE).as_posix()
        page, _, _ = loaded(rel, width)
        problems += [f"{rel}: {b}" for b in page.evaluate(PLOTLY_COVERED_OR_CLIPPED)]
    assert not problems, f"plotly figures at {width} px:\n" + "\n".join(problems)


# ---- navigation: the article header's sidebar buttons, at phone, projector and desktop width -----------

NAV_WIDTHS = {"phone": 390, "projector": 1024, "desktop": 1280}


def _visible_links(page, selector: str) -> int:
    return page.evaluate("""(sel) => Array.from(document.querySelectorAll(sel))
        .filter(a => { const r = a.getBoundingClientRect(); return r.width > 0 && r.height > 0; }).length""", selector)


def _wait_open(page, dialog: str, links: str, what: str) -> None:
    page.wait_for_function(f"document.querySelector('{dialog}') && document.querySelector('{dialog}').open",
                           timeout=5000)
    n = _visible_links(page, f"{dialog} {links}")
    assert n > 0, f"{what}: the drawer {dialog} opened with no visible link"
    page.keyboard.press("Escape")
    page.wait_for_function(f"!document.querySelector('{dialog}').open", timeout=5000)


@pytest.mark.parametrize("width", NAV_WIDTHS.values(), ids=NAV_WIDTHS.keys())
def test_sidebar_buttons_open_the_drawers(browser, server, width):
    """A real click on the visible sidebar buttons of a chapter: below 992 px the chapter list opens as a
    drawer, from 992 px it hides and shows again; below 1200 px the page contents open as a drawer, from
    1200 px they are beside the text.  The site header (a second search box) is not shown."""
    chapters = _chapters()
    assert chapters, "no chapter pages in the site"
    rel = chapters[0].relative_to(SITE).as_posix()
    page, _, errors = _open(browser, server, rel, width)
    what = f"{rel} at {width} px"
    try:
        page.wait_for_load_state("load")
        assert not page.locator("#pst-header").is_visible(), f"{what}: the site header is shown"
        primary = page.locator(".bd-header-article .primary-toggle")
        assert primary.is_visible(), f"{what}: no visible chapter-list button"
        sidebar = page.locator("#pst-primary-sidebar")
        if width < 992:
            primary.click()
            _wait_open(page, "#pst-primary-sidebar-modal", ".bd-docs-nav a", what)
        else:
            assert _visible_links(page, "#pst-primary-sidebar .bd-docs-nav a") > 0, f"{what}: no chapter list"
            shown = "document.querySelector('#pst-primary-sidebar').checkVisibility({visibilityProperty: true})"
            primary.click()
            page.wait_for_function(f"!{shown}", timeout=5000)
            primary.click()
            page.wait_for_function(shown, timeout=5000)
            assert sidebar.is_visible()
        secondary = page.locator(".bd-header-article .secondary-toggle")
        if width < 1200:
            assert secondary.is_visible(), f"{what}: no visible page-contents button"
            secondary.click()
            _wait_open(page, "#pst-secondary-sidebar-modal", "#pst-page-toc-nav a", what)
        else:
            assert _visible_links(page, "#pst-secondary-sidebar #pst-page-toc-nav a") > 0, \
                f"{what}: the page contents are not beside the text"
        assert not errors, f"{what}: script errors: {errors[:5]}"
    finally:
        page.context.close()


def test_every_page_has_a_favicon():
    missing = []
    for page_path in _pages():
        text = page_path.read_text(encoding="utf-8")
        if 'http-equiv="Refresh"' in text:                    # index.html: a redirect, no page of its own
            continue
        m = re.search(r'<link rel="(?:shortcut )?icon" href="([^"]+)"', text)
        if not m or not (page_path.parent / m.group(1).split("?")[0]).exists():
            missing.append(_rel(page_path))
    assert not missing, f"pages with no favicon: {missing}"


# ---- nothing wider than a phone -----------------------------------------------------------------------

WIDEST = """() => {
  const vw = document.documentElement.clientWidth;
  let worst = null;
  for (const el of document.querySelectorAll('.bd-main *')) {
    const r = el.getBoundingClientRect();
    if (r.right > vw + 1 && r.width > 0 && (!worst || r.right > worst.right) &&
        el.checkVisibility({visibilityProperty: true})) {
      let clipped = false;        // inside a box that scrolls or clips it, it does not widen the page
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        if (getComputedStyle(a).overflowX !== 'visible') { clipped = true; break; }
      }
      if (!clipped) worst = {right: Math.round(r.right), tag: el.tagName.toLowerCase(),
                             cls: String(el.className).slice(0, 40), text: (el.textContent || '').trim().slice(0, 60)};
    }
  }
  return {scroll: document.documentElement.scrollWidth, vw: vw, worst: worst};
}"""


def test_no_page_is_wider_than_a_phone(loaded):
    """At 390 px no page scrolls sideways: everything wider than the column scrolls in its own box."""
    wide = []
    for page_path in _pages():
        rel = page_path.relative_to(SITE).as_posix()
        page, _, _ = loaded(rel, 390)
        res = page.evaluate(WIDEST)
        if res["scroll"] > res["vw"] + 1:
            wide.append(f"{rel}: {res['scroll']} px wide in a {res['vw']} px viewport, widest: {res['worst']}")
    assert not wide, "pages wider than the 390 px viewport:\n" + "\n".join(wide)


# ---- no Python warning left in an executed chapter -------------------------------------------------------

PY_WARNING = re.compile(r"\b(?:[A-Z][A-Za-z]*)?Warning\b(?=:)")


def test_no_executed_output_holds_a_python_warning():
    """No cell output of an executed chapter shows a Python warning (UserWarning, DeprecationWarning, ...)."""
    chapters = _chapters()
    assert chapters, "no chapter pages in the site"
    found = []
    for page_path in chapters:
        nb = _executed_notebook(page_path)
        assert nb.exists(), f"no executed notebook for {page_path.name} at {nb}"
        cells = [c for c in json.loads(nb.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
        for i, cell in enumerate(cells):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream":
                    text = "".join(out.get("text", ""))
                elif out.get("output_type") in ("display_data", "execute_result"):
                    text = "".join(out.get("data", {}).get("text/plain", ""))
                else:
                    continue
                for line in text.splitlines():
                    if PY_WARNING.search(line):
                        found.append(f"{nb.name} code cell {i} ({out.get('name', out['output_type'])}): {line.strip()[:160]}")
    assert not found, "Python warnings in executed outputs:\n" + "\n".join(found)


# Last in this module: a full-page screenshot resizes the viewport while it is taken, and the responsive
# plotly figures relayout after it, so the layout checks above read the pages before any is taken.
@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_screenshots(loaded, width):
    """A full-page screenshot of every page at 1280 and 390 px, under ``_build/screenshots``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    pages = _pages()
    assert pages, f"no HTML pages under {SITE}"
    for page_path in pages:
        rel = page_path.relative_to(SITE).as_posix()
        page, _, _ = loaded(rel, width)
        out = SHOTS / (rel.replace("/", "__").removesuffix(".html") + f"-{width}.png")
        page.screenshot(path=str(out), full_page=True)
        assert out.stat().st_size > 0, f"{rel}: empty screenshot at {width} px"
