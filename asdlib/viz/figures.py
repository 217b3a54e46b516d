"""Figures for the book (drawing only; maps are computed by ``asdlib.clustering.projection``).

``setup_plotly()`` makes every figure carry two outputs:

* plotly's own JSON mime type, which JupyterLab renders interactively (its plotly
  extension ships with the ``plotly`` package);
* a small HTML snippet that does **not** embed plotly.js. The built book loads one copy of
  ``_static/plotly.min.js`` on every page (``html_js_files`` in ``_config.yml``; ``make
  book`` copies it from the installed plotly package), so a figure page stays small
  (~25 KB instead of ~4.8 MB) and still renders offline.

The HTML snippet alone does not draw anything in a front end that has no plotly.js loaded
(e.g. classic Notebook without the mime renderer); JupyterLab and the book are the targets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BOOK_RENDERER = "asd_book_html"
DEFAULT_RENDERER = f"plotly_mimetype+{BOOK_RENDERER}"


def _book_html_renderer():
    from plotly.io._base_renderers import MimetypeRenderer

    class BookHtmlRenderer(MimetypeRenderer):
        """``text/html`` without plotly.js and without MathJax (both would need a CDN or
        megabytes per page); relies on a global ``Plotly`` loaded by the page."""

        def __init__(self, config=None):
            self.config = dict(config or {})

        def to_mimebundle(self, fig_dict):
            from plotly.io import to_html

            html = to_html(
                fig_dict,
                config=self.config,
                include_plotlyjs=False,
                include_mathjax=False,
                full_html=False,
                default_width="100%",
                default_height=500,
                validate=False,
            )
            return {"text/html": html}

    return BookHtmlRenderer(config={"responsive": True, "displaylogo": False})


def setup_plotly(template: str = "plotly_white") -> str:
    """Register the book renderer and make ``plotly_mimetype+asd_book_html`` the default.

    Idempotent; returns the name of the default renderer. Call it once at the top of a
    notebook (``from asdlib import viz; viz.setup_plotly()``).
    """
    import plotly.io as pio

    if BOOK_RENDERER not in pio.renderers:
        pio.renderers[BOOK_RENDERER] = _book_html_renderer()
    pio.renderers.default = DEFAULT_RENDERER
    if template:
        pio.templates.default = template
    return DEFAULT_RENDERER


def _as_category(series):
    """Colour/symbol by category unless the column holds real-valued data (e.g. scores)."""
    import pandas as pd

    if pd.api.types.is_float_dtype(series):
        return series
    return series.astype(str)


def scatter_2d(
    df,
    x: str,
    y: str,
    color: str | None,
    hover_cols: Sequence[str] = (),
    title: str = "",
    symbol: str | None = None,
    hover_name: str | None = None,
    height: int = 500,
):
    """A 2-D scatter (e.g. of ``asdlib.clustering.projection.embed_umap`` output) whose hover shows the file and attributes.

    ``hover_name`` (bold first line of the hover box) defaults to the ``file_name``
    column when there is one; ``hover_cols`` are listed below it. Integer or string
    ``color``/``symbol`` columns are drawn as categories, float columns as a colour scale.
    """
    import plotly.express as px

    missing = [c for c in [x, y, color, symbol, hover_name, *hover_cols] if c and c not in df.columns]
    if missing:
        raise KeyError(f"scatter_2d: columns not in the table: {missing}")
    if hover_name is None and "file_name" in df.columns:
        hover_name = "file_name"
    data = df.copy()
    for col in (color, symbol):
        if col:
            data[col] = _as_category(data[col])
    hover = {c: True for c in hover_cols if c not in (hover_name,)}
    fig = px.scatter(
        data,
        x=x,
        y=y,
        color=color,
        symbol=symbol,
        hover_name=hover_name,
        hover_data=hover,
        title=title,
        render_mode="svg" if len(data) <= 5000 else "webgl",
        height=height,
    )
    fig.update_traces(marker=dict(size=6, opacity=0.8))
    fig.update_layout(legend_title_text=color or "", margin=dict(l=40, r=20, t=60, b=40))
    return fig


MAX_LEGEND_ENTRIES = 12  # beyond this a legend is a wall of names taller than its panel: hover names them instead


def embedding_maps(frame, colours: dict, title: str, hover_cols: Sequence[str] = (), symbol: str | None = "split",
                   cols: int = 2, panel_height: int = 360):
    """One figure of small multiples: the same 2-D map (``results.embedding_map``: columns x,
    y, ...) once per colouring, side by side with shared axes, each panel with its own legend.
    ``colours`` maps a column to the words of its panel title ("pseudo-label (trained on)"). A
    colouring with more than ``MAX_LEGEND_ENTRIES`` values keeps its colours but no legend
    (its panel title says how many; hovering a point names its value)."""
    import math

    from plotly.subplots import make_subplots

    hover = list(hover_cols) or [c for c in ("split", "domain", "condition", "trained_class", "pseudo_label",
                                              "attribute", "score") if c in frame.columns]
    items = list(colours.items())
    rows = math.ceil(len(items) / cols)
    counts = {col: frame[col].nunique() for col, _ in items}
    titles = [f"{what}" + (f" ({counts[col]} values; hover)" if counts[col] > MAX_LEGEND_ENTRIES else "")
              for col, what in items]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.26,
                        vertical_spacing=0.12 if rows > 1 else 0.0)
    for i, (col, what) in enumerate(items):
        r, c = divmod(i, cols)
        legend = "legend" if i == 0 else f"legend{i + 1}"
        panel = scatter_2d(frame, "x", "y", col, hover, symbol=symbol)
        for trace in panel.data:
            trace.update(legend=legend, legendgroup=f"{i}:{trace.legendgroup}",
                         showlegend=counts[col] <= MAX_LEGEND_ENTRIES and trace.showlegend is not False)
            fig.add_trace(trace, row=r + 1, col=c + 1)
        sub = fig.get_subplot(r + 1, c + 1)
        fig.update_layout({legend: dict(x=sub.xaxis.domain[1] + 0.01, y=sub.yaxis.domain[1], xanchor="left",
                                        yanchor="top", font=dict(size=10), tracegroupgap=0,
                                        title=dict(text=col, font=dict(size=10)))})
    fig.update_xaxes(title_text="UMAP 1", matches="x", showticklabels=False)
    fig.update_yaxes(title_text="UMAP 2", matches="y", showticklabels=False)
    fig.update_layout(title=dict(text=title, font=dict(size=14)), height=panel_height * rows + 80,
                      margin=dict(l=40, r=20, t=90, b=30))
    fig.update_annotations(font_size=12)
    return fig


def block_diagram(blocks: dict, edges: Sequence[tuple[str, str]], title: str, height: int = 420):
    """A network drawn as labelled boxes and arrows: ``blocks`` maps a name to ``(x, y, text)``
    (data coordinates, x left to right), ``edges`` are ``(from, to)`` names."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for a, b in edges:
        (x0, y0, _), (x1, y1, _) = blocks[a], blocks[b]
        fig.add_annotation(x=x1 - 0.42, y=y1, ax=x0 + 0.42, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=2, arrowsize=1.2, arrowwidth=1.5, arrowcolor="#555", text="")
    for x, y, text in blocks.values():
        fig.add_shape(type="rect", x0=x - 0.42, x1=x + 0.42, y0=y - 0.3, y1=y + 0.3, line=dict(color="#1f77b4"),
                      fillcolor="#eaf2fb")
        fig.add_annotation(x=x, y=y, text=text, showarrow=False, font=dict(size=11))
    xs = [v[0] for v in blocks.values()]
    ys = [v[1] for v in blocks.values()]
    fig.update_xaxes(visible=False, range=[min(xs) - 0.6, max(xs) + 0.6])
    fig.update_yaxes(visible=False, range=[min(ys) - 0.6, max(ys) + 0.6])
    fig.update_layout(title=title, height=height, plot_bgcolor="white", margin=dict(l=10, r=10, t=50, b=10))
    return fig


