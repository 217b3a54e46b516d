"""Checks of the built book as its readers see it: the chapter pages of ``_build/html``.

Each check reads one page's HTML text (no browser) and returns the problems it finds:

- ``progress-bar``: progress-bar text in the page (tqdm's ``12%|``, its block characters,
  its rates such as ``3.1it/s``, ``53.30step/s``, ``1.01s/step`` and its ``[00:03<00:07``
  timer): the book is built with ``ASD_PROGRESS=0`` (:func:`asdlib.runtime.progress_enabled`);
- ``posix-path``: a ``PosixPath(...)`` repr (a path printed as a Python object);
- ``machine-path``: a path of the machine that built the book: ``/tmp/...``, and (over a
  build, :func:`check_build`) the absolute path of the checkout and of the home folder;
- ``wide-table``: a table wider than the content column (see :func:`table_width_px`);
- ``what-we-found``: a chapter page without a "What we found" heading.

Only what a reader sees is read: the text of the page's article (``<article class="bd-article">``,
the whole ``<body>`` when there is none), without scripts, styles and the heading permalinks.

Run over a build (``make book`` does, after ``jupyter-book build``)::

    python -m asdlib.book.html_check _build/html            # problems per page; exit 1 on an error
    python -m asdlib.book.html_check _build/html --strict   # wide tables, missing sections too

``wide-table`` and ``what-we-found`` are reported but fail only with ``--strict``
(``make book HTML_CHECK_STRICT=1``) until the chapters are brought in line with them.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Sequence

#: Checks that fail the build whatever ``--strict`` says.
ERRORS = ("progress-bar", "posix-path", "machine-path")
#: Checks that are only reported unless ``--strict``.
STRICT_ONLY = ("wide-table", "what-we-found")
CHECKS = ERRORS + STRICT_ONLY

# --------------------------------------------------------------------------- the table proxy
#: Width of the theme's content column (sphinx-book-theme on a desktop screen: the article
#: between the left navigation and the right table of contents), in CSS pixels.
CONTENT_PX = 836
#: Mean width of a character of table text: the theme's 16 px sans-serif body font averages
#: about half an em for digits and lower-case letters.
CHAR_PX = 8
#: What each cell adds to its text: padding on both sides and a border, about one em.
CELL_PAD_PX = 16

#: The heading every chapter ends its argument with (case-insensitive, anywhere in a heading).
FOUND_HEADING = "what we found"

# tqdm's bar: "NN%|", the partial/full blocks it draws, a rate glued to its number
# ("2.24it/s", "?step/s", "1.01s/step"), and its "[elapsed<remaining" timer
_UNITS = r"(?:it|step|steps|epoch|epochs|clip|clips|batch|batches|file|files)"
PROGRESS_RE = re.compile(
    r"\d%\|"
    r"|[\u2588\u2589\u258a\u258b\u258c\u258d\u258e\u258f]"
    rf"|(?:\d|\?){_UNITS}/s\b"
    rf"|\ds/{_UNITS}\b"
    r"|\[\d\d:\d\d<(?:\d\d:\d\d|\?)"
)
POSIX_PATH_RE = re.compile(r"(?:Posix|Windows)Path\(")
TMP_PATH = r"/(?:var/)?tmp/"

_SKIP = {"script", "style", "noscript", "template"}
_BLOCK = {"address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div",
          "dl", "dt", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6",
          "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
          "tbody", "td", "tfoot", "th", "thead", "tr", "ul"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


@dataclass(frozen=True)
class Problem:
    """One finding on one page: ``check`` is one of :data:`CHECKS`."""

    page: str
    check: str
    message: str
    #: every offending line, as ``section: text`` (printed with ``--verbose``)
    details: tuple[str, ...] = ()

    @property
    def error(self) -> bool:
        return self.check in ERRORS

    def __str__(self) -> str:
        return f"[{self.check}] {self.message}"


@dataclass
class Table:
    """A rendered ``<table>``: its rows of ``(cell text, colspan)``, and the section it is in."""

    section: str
    rows: list[list[tuple[str, int]]] = field(default_factory=list)

    @property
    def columns(self) -> int:
        return max((sum(span for _, span in row) for row in self.rows), default=0)


@dataclass
class Page:
    """What a reader sees of one page: text lines (each with the section it is in), the
    headings, the tables."""

    lines: list[tuple[str, str]]
    headings: list[tuple[int, str]]
    tables: list[Table]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.has_article = False
        self.article_depth = 0  # > 0 inside <article class="bd-article">
        self.skip_depth = 0
        self.link_depth = 0  # inside <a class="headerlink">: the "#" after a heading
        self.section = ""
        self.heading: list[str] | None = None
        self.heading_level = 0
        self.headings: list[tuple[bool, int, str]] = []  # (in the article, level, text)
        self.tables: list[tuple[bool, Table]] = []
        self.open_tables: list[Table] = []
        self.cell: list[str] | None = None
        self.cell_span = 1
        self.lines: list[tuple[str, str]] = []
        self.line: list[str] = []
        self.body_lines: list[tuple[str, str]] = []  # the whole page, if it has no article

    # ----------------------------------------------------------------- where we are
    def _visible(self) -> bool:
        return self.skip_depth == 0 and self.link_depth == 0

    def _break(self) -> None:
        text = "".join(self.line)
        self.line = []
        if text.strip():
            (self.lines if self.article_depth else self.body_lines).append((self.section, text))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag in _SKIP:
            self.skip_depth += 1
            return
        if tag == "article":
            if self.article_depth or "bd-article" in classes:
                if not self.article_depth:
                    self._break()
                self.has_article = True
                self.article_depth += 1
        if tag == "a" and "headerlink" in classes:
            self.link_depth += 1
        if tag in _BLOCK:
            self._break()
        if tag in _HEADINGS:
            self.heading, self.heading_level = [], int(tag[1])
        elif tag == "table":
            self.open_tables.append(Table(self.section))
        elif tag == "tr" and self.open_tables:
            self.open_tables[-1].rows.append([])
        elif tag in ("td", "th") and self.open_tables:
            self.cell = []
            try:
                self.cell_span = max(1, int(attrs.get("colspan") or 1))
            except ValueError:
                self.cell_span = 1

    def handle_startendtag(self, tag, attrs):
        if tag in _BLOCK:
            self._break()

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if tag == "a" and self.link_depth:
            self.link_depth -= 1
        if tag in _BLOCK:
            self._break()
        if tag in _HEADINGS and self.heading is not None:
            text = " ".join("".join(self.heading).split())
            self.headings.append((self.article_depth > 0, self.heading_level, text))
            self.section, self.heading = text, None
        elif tag in ("td", "th") and self.cell is not None and self.open_tables:
            table = self.open_tables[-1]
            if not table.rows:
                table.rows.append([])
            table.rows[-1].append((" ".join("".join(self.cell).split()), self.cell_span))
            self.cell = None
        elif tag == "table" and self.open_tables:
            table = self.open_tables.pop()
            self.tables.append((self.article_depth > 0, table))
        elif tag == "article" and self.article_depth:
            self.article_depth -= 1

    def handle_data(self, data):
        if not self._visible():
            return
        if self.heading is not None:
            self.heading.append(data)
        if self.cell is not None:
            self.cell.append(data)
        parts = re.split(r"\r\n|\r|\n", data)
        for i, part in enumerate(parts):
            if i:
                self._break()
            self.line.append(part)


def read_page(html: str) -> Page:
    """The visible text lines, headings and tables of one page's HTML."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    reader._break()
    article = reader.has_article
    return Page(lines=reader.lines if article else reader.body_lines,
                headings=[(level, text) for inside, level, text in reader.headings if inside or not article],
                tables=[table for inside, table in reader.tables if inside or not article])


