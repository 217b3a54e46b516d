"""Label sources: which class a normal clip belongs to when a system learns by classification.

Systems 1 and 2 are the same detector trained with different labels; a label source is the
only thing that differs. Every source names, for each clip, a label *within its machine
type*; the classes the network learns are ``"<machine type>|<label>"``:

* :class:`PseudoLabelSource` (System-1) — statistical-cluster pseudo-labels for every type
  (``asdlib.clustering.statistical``: statistics of the normal train clips, clustered per type); no
  attribute information is used at all.
* :class:`AttributeLabelSource` (System-2) — the attribute group (``spd_24_mic_2``) where
  the type has attributes; ``source``/``target`` where they are hidden (noAttribute).
* :class:`DomainLabelSource` — ``source``/``target`` for every type (a baseline labelling).
* :class:`AttributeOrPseudoLabelSource` (System-3) — attributes where present, domain x
  statistical cluster where they are hidden; ``with_domain=True`` splits the attribute
  groups by domain as well (Wilkinghoff's classes: type x attributes x domain).

Usage (scikit-learn style)::

    src = PseudoLabelSource(seed=0).fit(train_clips)
    src.classes_                    # sorted class names learnt from the train clips
    src.classes(train_clips)        # "synFan|c02", ... per clip (index aligned)
    src.labels(test_clips)          # within-type labels of any clips (for plots)
    src.summary()                   # per type: how the labels were made, how many classes
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

CLASS_SEP = "|"


def class_name(machine_type: str, label: str) -> str:
    return f"{machine_type}{CLASS_SEP}{label}"


def attribute_label(attributes: Mapping[str, str]) -> str:
    """An attribute dict as one group string (``{'spd': '24', 'mic': '2'}`` -> ``spd_24_mic_2``).

    The ``extra`` token (e.g. a damage tag) describes a fault, not an operating condition,
    and is left out, as in ``asdlib.data.layout.attribute_groups``.
    """
    return "_".join(f"{k}_{v}" for k, v in attributes.items() if k != "extra")


class LabelSource:
    """Base class: ``fit(train)`` then ``labels(clips)`` / ``classes(clips)``."""

    name: str = "labels"

    def fit(self, train: pd.DataFrame) -> "LabelSource":
        """Learn the labels of these train clips; fitting again on the same clips is a no-op
        (so one fitted source can serve several models, e.g. an ablation)."""
        _check_table(train, type(self).__name__)
        key = tuple(train["path"]) if "path" in train else None
        if key is not None and getattr(self, "_fitted_on", None) == key:
            return self
        self._fit(train)
        self._fitted_on = key
        classes = self.classes(train)
        if classes.isna().any():
            bad = train.loc[classes.isna(), "path"].head(5).tolist() if "path" in train else []
            raise ValueError(f"{type(self).__name__}: {int(classes.isna().sum())} train clips got no label, e.g. {bad}")
        self.classes_ = sorted(classes.unique())
        self.counts_ = classes.value_counts().reindex(self.classes_)
        return self

    def _fit(self, train: pd.DataFrame) -> None:
        self.kinds_ = {}

    def labels(self, clips: pd.DataFrame) -> pd.Series:  # pragma: no cover - interface
        raise NotImplementedError

    def classes(self, clips: pd.DataFrame) -> pd.Series:
        """``"<type>|<label>"`` per clip (index aligned; None where a clip has no label)."""
        lab = self.labels(clips)
        out = [None if pd.isna(v) else class_name(t, v) for t, v in zip(clips["machine_type"], lab)]
        return pd.Series(out, index=clips.index, dtype=object, name="class")

    def class_index(self, clips: pd.DataFrame) -> np.ndarray:
        """Integer class (position in ``classes_``) of every clip; clips of unseen classes raise."""
        if not hasattr(self, "classes_"):
            raise RuntimeError(f"{type(self).__name__}.class_index called before fit")
        lut = {c: i for i, c in enumerate(self.classes_)}
        names = self.classes(clips)
        unknown = sorted(set(names) - set(lut))
        if unknown:
            raise KeyError(f"{type(self).__name__}: classes not seen in training: {unknown[:5]}")
        return names.map(lut).to_numpy(dtype=np.int64)

    def summary(self) -> pd.DataFrame:
        """Per machine type: where the labels come from, how many classes, smallest class size."""
        if not hasattr(self, "classes_"):
            raise RuntimeError(f"{type(self).__name__}.summary called before fit")
        rows = {}
        for cls, n in self.counts_.items():
            mtype, label = cls.split(CLASS_SEP, 1)
            r = rows.setdefault(mtype, {"label_kind": self.kinds_.get(mtype, self.name), "n_classes": 0,
                                        "smallest_class": np.inf, "labels": []})
            r["n_classes"] += 1
            r["smallest_class"] = min(r["smallest_class"], int(n))
            r["labels"].append(label)
        table = pd.DataFrame.from_dict(rows, orient="index")
        table["labels"] = table["labels"].map(lambda v: ", ".join(v) if len(v) <= 6 else ", ".join(v[:6]) + ", ...")
        table.index.name = "machine_type"
        return table


def _check_table(clips: pd.DataFrame, who: str) -> None:
    need = {"machine_type", "domain"}
    if not need <= set(clips.columns):
        raise KeyError(f"{who}: the clip table lacks columns {sorted(need - set(clips.columns))} "
                       "(use asdlib.data.layout.clip_table)")


class DomainLabelSource(LabelSource):
    """``source`` / ``target`` for every machine type."""

    name = "domain"

    def labels(self, clips: pd.DataFrame) -> pd.Series:
        return pd.Series(clips["domain"].astype(str).to_numpy(), index=clips.index, dtype=object, name="label")


class AttributeLabelSource(LabelSource):
    """System-2's labels: the attribute group where a type has attributes, else the domain.

    A type counts as having attributes when its ``has_attributes`` flag (type level, from the
    clip table) is True and its train clips carry at least one attribute value. With
    ``with_domain`` an attribute label is prefixed by the clip's domain (``target_spd_24_mic_2``):
    classes of type x attributes x domain, as Wilkinghoff's ssl4asd forms them.
    """

    name = "attribute"
    with_domain = False  # label sources saved before the option existed: attributes alone

    def __init__(self, with_domain: bool = False):
        self.with_domain = bool(with_domain)

    def _fit(self, train: pd.DataFrame) -> None:
        self.kinds_ = {}
        for mtype, sub in train.groupby("machine_type", sort=True):
            has = bool(sub.get("has_attributes", pd.Series(False, index=sub.index)).all())
            usable = has and sub["attributes"].map(lambda a: bool(attribute_label(a or {}))).all()
            self.kinds_[mtype] = "attribute" if usable else "domain"

    def labels(self, clips: pd.DataFrame) -> pd.Series:
        out = pd.Series([None] * len(clips), index=clips.index, dtype=object, name="label")
        for mtype, sub in clips.groupby("machine_type"):
            kind = self.kinds_.get(mtype)
            if kind is None:  # a type the source was not fitted on: decide from the clips themselves
                has = bool(sub.get("has_attributes", pd.Series(False, index=sub.index)).all())
                kind = "attribute" if has else "domain"
            if kind == "attribute":
                groups = sub["attributes"].map(lambda a: attribute_label(a or {}) or None)
                if self.with_domain:
                    groups = (sub["domain"].astype(str) + "_" + groups.astype(str)).where(groups.notna())
                out.loc[sub.index] = groups.to_numpy()
            else:
                out.loc[sub.index] = sub["domain"].astype(str).to_numpy()
        return out


class PseudoLabelSource(LabelSource):
    """System-1's labels: statistical-cluster pseudo-labels for every machine type.

    By default one ``asdlib.clustering.statistical.StatisticalClusters`` per type is fitted on the
    normal train clips (``estimator`` or keyword ``params`` configure it; ``seed`` makes it
    deterministic) and labels any clip of that type (``predict``). ``precomputed`` (a
    mapping or Series ``{clip path: label}``) skips the clustering: train clips must all be
    in it; other clips without an entry get None.
    """

    name = "pseudo"

    def __init__(self, estimator=None, precomputed: Mapping[str, str] | pd.Series | None = None,
                 seed: int = 0, with_domain: bool = False, **params):
        self.estimator = estimator
        self.precomputed = precomputed
        self.seed = seed
        self.with_domain = with_domain
        self.params = params

    def _fit(self, train: pd.DataFrame) -> None:
        self.kinds_ = {m: "domain x pseudo" if self.with_domain else "pseudo" for m in train["machine_type"].unique()}
        if self.precomputed is not None:
            lut = dict(self.precomputed.items()) if isinstance(self.precomputed, pd.Series) else dict(self.precomputed)
            missing = [p for p in train["path"] if p not in lut]
            if missing:
                raise KeyError(f"PseudoLabelSource: {len(missing)} train clips have no precomputed label, "
                               f"e.g. {missing[:3]}; the mapping must be keyed by clip path")
            self.lut_ = lut
            self.models_ = {}
            return
        from sklearn.base import clone
        from threadpoolctl import threadpool_limits

        from asdlib.clustering.statistical import StatisticalClusters
        from asdlib.features.statistics import statistics_table

        est = self.estimator if self.estimator is not None else StatisticalClusters(seed=self.seed, **self.params)
        normal = train[train.get("label", pd.Series("normal", index=train.index)) != "anomaly"]
        stats = statistics_table(normal, est.groups, est.logmel_config)
        # Small (n x 8) mixtures: one BLAS thread is as fast alone and ~15x faster on a busy machine
        with threadpool_limits(1):
            self.models_ = {m: clone(est).fit(sub, stats) for m, sub in normal.groupby("machine_type", sort=True)}
            self.lut_ = {}
            for m, model in self.models_.items():
                sub = normal[normal["machine_type"] == m]
                self.lut_.update(zip(sub["path"], model.pseudo_labels(sub, stats)))

    def labels(self, clips: pd.DataFrame) -> pd.Series:
        """The cluster of each clip (``c02``), or ``domain_cluster`` with ``with_domain``."""
        out = self.clusters(clips)
        if self.with_domain:
            out = (clips["domain"].astype(str) + "_" + out.astype(str)).where(out.notna()).rename("label")
        return out

    def clusters(self, clips: pd.DataFrame) -> pd.Series:
        if not hasattr(self, "lut_"):
            raise RuntimeError("PseudoLabelSource.labels called before fit")
        out = pd.Series(clips["path"].map(self.lut_).to_numpy(), index=clips.index, dtype=object, name="label")
        todo = out.isna() & clips["machine_type"].isin(list(self.models_))
        if todo.any():
            from threadpoolctl import threadpool_limits

            from asdlib.features.statistics import statistics_table

            for m, sub in clips[todo].groupby("machine_type"):
                model = self.models_[m]
                stats = statistics_table(sub, model.groups, model.logmel_config)
                with threadpool_limits(1):
                    out.loc[sub.index] = model.pseudo_labels(sub, stats).to_numpy()
        return out

    def describe(self) -> pd.DataFrame:
        """The clustering's choices per type (``StatisticalClusters.describe``)."""
        return pd.DataFrame([m.describe() for m in self.models_.values()]).set_index("machine_type")