def training_curves(history: "pd.DataFrame", quantities: Sequence[str], title: str, color: str | None = None,
                    facet: str = "quantity", log_y: bool = False, height: int = 340, facet_col_wrap: int = 4):
    """Training curves: one line per ``color`` group, one facet per quantity (or per value of
    another ``facet`` column), epochs on x. ``history`` has an ``epoch`` column and the
    ``quantities`` as columns (the ``history_`` of any trained system)."""
    import plotly.express as px

    ids = ["epoch"] + [c for c in (color, facet) if c and c != "quantity"]
    long = history.melt(id_vars=ids, value_vars=list(quantities), var_name="quantity", value_name="value")
    colour = color if color else ("quantity" if facet != "quantity" else None)
    fig = px.line(long, x="epoch", y="value", color=colour, facet_col=facet, facet_col_wrap=facet_col_wrap,
                  markers=True, log_y=log_y, title=title,
                  height=height if facet == "quantity" else 260 * int(np.ceil(long[facet].nunique() / facet_col_wrap)) + 100)
    fig.update_yaxes(matches=None, showticklabels=True)
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    return fig


# --------------------------------------------------------------------------- audio views
def _decimate_frames(m: np.ndarray, max_frames: int) -> np.ndarray:
    """Average neighbouring frames so a spectrogram has at most ``max_frames`` columns."""
    t = m.shape[1]
    if t <= max_frames:
        return m
    step = int(np.ceil(t / max_frames))
    n = t // step
    return m[:, : n * step].reshape(m.shape[0], n, step).mean(axis=2)


