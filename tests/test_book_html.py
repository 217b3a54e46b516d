"""The book as its readers see it: no progress bars (ASD_PROGRESS), math from the book's own
MathJax, and the checks of the built pages (asdlib.book.html_check) on planted HTML."""

from __future__ import annotations

import re
from html import escape

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from asdlib.book import html_check
from asdlib.book.offline_mathjax import MATHJAX_DIR, components_dropped
from asdlib.paths import REPO_ROOT
from asdlib.runtime import PROGRESS_ENV, progress_enabled

BAR_RE = re.compile(r"\d%\|")


# --------------------------------------------------------------------------- progress bars
@pytest.mark.parametrize("value, expected", [
    (None, True), ("", True), ("1", True), ("yes", True),
    ("0", False), ("false", False), ("OFF", False), (" no ", False),
])
def test_progress_enabled_reads_asd_progress(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(PROGRESS_ENV, raising=False)
    else:
        monkeypatch.setenv(PROGRESS_ENV, value)
    assert progress_enabled() is expected
    assert progress_enabled(True) is expected


@pytest.mark.parametrize("value", [None, "1", "0"])
def test_progress_enabled_never_turns_on_a_bar_the_caller_turned_off(monkeypatch, value):
    if value is None:
        monkeypatch.delenv(PROGRESS_ENV, raising=False)
    else:
        monkeypatch.setenv(PROGRESS_ENV, value)
    assert progress_enabled(False) is False


def _short_training(steps_per_epoch: int | None = 3) -> None:
    from asdlib.systems.training import train

    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(8, 4)

    def run_epoch(epoch, tick):
        for _ in range(steps_per_epoch or 1):
            optimizer.zero_grad()
            loss = model(x).pow(2).mean()
            loss.backward()
            optimizer.step()
            tick(loss=f"{loss.item():.3f}")
        return {"loss": loss.item()}

    result = train(model, optimizer, epochs=2, run_epoch=run_epoch, fingerprint={"test": 1},
                   steps_per_epoch=steps_per_epoch, progress=True, desc="tiny")
    assert result.epochs_done == 2


@pytest.mark.parametrize("steps_per_epoch", [3, None])
def test_training_draws_its_bar_by_default_and_none_with_asd_progress_0(monkeypatch, capsys, steps_per_epoch):
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    _short_training(steps_per_epoch)
    shown = capsys.readouterr()
    assert BAR_RE.search(shown.err), "the bar of an interactive run is gone"

    monkeypatch.setenv(PROGRESS_ENV, "0")
    _short_training(steps_per_epoch)
    quiet = capsys.readouterr()
    assert not BAR_RE.search(quiet.err + quiet.out), f"a bar with {PROGRESS_ENV}=0: {quiet.err!r}"
    assert "tiny" not in quiet.err + quiet.out


def test_logmel_features_draw_no_bar_with_asd_progress_0(monkeypatch, capsys, tmp_path):
    from asdlib.features.logmel import LogMelConfig, clip_logmels

    rng = np.random.default_rng(0)
    paths = []
    for i in range(3):
        path = tmp_path / f"clip_{i}.wav"
        sf.write(path, (0.1 * rng.standard_normal(8000)).astype(np.float32), 16000)
        paths.append(path)
    config = LogMelConfig()

    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    clip_logmels(paths, config, cache=False, progress=True)
    assert BAR_RE.search(capsys.readouterr().err)

    monkeypatch.setenv(PROGRESS_ENV, "0")
    feats = clip_logmels(paths, config, cache=False, progress=True)
    quiet = capsys.readouterr()
    assert len(feats) == 3
    assert not BAR_RE.search(quiet.err + quiet.out)


def test_every_tqdm_of_asdlib_goes_through_progress_enabled():
    """One switch for every bar: each file that calls tqdm(...) passes disable=not progress_enabled(...)."""
    sources = sorted((REPO_ROOT / "asdlib").rglob("*.py")) + sorted((REPO_ROOT / "benchmarks").rglob("*.py"))
    calls = 0
    for path in sources:
        text = path.read_text()
        for match in re.finditer(r"\btqdm\(", text):
            call = text[match.start(): text.find("\n\n", match.start())]
            assert "disable=not progress_enabled(" in call, f"{path.relative_to(REPO_ROOT)}: a tqdm(...) without the switch"
            calls += 1
    assert calls >= 2


def test_the_book_build_switches_bars_off_and_checks_its_pages():
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert re.search(rf"^book: export {PROGRESS_ENV} = 0$", makefile, re.M)
    recipe = makefile[makefile.index("\nbook: run"):]
    recipe = recipe[: recipe.index("\n\n")]
    assert "-m asdlib.book.html_check _build/html" in recipe
    assert "HTML_CHECK_STRICT" in recipe and "--strict" in recipe
    assert recipe.index("jupyter-book build") < recipe.index("asdlib.book.html_check")


# --------------------------------------------------------------------------- offline math
def test_math_comes_from_the_books_own_mathjax():
    cfg = yaml.safe_load((REPO_ROOT / "_config.yml").read_text())["sphinx"]
    path = cfg["config"]["mathjax_path"]
    assert "://" not in path and path.startswith(f"{MATHJAX_DIR}/")
    assert "asdlib.book.offline_mathjax" in cfg["extra_extensions"]
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert re.search(rf"^_static/{re.escape(path)}:", makefile, re.M), "the Makefile does not copy MathJax"
    assert f"_static/{path}" in re.search(r"^book: run.*$", makefile, re.M).group(0)
    assert "_static/mathjax/" in (REPO_ROOT / ".gitignore").read_text().splitlines()


def test_mathjax_components_are_not_page_scripts():
    js = ["plotly.min.js", "mathjax/tex-mml-chtml.js", ("mathjax/ui/menu.js", {"async": "async"}),
          "mathjax/input/tex/extensions/ams.js", "my-mathjax-helper.js"]
    assert components_dropped(js) == ["plotly.min.js", "my-mathjax-helper.js"]


def test_the_pinned_package_carries_mathjax_3():
    mathjax = pytest.importorskip("mathjax", reason="django-static-mathjax is not installed (make venv)")
    from pathlib import Path

    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    assert (es5 / "tex-mml-chtml.js").is_file()
    assert (es5 / "output" / "chtml" / "fonts" / "woff-v2").is_dir()


# --------------------------------------------------------------------------- checks of built pages
def _page(body: str, heading: str = "What we found") -> str:
    """A page shaped like a built chapter: navigation outside the article, scripts, a permalink."""
    found = f'<section id="found"><h2>{heading}<a class="headerlink" href="#found">#</a></h2><p>AUC 0.9.</p></section>' if heading else ""
    return f"""<!DOCTYPE html><html><head><script>var x = "/tmp/in-a-script 12%|";</script>
<style>.bar:after {{ content: "\u2588"; }}</style></head><body>
<nav class="bd-links"><a href="/tmp/">navigation</a></nav>
<main><article class="bd-article">
<section id="chapter"><h1>A chapter<a class="headerlink" href="#chapter">#</a></h1>
{body}
{found}
</section></article></main>
<footer>built in /tmp/build</footer></body></html>"""


CLEAN = _page("""<p>Training takes 3.2 s/epoch on a laptop; the fan spins at 10 m/s.</p>
<div class="cell_output"><pre>official score 0.873
data: data/synthetic/demo</pre></div>
<table class="dataframe"><thead><tr><th></th><th>AUC-s</th><th>AUC-t</th><th>pAUC</th></tr></thead>
<tbody><tr><th>fan</th><td>0.873</td><td>0.612</td><td>0.551</td></tr></tbody></table>
<table><tr><td>choice</td><td>why</td></tr><tr><td>one</td><td>""" + "a long sentence that wraps " * 20 + """</td></tr></table>""")


def _checks(html: str, **kwargs) -> set[str]:
    return {p.check for p in html_check.check_page(html, "page.html", **kwargs)}


def test_a_clean_page_passes():
    assert html_check.check_page(CLEAN, "page.html") == []


def test_a_progress_bar_is_caught():
    bar = ('<div class="output stderr"><pre><span></span>training System-3:  28%|\u2588\u2588\u258a       '
           "| 160/580 [00:03&lt;00:07, 53.30step/s]\r</pre></div>")
    assert _checks(_page(bar)) == {"progress-bar"}
    for text in ("log-mel: 100%|##########| 3/3", "3/3 [00:01<00:00, 2.24it/s]", "7/210 [00:03, 1.01s/step]",
                 "0/126 [00:00<?, ?step/s]", "\u2589\u258d"):
        assert _checks(_page(f"<pre>{escape(text)}</pre>")) == {"progress-bar"}, text


def test_a_posix_path_is_caught():
    problems = html_check.check_page(_page("<pre>PosixPath('runs/demo/members.csv')</pre>"), "06.html")
    assert [(p.page, p.check) for p in problems] == [("06.html", "posix-path")]
    assert "members.csv" in problems[0].message and problems[0].error


def test_a_tmp_path_and_the_checkout_path_are_caught():
    assert _checks(_page("<pre>data: /tmp/after/data/synthetic/demo</pre>")) == {"machine-path"}
    checkout = _page("<pre>run folder: /home/me/asd/runs/demo/02_baselines/x</pre>")
    assert _checks(checkout) == set()
    assert _checks(checkout, roots=["/home/me/asd"]) == {"machine-path"}
    assert _checks(_page("<p>see /home/me/asdlib-notes</p>"), roots=["/home/me/asd"]) == set()


def test_a_wide_table_is_caught():
    header = "".join(f"<th>synMachine{i}</th>" for i in range(20))
    row = "".join("<td>0.873</td>" for _ in range(20))
    wide = _page(f'<h2>Results</h2><table class="dataframe"><thead><tr>{header}</tr></thead>'
                 f"<tbody><tr>{row}</tr></tbody></table>")
    problems = html_check.check_page(wide, "02.html")
    assert [p.check for p in problems] == ["wide-table"]
    assert "20 columns" in problems[0].message and '"Results"' in problems[0].message
    assert not problems[0].error  # only reported unless --strict


def test_the_table_proxy_counts_unbreakable_words_per_column():
    table = html_check.Table("s", rows=[[("target_n_target", 1), ("a b", 1)], [("1", 1), ("longer words", 1)]])
    assert table.columns == 2
    assert html_check.table_width_px(table) == (8 * 15 + 16) + (8 * 6 + 16)
    # 14 columns of five-character numbers fit the 836 px column, 15 do not
    fits = html_check.Table("s", rows=[[("0.873", 1)] * 14])
    too_wide = html_check.Table("s", rows=[[("0.873", 1)] * 15])
    assert html_check.table_width_px(fits) <= html_check.CONTENT_PX < html_check.table_width_px(too_wide)


def test_a_chapter_without_what_we_found_is_caught():
    assert _checks(_page("<p>text</p>", heading="")) == {"what-we-found"}
    assert _checks(_page("<p>text</p>", heading="What we found on the synthetic data")) == set()
    # the heading must be a heading, not a sentence
    assert _checks(_page("<p>What we found: nothing.</p>", heading="")) == {"what-we-found"}
    assert _checks(_page("<p>text</p>", heading=""), chapter=False) == set()
    # only the article counts; a page without one is read whole
    in_nav = _page("<p>text</p>", heading="").replace('<nav class="bd-links">', '<nav class="bd-links"><h2>What we found</h2>')
    assert _checks(in_nav) == {"what-we-found"}
    assert _checks("<html><body><h2>What we found</h2><pre>PosixPath('x')</pre></body></html>") == {"posix-path"}


def test_the_command_reports_per_page_and_fails_only_on_errors(tmp_path, capsys):
    chapters = tmp_path / "_build" / "html" / "book" / "chapters"
    chapters.mkdir(parents=True)
    (chapters / "01_clean.html").write_text(CLEAN)
    (chapters / "02_no_section.html").write_text(_page("<p>text</p>", heading=""))
    build = tmp_path / "_build" / "html"

    assert html_check.main([str(build)]) == 0
    out = capsys.readouterr().out
    assert "book/chapters/02_no_section.html" in out and "what-we-found" in out
    assert "01_clean" not in out
    assert html_check.main([str(build), "--strict"]) == 1
    capsys.readouterr()

    (chapters / "03_bar.html").write_text(_page("<pre>x:  50%|#####     | 1/2</pre>"))
    assert html_check.main([str(build)]) == 1
    out = capsys.readouterr().out
    assert "book/chapters/03_bar.html" in out and "error [progress-bar]" in out
    # the checkout that holds the build, this checkout and the home folder are machine paths
    assert {str(tmp_path), str(REPO_ROOT)} <= set(html_check.machine_roots(build))
    (chapters / "03_bar.html").unlink()
    (chapters / "04_path.html").write_text(_page(f"<pre>run folder: {REPO_ROOT}/runs/demo/x</pre>"))
    assert html_check.main([str(build), "-v"]) == 1
    out = capsys.readouterr().out
    assert "error [machine-path]" in out and f"{REPO_ROOT}/runs/demo/x" in out


def test_the_command_needs_a_build(tmp_path, capsys):
    assert html_check.main([str(tmp_path)]) == 2
    assert "no chapter pages" in capsys.readouterr().err