# --------------------------------------------------------------------------- the checks
def _snippet(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _where(section: str) -> str:
    return f' (in "{_snippet(section, 60)}")' if section else ""


def _lines_matching(page: Page, pattern: re.Pattern, page_name: str, check: str, what: str) -> list[Problem]:
    hits = [(section, text) for section, text in page.lines if pattern.search(text)]
    if not hits:
        return []
    sections = list(dict.fromkeys(section for section, _ in hits))
    section, text = hits[0]
    more = f"; sections: {', '.join(repr(_snippet(s, 50)) for s in sections)}" if len(sections) > 1 else ""
    details = tuple(f"{_snippet(s, 50)}: {_snippet(t, 140)}" if s else _snippet(t, 140) for s, t in hits)
    return [Problem(page_name, check, f"{len(hits)} line(s) with {what}, first{_where(section)}: "
                                      f"{_snippet(text)!r}{more}", details)]


def check_progress_bars(page: Page, page_name: str = "") -> list[Problem]:
    """(a) No progress-bar text: tqdm's ``NN%|``, its blocks, rates and timers."""
    return _lines_matching(page, PROGRESS_RE, page_name, "progress-bar", "progress-bar text")


def check_posix_paths(page: Page, page_name: str = "") -> list[Problem]:
    """(b) No ``PosixPath(...)``: paths are shown as text, relative to the repository."""
    return _lines_matching(page, POSIX_PATH_RE, page_name, "posix-path", "a PosixPath(...) repr")


def machine_path_re(roots: Sequence[str | Path] = ()) -> re.Pattern:
    """``/tmp/...`` or any of ``roots`` (absolute folders, e.g. the checkout), as a path."""
    alternatives = [TMP_PATH]
    for root in roots:
        root = str(root).rstrip("/")
        if root.startswith("/") and len(root) > 1:
            alternatives.append(re.escape(root) + r"(?![\w.~-])")
    return re.compile(r"(?<![\w.~-])(?:" + "|".join(alternatives) + ")")


def check_machine_paths(page: Page, page_name: str = "", roots: Sequence[str | Path] = ()) -> list[Problem]:
    """(c) No ``/tmp/`` path, nor one under ``roots`` (the checkout that built the book, the
    home folder): the machine that built the book means nothing to a reader."""
    what = "a /tmp/ path" + "".join(f" or {str(r).rstrip('/')}" for r in roots)
    return _lines_matching(page, machine_path_re(roots), page_name, "machine-path", what)


def table_width_px(table: Table) -> int:
    """The narrowest ``table`` can be laid out, in CSS pixels, estimated from its text alone.

    A browser wraps a cell's text at its spaces before it lets a table overflow, so a column
    is at least as wide as the longest unbreakable word in it (a number, ``0.873``; a column
    name, ``target_n_target``). The estimate adds up, over the columns, that word's length
    times :data:`CHAR_PX` (8 px: the theme's 16 px sans-serif averages half an em per digit or
    lower-case letter) plus :data:`CELL_PAD_PX` (16 px of padding and border). A table is
    wider than the content column when this exceeds :data:`CONTENT_PX` = 836 px: roughly,
    more than 14 columns of five-character numbers (8 * 5 + 16 = 56 px each), or unbreakable
    words adding up to more than ~100 characters across a row. Cells spanning several columns
    (grouped headers) are left out. A table of long sentences that wraps and fits is not
    flagged; its text is one line per cell only when the column has room.
    """
    widths: dict[int, int] = {}
    for row in table.rows:
        col = 0
        for text, span in row:
            if span == 1:
                word = max((len(w) for w in text.split()), default=0)
                widths[col] = max(widths.get(col, 0), word)
            col += span
    return sum(CHAR_PX * w + CELL_PAD_PX for w in widths.values())


def check_wide_tables(page: Page, page_name: str = "", content_px: int = CONTENT_PX) -> list[Problem]:
    """(d) No table wider than the content column (:func:`table_width_px`)."""
    problems = []
    for number, table in enumerate(page.tables, 1):
        px = table_width_px(table)
        if px > content_px:
            header = [text for text, _ in table.rows[0]] if table.rows else []
            problems.append(Problem(
                page_name, "wide-table",
                f"table {number}{_where(table.section)}: {table.columns} columns, about {px} px "
                f"> {content_px} px; first row: {_snippet(' | '.join(header), 80)!r}"))
    return problems


def check_what_we_found(page: Page, page_name: str = "") -> list[Problem]:
    """(e) A chapter has a "What we found" heading."""
    if any(FOUND_HEADING in text.lower() for _, text in page.headings):
        return []
    return [Problem(page_name, "what-we-found", 'no "What we found" heading')]


def check_page(html: str, page_name: str = "", chapter: bool = True,
               roots: Sequence[str | Path] = ()) -> list[Problem]:
    """Every check over one page's HTML (``what-we-found`` only on a ``chapter`` page;
    ``roots``: folders of the building machine that no page may show, besides ``/tmp/``)."""
    page = read_page(html)
    problems = (check_progress_bars(page, page_name) + check_posix_paths(page, page_name)
                + check_machine_paths(page, page_name, roots) + check_wide_tables(page, page_name))
    if chapter:
        problems += check_what_we_found(page, page_name)
    return problems


def chapter_pages(build_dir: str | Path) -> list[Path]:
    """The chapter pages of a build: ``<build_dir>/book/chapters/*.html`` (``build_dir`` is
    ``_build/html``; ``_build`` works too)."""
    root = Path(build_dir)
    if not (root / "book" / "chapters").is_dir() and (root / "html" / "book" / "chapters").is_dir():
        root = root / "html"
    return sorted((root / "book" / "chapters").glob("*.html"))


def machine_roots(build_dir: str | Path) -> list[str]:
    """The folders of this machine that no page may show: this checkout (``asdlib``'s), the
    checkout that holds ``build_dir`` (``<checkout>/_build/html``) and the home folder."""
    from asdlib.paths import REPO_ROOT

    roots = [REPO_ROOT]
    build = Path(build_dir).resolve()
    for parent in (build, *build.parents):
        if parent.name == "_build":
            roots.append(parent.parent)
            break
    try:
        roots.append(Path.home())
    except RuntimeError:  # no home folder
        pass
    out = []
    for root in roots:
        text = str(root).rstrip("/")
        if text and text not in out:
            out.append(text)
    return out


def check_build(build_dir: str | Path, roots: Sequence[str | Path] | None = None) -> list[Problem]:
    """Every check over every chapter page of a build (``roots``: :func:`machine_roots`)."""
    root = Path(build_dir)
    roots = machine_roots(build_dir) if roots is None else roots
    problems = []
    for path in chapter_pages(root):
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        problems += check_page(path.read_text(encoding="utf-8", errors="replace"), name, roots=roots)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m asdlib.book.html_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("build_dir", nargs="?", default="_build/html", help="the built HTML (default: _build/html)")
    parser.add_argument("--strict", action="store_true",
                        help=f"{' and '.join(STRICT_ONLY)} fail too (default: only reported)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every offending line")
    args = parser.parse_args(argv)

    pages = chapter_pages(args.build_dir)
    if not pages:
        print(f"html_check: no chapter pages under {args.build_dir}/book/chapters/ (build the book first)",
              file=sys.stderr)
        return 2
    problems = check_build(args.build_dir)
    failing = [p for p in problems if p.error or args.strict]
    by_page: dict[str, list[Problem]] = {}
    for problem in problems:
        by_page.setdefault(problem.page, []).append(problem)
    for page, found in by_page.items():
        print(page)
        for problem in found:
            print(f"  {'error' if problem in failing else 'note '} {problem}")
            if args.verbose:
                for line in problem.details:
                    print(f"        {line}")
    counts = {check: sum(p.check == check for p in problems) for check in CHECKS}
    summary = ", ".join(f"{check} {n}" for check, n in counts.items())
    print(f"html_check: {len(pages)} chapter pages, {len(problems)} problem(s) on {len(by_page)} page(s) "
          f"({summary}); {len(failing)} fail the build"
          + ("" if args.strict else f" ({' and '.join(STRICT_ONLY)} only reported: --strict, "
                                    "make book HTML_CHECK_STRICT=1, makes them errors)"))
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