def spectrogram_explorer(panels: dict, hop_seconds: float, title: str = "",
                         max_frames: int = 80, zrange: tuple | None = None):
    """Log-mel spectrograms in a grid, one dropdown entry per group.

    ``panels`` maps a group name (e.g. a machine type) to an ordered dict
    ``{panel title: (n_mels, frames) array}`` (the same number of panels per group, at most 4,
    laid out 2 x 2). Frames are averaged down to ``max_frames`` and values rounded to 1 dB
    to keep the page light; one shared colour range makes panels comparable.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    groups = list(panels)
    n_panels = max(len(v) for v in panels.values())
    rows, cols = (1, n_panels) if n_panels <= 2 else (2, 2)
    first = panels[groups[0]]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(first),
                        horizontal_spacing=0.06, vertical_spacing=0.12)
    all_vals = np.concatenate([m.ravel() for g in groups for m in panels[g].values()])
    zmin, zmax = zrange or (float(np.percentile(all_vals, 1)), float(np.percentile(all_vals, 99.5)))
    titles = []
    for gi, g in enumerate(groups):
        titles.append(list(panels[g]))
        for pi, (name, m) in enumerate(panels[g].items()):
            # whole dB in int8 (clipped to -128..127 dB): sent as base64, ~4x lighter than int16
            d = np.clip(np.round(_decimate_frames(m, max_frames)), -128, 127).astype(np.int8)
            step = m.shape[1] / d.shape[1]
            fig.add_trace(go.Heatmap(
                z=d, x=np.round(np.arange(d.shape[1]) * step * hop_seconds, 2), y=np.arange(d.shape[0]),
                zmin=zmin, zmax=zmax, colorscale="Viridis", showscale=(pi == 0),
                colorbar=dict(title="dB"), visible=(gi == 0), name=f"{g}: {name}",
                hovertemplate="t=%{x:.2f}s  mel=%{y}  %{z:.1f} dB<extra>" + f"{g}: {name}" + "</extra>",
            ), row=pi // cols + 1, col=pi % cols + 1)
    if len(groups) > 1:
        buttons = []
        for gi, g in enumerate(groups):
            vis = [False] * (len(groups) * n_panels)
            vis[gi * n_panels:(gi + 1) * n_panels] = [True] * n_panels
            ann = [dict(text=t) for t in titles[gi]]
            buttons.append(dict(label=g, method="update",
                                args=[{"visible": vis}, {"annotations": [
                                    {**a.to_plotly_json(), **n} for a, n in zip(fig.layout.annotations, ann)]}]))
        fig.update_layout(updatemenus=[dict(buttons=buttons, x=0, xanchor="left", y=1.18, yanchor="top")])
    fig.update_xaxes(title_text="time [s]")
    fig.update_yaxes(title_text="mel band")
    fig.update_layout(title=title, height=330 * rows + 80, margin=dict(t=110))
    return fig


def band_profile_figure(curves: pd.DataFrame, title: str = "", facet_col_wrap: int = 4):
    """Mean log-mel per band with a +-1 std band, one line per group, one facet per type.

    ``curves`` has columns machine_type, group, mel, mean, std (see
    ``asdlib.features.logmel.band_profiles``).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    import plotly.express as px

    types = list(dict.fromkeys(curves.machine_type))
    groups = list(dict.fromkeys(curves.group))
    rows = int(np.ceil(len(types) / facet_col_wrap))
    cols = min(facet_col_wrap, len(types))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=types, shared_xaxes=True,
                        horizontal_spacing=0.04, vertical_spacing=0.09)
    palette = px.colors.qualitative.Plotly
    for ti, mtype in enumerate(types):
        r, c = ti // cols + 1, ti % cols + 1
        for gi, g in enumerate(groups):
            sub = curves[(curves.machine_type == mtype) & (curves.group == g)]
            if sub.empty:
                continue
            color = palette[gi % len(palette)]
            x = sub.mel.to_numpy()
            upper, lower = (sub["mean"] + sub["std"]).round(2), (sub["mean"] - sub["std"]).round(2)
            fig.add_trace(go.Scatter(x=np.r_[x, x[::-1]], y=np.r_[upper, lower[::-1]], fill="toself",
                                     fillcolor=color, opacity=0.15, line=dict(width=0), hoverinfo="skip",
                                     showlegend=False, legendgroup=g), row=r, col=c)
            fig.add_trace(go.Scatter(x=x, y=sub["mean"].round(2), name=g, line=dict(color=color, width=1.5),
                                     legendgroup=g, showlegend=(ti == 0),
                                     hovertemplate=f"{mtype} / {g}<br>mel %{{x}}: %{{y:.1f}} dB<extra></extra>"),
                          row=r, col=c)
    fig.update_xaxes(title_text="mel band", row=rows)
    fig.update_yaxes(title_text="log-mel [dB]", col=1)
    fig.update_layout(title=title, height=260 * rows + 120, legend=dict(orientation="h", y=-0.12))
    return fig