class AttributeOrPseudoLabelSource(LabelSource):
    """System-3's labels: the attribute group where a type has attributes; for a type whose
    attributes are hidden, **domain x statistical cluster** (``source_c02``, ``target_c00``).
    A type whose train clips all share one attribute group (a user's one machine at one
    setting) is treated as hidden: one group gives the classifier nothing to tell apart.

    The report (§2.2) names both the domain and clustering pseudo-labels for hidden types;
    combining them (ours) keeps the ten target clips in classes of their own (as Wilkinghoff's
    classes include the domain) while the clusters split the source clips by condition.
    ``seed`` and ``params`` configure the ``PseudoLabelSource`` used for the hidden types.

    ``with_domain`` (default False, the book's labels): the attribute groups are split by
    domain too (``source_spd_24_mic_2``, ``target_spd_24_mic_2``), so every class is type x
    attributes x domain, as in Wilkinghoff's ssl4asd (the report's ref. [13]; its classes also
    carry the section, one per type here). Hidden types are domain x cluster either way.
    """

    name = "attribute_pseudo"
    with_domain = False  # label sources saved before the option existed: attributes alone

    def __init__(self, seed: int = 0, with_domain: bool = False, **params):
        self.seed = seed
        self.with_domain = bool(with_domain)
        self.params = params

    def _fit(self, train: pd.DataFrame) -> None:
        self.attribute_ = AttributeLabelSource(with_domain=self.with_domain).fit(train)
        groups = train["attributes"].map(lambda a: attribute_label(a or {}))
        # a type whose train clips all carry one attribute group (one machine, one setting) has
        # no condition for the classifier to tell apart: it is clustered like a hidden type
        single = {m for m, k in self.attribute_.kinds_.items()
                  if k == "attribute" and groups[train["machine_type"] == m].nunique() < 2}
        hidden = [m for m, k in self.attribute_.kinds_.items() if k == "domain" or m in single]
        visible = "domain x attribute" if self.with_domain else "attribute"  # summary()'s label_kind
        self.kinds_ = {m: (visible if k == "attribute" and m not in single else "domain x pseudo")
                       for m, k in self.attribute_.kinds_.items()}
        self.pseudo_ = (PseudoLabelSource(seed=self.seed, **self.params).fit(train[train["machine_type"].isin(hidden)])
                        if hidden else None)

    def labels(self, clips: pd.DataFrame) -> pd.Series:
        out = self.attribute_.labels(clips)
        hidden = clips["machine_type"].map(self.kinds_) == "domain x pseudo"
        if hidden.any():
            sub = clips[hidden]
            cluster = self.pseudo_.labels(sub)
            out.loc[sub.index] = (sub["domain"].astype(str) + "_" + cluster.astype(str)).where(cluster.notna())
        return out

    def pseudo_labels(self, clips: pd.DataFrame) -> pd.Series:
        """The statistical cluster alone (None for types with attributes): what label text names."""
        out = pd.Series([None] * len(clips), index=clips.index, dtype=object, name="pseudo_label")
        hidden = clips["machine_type"].map(self.kinds_) == "domain x pseudo"
        if hidden.any():
            out.loc[hidden] = self.pseudo_.labels(clips[hidden]).to_numpy()
        return out


