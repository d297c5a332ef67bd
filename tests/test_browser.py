"""Every page of the built book, opened in a real browser (headless Chromium).

For each page of ``_toc.yml`` (HTML from the ``built_book_html`` fixture) at 1280 px:

* no raw TeX in the text a reader sees (``$...$``, ``\\frac``, ``\\hat``, ``\\begin`` ...
  outside rendered math, code and outputs);
* no MathJax error (``mjx-merror``, "Math input error");
* no display equation, table, figure or image wider than its column (display math must fit
  at 1280 px even where it could scroll);

at 390 px (a phone), no display equation, table, figure, image or code block leaves the
column unless it scrolls inside its own box (``overflow-x: auto``), and the page does not
scroll sideways (inline formulas wider than a phone's column are reported as warnings:
MathJax cannot wrap or scroll them); and over all HTML files of
the build, every local ``href``/``src`` (and ``#anchor``) exists.

MathJax 3 is loaded by the book from a CDN, unreachable offline and in CI: the test serves
the CDN's files from a local copy installed from the npm registry
(``npm install --prefix .mathjax mathjax@3``, or ``MATHJAX_DIR`` pointing at ``.../es5``);
every other network request is refused, so the result does not depend on the network.

Chromium is the Debian package (``apt-get install chromium``) driven by Playwright; set
``CHROMIUM`` to use another binary. Without Chromium or MathJax the test is skipped locally
and fails in CI (``CI=true``).
"""

import os
import re
import shutil
import warnings
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

yaml = pytest.importorskip("yaml")  # a book tool: absent from tools/test_floors.sh

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
WIDE, NARROW = 1280, 390
TOLERANCE = 1.5  # px: sub-pixel rounding of layout


def unavailable(reason):
    if IN_CI:
        pytest.fail(f"browser test cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def toc_pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [chapter["file"] for chapter in part.get("chapters", [])]
    return pages


def find_chromium():
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if candidate:
            path = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
            if path:
                return path
    return None


def find_mathjax():
    for candidate in (os.environ.get("MATHJAX_DIR"), ROOT / ".mathjax/node_modules/mathjax/es5"):
        if candidate and (Path(candidate) / "tex-mml-chtml.js").is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -r requirements.txt)")
    chromium = find_chromium()
    if chromium is None:
        unavailable("no Chromium found (Debian: apt-get install chromium; or set CHROMIUM)")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def mathjax_dir():
    found = find_mathjax()
    if found is None:
        unavailable(
            "no local MathJax 3 (npm install --prefix .mathjax mathjax@3, or set MATHJAX_DIR)"
        )
    return found


def route_network(page, mathjax):
    """Serve the MathJax CDN from the local copy; refuse every other remote request."""

    def handle(route):
        parts = urlsplit(route.request.url)
        match = re.search(r"/mathjax@?[^/]*/es5/(.+)$", parts.path)
        if match:
            local = mathjax / unquote(match.group(1))
            if local.is_file():
                return route.fulfill(path=str(local))
        return route.abort()

    page.route(re.compile(r"^(https?|wss?)://"), handle)


