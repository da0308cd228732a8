"""Helpers shared by the browser tests: waiting for the app, following links, full-page screenshots."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.conftest import SCREENSHOTS

LONG = 120_000  # ms: first-time work (demo videos, extraction) on a busy 2-core machine

# While a rerun draws the page again, Streamlit keeps the last run's elements (faded, their container marked
# data-stale="true") until the new ones replace them, and an element that moved (a status box drawn above it)
# is briefly on the page twice. Text looked up through `fresh_text` is the current run's only.
_NOT_STALE = ':not([data-stale="true"] *)'


def fresh_text(scope: Page | Locator, text: str | re.Pattern[str], *, exact: bool | None = None) -> Locator:
    """``scope.get_by_text(text)`` without the last run's stale copies: a rerun's moment of two stays one."""
    page = scope if isinstance(scope, Page) else scope.page
    return scope.get_by_text(text, exact=exact).and_(page.locator(_NOT_STALE))


def wait_idle(page: Page) -> None:
    """Wait until the app is connected and its script has finished running."""
    app = page.get_by_test_id("stApp")
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=LONG)
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=LONG)


_WATCH_RUN_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  window.__gaiaRunStarted = false;
  new MutationObserver(records => {
    if (records.some(r => r.oldValue === 'running') || app.getAttribute('data-test-script-state') === 'running')
      window.__gaiaRunStarted = true;
  }).observe(app, {attributes: true, attributeOldValue: true, attributeFilter: ['data-test-script-state']});
}"""


@contextlib.contextmanager
def run_taken_up(page: Page) -> Iterator[None]:
    """Wait, after the block, until the server has begun the run the block's input asked for (not its end).

    A run asked for is only a request until the script thread takes it up, and Streamlit folds a page change
    that arrives before then into it with the new page's widget values only: an edit sent a moment before a click
    in the sidebar can be dropped by Streamlit itself. Once the run has begun, the edit is in the session (it is
    applied before anything can stop the run), and a click straight after is the race the app must win.
    """
    page.evaluate(_WATCH_RUN_JS)
    yield
    page.wait_for_function("() => window.__gaiaRunStarted", timeout=LONG)


_PAGE_HEIGHT_JS = """() => {
  let h = document.documentElement.scrollHeight;
  for (const el of document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"]'))
    h = Math.max(h, el.scrollHeight);
  return h;
}"""


_IMAGES_LOADED_JS = "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
_IMAGES_DONE_JS = "() => [...document.images].every(i => i.complete)"
# Plotly draws a chart once it is in view: its plot (svg.main-svg) with at least one trace (g.trace) drawn.
# A chart in a folded expander is not shown, and is not waited for. Until the chart's code has loaded, Streamlit
# shows a grey skeleton (stSkeleton) in its place, with no stPlotlyChart yet: that is waited for too.
_CHARTS_DRAWN_JS = ("() => ![...document.querySelectorAll('[data-testid=\"stSkeleton\"]')]"
                    ".some(s => s.getClientRects().length > 0)"
                    " && [...document.querySelectorAll('[data-testid=\"stPlotlyChart\"]')]"
                    ".every(c => c.getClientRects().length === 0 || c.querySelector('svg.main-svg g.trace'))")


def shot(page: Page, name: str) -> None:
    """A screenshot of the whole page in docs/screenshots/.

    Streamlit scrolls inside its main container, so ``full_page`` alone sees one screen: the
    window is made as tall as the content for the picture, then put back.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or {"width": 1400, "height": 1000}
    height = min(int(page.evaluate(_PAGE_HEIGHT_JS)) + 40, 12_000)
    if height > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": height})
        wait_idle(page)
    # Images below the first screen load only once the taller window shows them: wait for every one. An image
    # whose media file a later rerun replaced can end broken (complete, no pixels); after a while, settle for
    # every image having finished, loaded or not, so a picture never blocks the test it illustrates.
    try:
        page.wait_for_function(_IMAGES_LOADED_JS, timeout=LONG // 4)
    except PlaywrightTimeoutError:
        wait_idle(page)
        page.wait_for_function(_IMAGES_DONE_JS, timeout=LONG)
    # Charts below the first screen are drawn once the taller window shows them, like images; one that draws
    # nothing still leaves a picture worth having.
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_function(_CHARTS_DRAWN_JS, timeout=LONG // 4)
    try:
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True, animations="disabled")
    finally:
        page.set_viewport_size(size)


def go(page: Page, link_text: str | re.Pattern[str]) -> None:
    """Follow an in-app link (keeps the session, unlike typing a URL)."""
    page.get_by_role("link", name=link_text).first.click()
    wait_idle(page)


LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def watch_outside_requests(page: Page) -> list[str]:
    """Every request the page makes to a host other than this machine, filled in as they happen.

    ``data:`` and ``blob:`` URLs never leave the browser and are not counted.
    """
    outside: list[str] = []

    def _seen(request: object) -> None:
        url = request.url  # type: ignore[attr-defined]
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS:
            outside.append(url)

    page.context.on("request", _seen)
    return outside


_CANVAS_TEXT_JS = """
window.__draws = [];
(() => {
  const ids = new WeakMap(); let next = 0;
  const orig = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (t, x, y, ...rest) {
    const c = this.canvas;
    if (!ids.has(c)) ids.set(c, next++);
    const m = this.getTransform();
    window.__draws.push([ids.get(c), String(t), Math.round(m.e + x), Math.round(m.f + y)]);
    return orig.call(this, t, x, y, ...rest);
  };
})();
"""


def watch_table_text(page: Page) -> None:
    """Record every text the page draws on a canvas: ``st.dataframe`` draws its cells (and nothing else shows
    them: the grid has no text in the page), so this is exactly what a user reads in a table."""
    page.add_init_script(_CANVAS_TEXT_JS)


def table_texts(page: Page) -> list[list[str]]:
    """What each canvas drew, as rows top to bottom (each row's texts left to right), latest drawing kept."""
    draws = page.evaluate("() => window.__draws || []")
    cells: dict[int, dict[tuple[int, int], str]] = {}
    for canvas, text, x, y in draws:
        cells.setdefault(canvas, {})[(y, x)] = text
    tables = []
    for drawn in cells.values():
        rows: dict[int, list[tuple[int, str]]] = {}
        for (y, x), text in drawn.items():
            rows.setdefault(y, []).append((x, text))
        tables.append([[t for _, t in sorted(r)] for _, r in sorted(rows.items())])
    return tables


def open_cascade(page: Page, url: str, folder: Path) -> None:
    """Open ``folder`` by its address, go to Submit's Run now tab and unfold its cascade panel."""
    page.goto(f"{url}/?folder={quote(str(folder))}")
    wait_idle(page)
    expect(page.get_by_label("Folder", exact=True)).to_have_value(str(folder), timeout=LONG)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Submit").click()
    wait_idle(page)
    page.get_by_role("tab", name="Run now").click()
    fresh_text(page, "Cascade: a cheap first pass, then only the uncertain answers").click()
