"""asdlib.viz.figures: the book's plotly renderer, the shared UMAP helper, the hover scatter."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.io as pio
import pytest

from asdlib import viz
from asdlib.clustering import projection


@pytest.fixture()
def clips():
    rng = np.random.default_rng(0)
    n = 40
    return pd.DataFrame({
        "u": rng.normal(size=n),
        "v": rng.normal(size=n),
        "cluster": rng.integers(0, 3, size=n),
        "domain": rng.choice(["source", "target"], size=n),
        "attr_string": [f"vel_{i % 4}_loc_B" for i in range(n)],
        "file_name": [f"section_00_source_train_normal_{i:04d}_vel_{i % 4}_loc_B.wav" for i in range(n)],
    })


def _bundle(fig):
    from plotly.io._renderers import renderers

    return renderers._build_mime_bundle(fig.to_dict(), renderers_string=pio.renderers.default)


def test_setup_plotly_selects_mimetype_plus_light_html(clips):
    name = viz.setup_plotly()
    assert pio.renderers.default == name == "plotly_mimetype+asd_book_html"
    assert viz.setup_plotly() == name  # idempotent
    bundle = _bundle(viz.scatter_2d(clips, "u", "v", "domain", ["attr_string"], "t"))
    assert set(bundle) == {"application/vnd.plotly.v1+json", "text/html"}
    html = bundle["text/html"]
    assert len(html) < 100_000, f"figure HTML is {len(html)} bytes: plotly.js embedded?"
    assert "plotly.js v" not in html and "<script src=" not in html  # no bundle, no CDN/MathJax
    assert "require(" not in html  # no require.js dependency: the book has none
    assert "Plotly.newPlot" in html


def test_light_html_relies_on_the_bundled_plotly_js_that_make_book_copies():
    from pathlib import Path

    import plotly

    bundle = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert bundle.is_file() and bundle.stat().st_size > 1_000_000


def test_scatter_hover_carries_file_name_and_attributes(clips):
    fig = viz.scatter_2d(clips, "u", "v", color="cluster", hover_cols=["attr_string", "domain"],
                         title="Embedding", symbol="domain")
    spec = json.loads(fig.to_json())
    traces = spec["data"]
    hovertext = [t for tr in traces for t in tr["hovertext"]]
    assert sorted(hovertext) == sorted(clips["file_name"])
    customdata = [tuple(row) for tr in traces for row in tr["customdata"]]
    assert set(customdata) == set(zip(clips["attr_string"], clips["domain"]))
    assert all("attr_string=%{customdata[0]}" in tr["hovertemplate"] for tr in traces)
    # integer clusters are drawn as categories (one legend entry each), not a colour bar
    assert {tr["legendgroup"].split(",")[0] for tr in traces} == {"0", "1", "2"}
    assert spec["layout"]["title"]["text"] == "Embedding"


def test_scatter_names_missing_columns(clips):
    with pytest.raises(KeyError, match="nope"):
        viz.scatter_2d(clips, "u", "v", "nope", [], "")


@pytest.mark.slow  # numba / processes: seconds; not in make check
def test_embed_umap_shape_and_determinism():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0, 1, (40, 8)), rng.normal(6, 1, (40, 8))])
    a = projection.embed_umap(X, seed=3)
    b = projection.embed_umap(X, seed=3)
    assert a.shape == (80, 2) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    # the two blobs stay apart in the embedding
    ca, cb = a[:40].mean(0), a[40:].mean(0)
    spread = max(a[:40].std(0).max(), a[40:].std(0).max())
    assert np.linalg.norm(ca - cb) > 2 * spread
    # n_neighbors above n is capped, cosine metric accepted
    assert projection.embed_umap(X[:20], n_neighbors=50, metric="cosine").shape == (20, 2)
    # umap-learn's functions are compiled once per machine, not once per process (numba's disk cache)
    import umap.layouts

    assert type(umap.layouts._nb_optimize_layout_euclidean_single_epoch._cache).__name__ == "FunctionCache"


def test_embed_umap_falls_back_to_pca_on_tiny_sets(capsys):
    X = np.random.default_rng(0).normal(size=(6, 5))
    emb = projection.embed_umap(X)
    assert emb.shape == (6, 2)
    assert "PCA" in capsys.readouterr().out
    from sklearn.decomposition import PCA

    np.testing.assert_allclose(np.abs(emb), np.abs(PCA(2).fit_transform(X)), atol=1e-9)
    assert projection.embed_umap(np.ones((1, 3))).shape == (1, 2)


def test_embed_umap_rejects_non_matrices():
    with pytest.raises(ValueError, match="2-D"):
        projection.embed_umap(np.zeros(10))


def test_spectrogram_explorer_dropdown_and_decimation():
    from asdlib import viz

    rng = np.random.default_rng(0)
    panels = {t: {f"p{i}": rng.normal(-40, 10, size=(128, 300)) for i in range(4)} for t in ["a", "b"]}
    fig = viz.spectrogram_explorer(panels, hop_seconds=0.032, max_frames=80)
    assert len(fig.data) == 8
    assert [tr.visible for tr in fig.data] == [True] * 4 + [False] * 4
    assert np.asarray(fig.data[0].z).shape == (128, 75)  # 300 frames averaged 4 by 4
    second = fig.layout.updatemenus[0].buttons[1].args[0]["visible"]
    assert second == [False] * 4 + [True] * 4
    # panel times stay in seconds after decimation
    assert fig.data[0].x[1] == pytest.approx(4 * 0.032, abs=0.01)


def test_band_profile_figure_one_facet_per_type():
    import pandas as pd

    from asdlib import viz

    rows = [(t, g, m, float(m), 1.0) for t in ["a", "b", "c"] for g in ["source", "target"] for m in range(8)]
    curves = pd.DataFrame(rows, columns=["machine_type", "group", "mel", "mean", "std"])
    fig = viz.band_profile_figure(curves, facet_col_wrap=2)
    assert [a.text for a in fig.layout.annotations] == ["a", "b", "c"]
    means = [tr for tr in fig.data if tr.name == "target"]
    assert len(means) == 3 and sum(tr.showlegend for tr in means) == 1


def test_training_curves_one_facet_per_quantity_or_type():
    h = pd.DataFrame({"epoch": [1, 2, 1, 2], "machine_type": ["a", "a", "b", "b"],
                      "train_loss": [2.0, 1.0, 3.0, 2.0], "val_loss": [2.5, 1.5, 3.5, 2.5]})
    by_type = viz.training_curves(h, ["train_loss", "val_loss"], "t", facet="machine_type", log_y=True)
    assert {tr.name for tr in by_type.data} == {"train_loss", "val_loss"} and len(by_type.data) == 4
    assert {a.text for a in by_type.layout.annotations} == {"a", "b"}
    one = viz.training_curves(h[h.machine_type == "a"].drop(columns="machine_type"), ["train_loss"], "t")
    assert len(one.data) == 1 and list(one.data[0].y) == [2.0, 1.0]