# Runs in the page: waits for MathJax (if the page loads it) and returns the measurements.
MEASURE = r"""
async (narrow) => {
  const mj = window.MathJax;
  let mathjax = "absent";
  if (document.querySelector('script[src*="mathjax"]')) {
    mathjax = "did not start";
    for (let i = 0; i < 150 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
      await new Promise(r => setTimeout(r, 100));
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      await MathJax.startup.promise;
      mathjax = "ok";
    }
  }
  const article = document.querySelector("article.bd-article") || document.querySelector("main") || document.body;
  const cs = getComputedStyle(article);
  const ar = article.getBoundingClientRect();
  const colLeft = ar.left + parseFloat(cs.paddingLeft), colRight = ar.right - parseFloat(cs.paddingRight);
  const col = colRight - colLeft;

  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    const sec = el.closest("section[id]");
    if (sec) s += " in section #" + sec.id;
    return s;
  };
  const snippet = (el) => {
    const err = el.getAttribute && el.getAttribute("data-mjx-error");
    if (err) return err;
    const aria = el.querySelector && el.querySelector("mjx-assistive-mml");
    const t = (aria ? aria.textContent : el.textContent) || "";
    return t.replace(/\s+/g, " ").trim().slice(0, 90);
  };
  const scroller = (el) => {
    for (let a = el; a && a !== article.parentElement; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if ((ox === "auto" || ox === "scroll") && a.getBoundingClientRect().right <= colRight + 2)
        return true;
    }
    return false;
  };
  const available = (el) => {
    // The column an element sits in: the article, or a narrower box (admonition, proof).
    let right = colRight, left = colLeft;
    for (let a = el.parentElement; a && a !== article; a = a.parentElement) {
      const ac = getComputedStyle(a);
      if (ac.display === "inline" || ac.display === "contents") continue;
      const r = a.getBoundingClientRect();
      if (ac.overflowX === "auto" || ac.overflowX === "scroll") continue;
      right = Math.min(right, r.right - parseFloat(ac.paddingRight) - parseFloat(ac.borderRightWidth));
      left = Math.max(left, r.left + parseFloat(ac.paddingLeft) + parseFloat(ac.borderLeftWidth));
      break;
    }
    return [left, right];
  };

  const out = {mathjax, col: Math.round(col), wide: [], errors: [], rawtex: [], pageScroll: 0};

  for (const el of article.querySelectorAll("mjx-merror, [data-mjx-error]"))
    out.errors.push(snippet(el.closest("mjx-container") || el));
  if (/Math input error/.test(article.textContent)) out.errors.push("text 'Math input error'");

  const boxes = [];
  for (const el of article.querySelectorAll('mjx-container[display="true"]')) {
    const m = el.querySelector("mjx-math") || el;
    boxes.push(["display math", el, m.getBoundingClientRect()]);
  }
  for (const el of article.querySelectorAll("table, figure, img"))
    boxes.push([el.tagName.toLowerCase(), el, el.getBoundingClientRect()]);
  if (narrow) {
    for (const el of article.querySelectorAll('mjx-container:not([display="true"])')) {
      const m = el.querySelector("mjx-math") || el;
      boxes.push(["inline math", el, m.getBoundingClientRect()]);
    }
    for (const el of article.querySelectorAll("pre"))
      boxes.push(["pre", el, el.getBoundingClientRect()]);
  }
  for (const [kind, el, r] of boxes) {
    if (r.width === 0) continue;
    const [left, right] = available(el);
    const over = Math.max(r.right - right, left - r.left);
    if (over <= TOL) continue;
    if (narrow && scroller(el)) continue;
    out.wide.push({kind, where: describe(el), width: Math.round(r.width),
                   column: Math.round(right - left), over: Math.round(over), text: snippet(el)});
  }
  out.codeScroll = [];
  if (!narrow) {
    // On a wide screen every code cell and printed output fits its box (88 columns).
    for (const el of article.querySelectorAll("div.cell_input pre, div.cell_output pre")) {
      if (el.scrollWidth <= el.clientWidth + TOL) continue;
      const longest = el.innerText.split("\n").reduce((a, b) => (b.length > a.length ? b : a), "");
      out.codeScroll.push({where: describe(el), width: el.scrollWidth, box: el.clientWidth,
                           text: longest.trim().slice(0, 90), columns: longest.length});
    }
  }
  if (narrow) {
    out.pageScroll = document.documentElement.scrollWidth - window.innerWidth;
    out.culprits = [];
    if (out.pageScroll > TOL) {
      // The outermost elements that reach past the viewport outside any scrolling box.
      for (const el of document.body.querySelectorAll("*")) {
        if (el.closest(".bd-sidebar-secondary, .bd-sidebar-primary, dialog")) continue;  // drawers
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.right <= window.innerWidth + TOL) continue;
        let inside = false;
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
          const ox = getComputedStyle(a).overflowX;
          if (ox !== "visible" || a.getBoundingClientRect().right > window.innerWidth + TOL) { inside = true; break; }
        }
        if (inside) continue;
        let s = el.tagName.toLowerCase() + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");
        const sec = el.closest("section[id]");
        if (sec) s += " in section #" + sec.id;
        out.culprits.push(`${s} (right edge at ${Math.round(r.right)}px): ` +
                          JSON.stringify((el.textContent || "").replace(/\s+/g, " ").trim().slice(0, 70)));
        if (out.culprits.length >= 5) break;
      }
    }
  }

  const skip = "script, style, mjx-container, pre, code, kbd, samp, textarea, .highlight, " +
               ".MathJax, mjx-assistive-mml, .output, .cell_output, .sig, .pre";
  const tex = /\$[^$\s][^$]*\$|\$\$|\\[A-Za-z]{2,}|\\[{}()\[\]]|[_^]\{/;
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const p = n.parentElement;
    if (!p || p.closest(skip)) continue;
    const m = n.textContent.match(tex);
    if (m) {
      const t = n.textContent.replace(/\s+/g, " ");
      const i = Math.max(0, t.indexOf(m[0].replace(/\s+/g, " ")) - 30);
      out.rawtex.push({where: describe(p), text: t.slice(i, i + 100).trim()});
    }
  }
  return out;
}
""".replace("TOL", str(TOLERANCE))