# --------------------------------------------------------------------------- scores
SCORE_COLOURS = {"normal": "#1f77b4", "anomaly": "#d62728"}


def score_histograms(scores: "pd.DataFrame", thresholds: dict, title: str):
    """Test-score histograms: a row per machine type, a column per domain, normal vs anomaly
    overlaid, the type's decision threshold as a dashed line. Scores on a log10 axis (they
    span decades for reconstruction errors); ``scores`` needs machine_type, domain, label, score."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    types = sorted(scores.machine_type.unique())
    domains = [d for d in ("source", "target") if d in set(scores.domain)]
    fig = make_subplots(rows=len(types), cols=len(domains), shared_xaxes="rows",
                        row_titles=types, column_titles=domains, vertical_spacing=0.03)
    for i, mtype in enumerate(types, 1):
        row = scores[scores.machine_type == mtype].assign(score=lambda d: np.maximum(d.score, 1e-12))
        lo = min(np.log10(row.score).min(), np.log10(thresholds[mtype]))
        hi = max(np.log10(row.score).max(), np.log10(thresholds[mtype]))
        bins = dict(start=lo, end=hi + 1e-9, size=(hi - lo) / 25 or 1.0)  # same bins in the whole row
        for j, dom in enumerate(domains, 1):
            sub = row[row.domain == dom]
            for label in ("normal", "anomaly"):
                s = np.log10(sub.score[sub.label == label])
                fig.add_trace(go.Histogram(x=s, name=label, marker_color=SCORE_COLOURS[label], opacity=0.6,
                                           xbins=bins, legendgroup=label, showlegend=(i == 1 and j == 1),
                                           hovertemplate=f"{mtype} {dom} {label}<br>log10 score %{{x}}"
                                                         "<br>clips %{y}<extra></extra>"),
                              row=i, col=j)
            fig.add_vline(x=np.log10(thresholds[mtype]), line_dash="dash", line_color="black", row=i, col=j)
    fig.update_layout(barmode="overlay", height=170 * len(types) + 120, title=title,
                      legend_title_text="test clips")
    fig.update_xaxes(title_text="log10 score", row=len(types))
    return fig


def reference_levels(per_type: "pd.DataFrame", level: float, title: str):
    """Grouped bars: one bar per machine type and detector (columns of ``per_type``,
    percent), with the published reference level as a dashed line."""
    import plotly.express as px

    long = per_type.rename_axis("machine_type").reset_index().melt("machine_type", var_name="detector",
                                                                   value_name="official score (%)")
    fig = px.bar(long, x="machine_type", y="official score (%)", color="detector", barmode="group",
                 title=title, height=380)
    fig.add_hline(y=level, line_dash="dash", annotation_text=f"published real-data level ≈ {level:g}")
    fig.add_hline(y=50, line_dash="dot", line_color="grey", annotation_text="chance")
    return fig