LABEL_SOURCES = {"pseudo": PseudoLabelSource, "pseudo_domain": PseudoLabelSource, "attribute": AttributeLabelSource,
                 "domain": DomainLabelSource, "attribute_pseudo": AttributeOrPseudoLabelSource}


def make_label_source(kind: str, seed: int = 0, **params) -> LabelSource:
    """``"pseudo"`` (System-1), ``"pseudo_domain"`` (System-1 with its "additional labels":
    domain x cluster), ``"attribute"`` (System-2), ``"attribute_pseudo"`` (System-3) or
    ``"domain"``. ``with_domain=True`` (pseudo, attribute, attribute_pseudo): labels split by
    domain too."""
    if kind not in LABEL_SOURCES:
        raise ValueError(f"unknown label source {kind!r}; choose one of {sorted(LABEL_SOURCES)}")
    if kind == "pseudo_domain":
        return PseudoLabelSource(seed=seed, with_domain=True, **params)
    if kind in ("pseudo", "attribute_pseudo"):
        return LABEL_SOURCES[kind](seed=seed, **params)
    if kind == "attribute" and set(params) <= {"with_domain"}:
        return AttributeLabelSource(**params)
    if params:
        raise TypeError(f"label source {kind!r} takes no parameters, got {sorted(params)}")
    return LABEL_SOURCES[kind]()