def measure(browser, mathjax, html, css=None):
    """Load the page once at 1280 px, measure, narrow the viewport to 390 px, measure."""
    context = browser.new_context(viewport={"width": WIDE, "height": 900})
    try:
        page = context.new_page()
        route_network(page, mathjax)
        page.goto(html.as_uri(), wait_until="load", timeout=60_000)
        if css:  # only for trying a style change without rebuilding
            page.add_style_tag(content=css)
        wide = page.evaluate(MEASURE, False)
        page.set_viewport_size({"width": NARROW, "height": 800})
        page.wait_for_timeout(200)
        narrow = page.evaluate(MEASURE, True)
    finally:
        context.close()
    return wide, narrow


def page_defects(browser, mathjax, html, css=None):
    """Defects (failures) and notes (reported, not failed: inline math clipped on a phone)."""
    defects, notes = [], []
    wide, narrow = measure(browser, mathjax, html, css)
    if wide["mathjax"] == "did not start":
        defects.append("MathJax did not start (is the local copy served?)")
    for e in wide["errors"]:
        defects.append(f"MathJax error: {e}")
    for t in wide["rawtex"]:
        defects.append(f"raw TeX in {t['where']}: {t['text']!r}")
    for w in wide["wide"]:
        defects.append(
            f"at {WIDE}px {w['kind']} ({w['where']}) is {w['width']}px wide, column "
            f"{w['column']}px ({w['over']}px too wide): {w['text']!r}"
        )
    for c in wide["codeScroll"]:
        defects.append(
            f"at {WIDE}px a code line of {c['columns']} columns ({c['where']}) scrolls "
            f"sideways ({c['width']}px in a {c['box']}px box): {c['text']!r}"
        )
    for w in narrow["wide"]:
        (notes if w["kind"] == "inline math" else defects).append(
            f"at {NARROW}px {w['kind']} ({w['where']}) is {w['width']}px wide, column "
            f"{w['column']}px, clipped ({w['over']}px) and not in a scrolling box: {w['text']!r}"
        )
    if narrow["pageScroll"] > TOLERANCE:
        defects.append(
            f"at {NARROW}px the page scrolls sideways by {narrow['pageScroll']}px; widest: "
            + "; ".join(narrow["culprits"] or ["(not found)"])
        )
    return defects, notes


