"""The book's machinery, and the only package that knows notebooks, run folders, chapter
names, studies and ``benchmarks/results``.

- ``chapters``: the chapter registry and each chapter's data (``chapter_data``);
- ``runs``: run folders (one run each, keyed by chapter, data and settings), ``find_run``;
- ``runner``: chapters executed with papermill (``asd run``, ``asd run-all``);
- ``engine``: jobs (chapters, study cells) on a Dask cluster, local by default;
- ``study``: chapters x seeds x a grid, aggregated into one table (``asd study``);
- ``verify``: a run re-executed from its record, every metric compared (``asd verify``);
- ``results`` / ``evidence``: results read back from run folders and stored studies;
- ``score``: clips scored by a run folder's fitted detectors (``asd score``);
- ``html_check``: the built pages as readers see them (``python -m asdlib.book.html_check``);
- ``offline_mathjax``: the Sphinx extension that serves the book's own MathJax.
"""

from asdlib.book.chapters import CHAPTERS, Chapter, ChapterData, chapter_data
from asdlib.book.runs import RunFolder, find_run, shown

__all__ = ["CHAPTERS", "Chapter", "ChapterData", "RunFolder", "chapter_data", "find_run", "shown"]
