"""Sphinx extension of the book (``_config.yml``: ``sphinx: extra_extensions``): the math is
typeset by the book's own copy of MathJax 3, never by one from a CDN.

``make book`` copies MathJax (the pinned ``django-static-mathjax`` package) into
``_static/mathjax/`` and ``_config.yml`` points Sphinx's ``mathjax_path`` at
``mathjax/tex-mml-chtml.js``. Jupyter Book adds *every* ``.js`` file under ``_static/`` to
every page; MathJax's components (TeX extensions, menu, accessibility) are loaded on demand by
``tex-mml-chtml.js`` itself and must not be page scripts, so this extension takes them out of
``html_js_files`` again. It warns (an error under ``jupyter-book build -W``) when the copy is
missing, instead of letting the pages show raw LaTeX.
"""

from __future__ import annotations

from pathlib import Path

#: The folder under ``_static/`` that holds the copy (the Makefile's ``_static/mathjax/``).
MATHJAX_DIR = "mathjax"


def _filename(entry) -> str:
    """``html_js_files`` holds names or ``(name, attributes)`` pairs."""
    return entry[0] if isinstance(entry, (tuple, list)) else str(entry)


def components_dropped(js_files: list, mathjax_dir: str = MATHJAX_DIR) -> list:
    """``js_files`` without the files of the MathJax copy (``<mathjax_dir>/...``)."""
    prefix = mathjax_dir.rstrip("/") + "/"
    return [js for js in js_files if not _filename(js).replace("\\", "/").startswith(prefix)]


def _on_config_inited(app, config) -> None:
    from sphinx.util import logging

    config.html_js_files = components_dropped(list(config.html_js_files))
    path = str(config.mathjax_path or "")
    if "://" in path or path.startswith("//"):
        logging.getLogger(__name__).warning(
            f"mathjax_path {path!r} loads MathJax from the network; the book serves its own copy "
            f"({MATHJAX_DIR}/tex-mml-chtml.js)")
    elif not (Path(app.srcdir) / "_static" / path).is_file():
        logging.getLogger(__name__).warning(
            f"_static/{path} is missing, so the math would not render: copy MathJax with "
            f"`make _static/{MATHJAX_DIR}/tex-mml-chtml.js` (make book does)")


def setup(app):
    app.connect("config-inited", _on_config_inited)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