@pytest.mark.slow  # builds the book (once per session) and renders every page
@pytest.mark.parametrize("doc", toc_pages())
def test_page_renders_cleanly(doc, built_book_html, browser, mathjax_dir):
    html = built_book_html / f"{doc}.html"
    assert html.is_file(), f"{doc}.html was not built"
    defects, notes = page_defects(browser, mathjax_dir, html)
    if notes:  # inline formulas cannot scroll; they are reported for the authors, not failed
        warnings.warn(f"{doc}: " + "; ".join(notes), UserWarning, stacklevel=1)
    assert not defects, f"{doc}: {len(defects)} defect(s):\n  " + "\n  ".join(defects)


LINK = re.compile(r"""<(?:a|link)\b[^>]*?\shref="([^"]*)"|<(?:img|script|source)\b[^>]*?\ssrc="([^"]*)\"""")
ANCHOR = re.compile(r"""\sid="([^"]+)\"""")


def broken_local_links(html_dir):
    anchors = {}

    def ids(path):
        if path not in anchors:
            anchors[path] = set(ANCHOR.findall(path.read_text(encoding="utf-8", errors="replace")))
        return anchors[path]

    broken = []
    for page in sorted(html_dir.rglob("*.html")):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        text = page.read_text(encoding="utf-8", errors="replace")
        for href, src in LINK.findall(text):
            url = (href or src).replace("&amp;", "&")
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//") or url.startswith("mailto:"):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            rel = page.relative_to(html_dir)
            if not target.exists():
                broken.append(f"{rel}: {url} -> missing file")
            elif parts.fragment and target.suffix == ".html":
                if unquote(parts.fragment) not in ids(target):
                    broken.append(f"{rel}: {url} -> no anchor #{parts.fragment}")
    return sorted(set(broken))


@pytest.mark.slow  # builds the book (once per session)
def test_local_links_and_images_exist(built_book_html):
    broken = broken_local_links(built_book_html)
    assert not broken, f"{len(broken)} broken local link(s):\n  " + "\n  ".join(broken)


# A page with one defect of each kind: the checks above must see every one of them.
DEFECTIVE_PAGE = r"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<script>window.MathJax = {"tex": {}};</script>
<script defer src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>
</head><body><main><article class="bd-article" style="width: 700px">
<section id="defects">
<p>A formula MyST failed to parse: $\frac{1}{2} + \hat a$.</p>
<div class="math notranslate nohighlight">\[ LONG \]</div>
<div class="math notranslate nohighlight">\[ a & b \]</div>
<table><tr><td style="min-width: 1000px">a table wider than the column</td></tr></table>
<p><a href="missing.html">a broken link</a> <a href="#nowhere">a broken anchor</a>
<img src="missing.png" alt=""></p>
<div class="cell_input"><pre style="overflow-x: auto">LONGCODE</pre></div>
</section></article></main></body></html>
""".replace("LONGCODE", "print(" + "x + " * 60 + "x)").replace(
    "LONG", " + ".join(f"x_{{{i}}}" for i in range(60)))


def test_checks_detect_each_kind_of_defect(tmp_path, browser, mathjax_dir):
    page = tmp_path / "defective.html"
    page.write_text(DEFECTIVE_PAGE, encoding="utf-8")
    defects, _ = page_defects(browser, mathjax_dir, page)
    report = "\n".join(defects)
    assert "raw TeX" in report and "frac" in report, report
    assert "MathJax error" in report, report
    assert re.search(r"at 1280px display math .* too wide", report), report
    assert re.search(r"at 1280px table .* too wide", report), report
    assert re.search(r"at 1280px a code line of \d+ columns .* scrolls sideways", report), report
    broken = "\n".join(broken_local_links(tmp_path))
    for target in ("missing.html", "#nowhere", "missing.png"):
        assert target in broken, broken
