"""The built site, opened offline in headless Chromium.

Served on 127.0.0.1 with every other address blocked, each page must load without script errors; math
must be typeset by the vendored MathJax; every plotly figure and every saved widget must be drawn;
moving an explorer's plotly slider must change the plot; and no internal link may be broken.  A
screenshot of each page is saved under ``_build/screenshots``.

Run by ``python3 dev.py test`` after the book is built (``SNNLIB_SITE`` points at the HTML).
"""
from __future__ import annotations

import functools
import http.server
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
SHOTS = ROOT / "_build" / "screenshots"
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


def _open(browser, server, rel: str):
    """Open a page with the network cut off; returns (page, external requests, script errors)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
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


@pytest.mark.parametrize("page_path", _pages(), ids=lambda p: str(p.relative_to(SITE)) if SITE in p.parents else str(p))
def test_page_renders_offline(browser, server, page_path):
    rel = page_path.relative_to(SITE).as_posix()
    html_text = page_path.read_text(encoding="utf-8")
    page, external, errors = _open(browser, server, rel)
    try:
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
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / (rel.replace("/", "__").removesuffix(".html") + ".png")), full_page=True)
        assert not external, f"{rel}: requested addresses off this site at load time: {external[:5]}"
        assert not errors, f"{rel}: script errors: {errors[:5]}"
    finally:
        page.context.close()


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


def test_every_chapter_has_a_colab_button():
    chapters = [p for p in _pages() if p.parent.name == "notebooks"]
    assert chapters, "no chapter pages in the site"
    for p in chapters:
        text = p.read_text(encoding="utf-8")
        m = re.search(r'href="(https://colab\.research\.google\.com/github/[^"]+)"', text)
        assert m, f"{p.name}: no Colab launch button"
        assert m.group(1).endswith(f"notebooks/{p.stem}.ipynb"), f"{p.name}: Colab button points at {m.group(1)}"
