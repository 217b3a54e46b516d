"""A fitted object as plain JSON plus named arrays, and back: no pickle, so no code in the file.

``Encoder().encode_object(obj)`` walks an object's attributes and returns a JSON tree;
``encoder.arrays`` is then a flat ``{name: torch.Tensor}`` that a weights-only format
(safetensors, ``asdlib.systems.detect.save_detector``) stores. ``Decoder(arrays).decode(tree)``
rebuilds the object. What the walk knows, and nothing else:

* JSON values (None, bool, int, str, finite floats) as they are; other floats, numpy scalars,
  tuples, sets, dicts with keys other than strings, paths, torch devices and dtypes as small
  tagged JSON objects (``{"$": "tuple", "items": [...]}``);
* numeric numpy arrays and torch tensors as named arrays (their exact bytes, dtype, shape and
  memory order); string and object arrays as JSON lists of their items;
* pandas DataFrames, Series and indexes (numeric columns as arrays, the others item by item,
  each column with its dtype);
* objects of the **allowlist** (classes defined in ``asdlib``, scikit-learn estimators) as
  their class name and attributes; rebuilt with ``cls.__new__`` and their attributes set
  back (scikit-learn's own ``__setstate__``), so no constructor runs;
* torch modules of ``asdlib`` classes that have a ``constructor_arguments()`` method, as those
  arguments plus their ``state_dict``: rebuilt by their constructor (inside a forked RNG, so
  loading leaves the global random state alone), then ``load_state_dict(strict=True,
  assign=True)`` (the saved tensors as they are, dtype included) and the train/eval flags.

Anything else (functions, callbacks, objects of other classes, ...) is refused when encoding,
with the attribute's path; a tree naming a class outside the allowlist, or anything the walk
does not know, is refused when decoding (``StateError``). An object or array met twice in one
walk is written once and shared again when rebuilt, as pickle would.
"""

from __future__ import annotations

import importlib
import math
import re
from collections import OrderedDict
from pathlib import Path, PurePath
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch

#: The key that marks a tagged JSON object (a plain dict holding this key is written tagged too).
TAG = "$"
#: Nullable pandas dtypes the walk rebuilds by name.
_EXTENSION_DTYPES = {"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
                     "Float32", "Float64", "boolean"}
_MODULE = re.compile(r"^(asdlib|sklearn)(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_QUALNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class StateError(ValueError):
    """A value the walk cannot write, or a tree it will not rebuild."""


# --------------------------------------------------------------------------- the allowlist
def allowed_class(cls: type) -> bool:
    """Classes defined in ``asdlib`` and scikit-learn estimators."""
    module = getattr(cls, "__module__", None) or ""
    if module == "asdlib" or module.startswith("asdlib."):
        return True
    if module.startswith("sklearn."):
        from sklearn.base import BaseEstimator

        return issubclass(cls, BaseEstimator)
    return False


def class_name(cls: type) -> str:
    """``module:qualname``, how a tree names a class."""
    return f"{cls.__module__}:{cls.__qualname__}"


def resolve_class(name: str) -> type:
    """The allowlisted class a tree names (``module:qualname``); anything else raises."""
    module, _, qualname = str(name).partition(":")
    refused = (f"class {name!r} is not one a saved object may hold (classes defined in asdlib, "
               "scikit-learn estimators)")
    if not _MODULE.match(module) or not _QUALNAME.match(qualname):
        raise StateError(refused)
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise StateError(f"class {name!r} does not exist in this asdlib ({exc})") from None
    # defined where the name says (not a name imported there, e.g. ``asdlib.x:os.system``)
    if not isinstance(obj, type) or class_name(obj) != name or not allowed_class(obj):
        raise StateError(refused)
    return obj


def _type_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def _join(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


# --------------------------------------------------------------------------- writing
class Encoder:
    """Turns values into a JSON tree, collecting their arrays in ``arrays`` (see the module docstring)."""

    def __init__(self):
        self.arrays: dict[str, torch.Tensor] = {}
        self._array_names: dict[int, str] = {}  # id of an array or tensor -> its entry in ``arrays``
        self._object_ids: dict[int, int] = {}  # id of an object or module -> its number in the tree
        self._pinned: list = []  # what an id above belongs to stays alive, so no id is reused
        self._open: set[int] = set()  # containers being written (one holding itself is refused)

    def encode_object(self, obj: Any, attributes: dict | None = None, where: str = "") -> dict:
        """An allowlisted object, with ``attributes`` instead of its own when given."""
        if not allowed_class(type(obj)) or isinstance(obj, torch.nn.Module):
            raise StateError(f"{where or 'the object'} is a {_type_name(obj)}, not an asdlib object")
        return self._shared(obj, where, lambda o, w: self._object(o, w, attributes))

    def encode(self, value: Any, where: str) -> Any:
        """``value`` as JSON; ``where`` names it (array entries, error messages)."""
        if value is None or type(value) in (bool, int, str):
            return value
        if type(value) is float:
            return value if math.isfinite(value) else {TAG: "float", "value": repr(value)}
        if isinstance(value, np.generic):
            return self._scalar(value, where)
        if isinstance(value, np.ndarray):
            return self._ndarray(value, where)
        if isinstance(value, torch.Tensor):
            return self._tensor(value, where)
        if isinstance(value, torch.nn.Module):
            return self._shared(value, where, self._module)
        if isinstance(value, (pd.DataFrame, pd.Series, pd.Index)):
            return self._pandas(value, where)
        if type(value) in (list, tuple, set, frozenset, dict, OrderedDict):
            return self._container(value, where)
        if isinstance(value, PurePath):
            return {TAG: "path", "value": str(value)}
        if isinstance(value, torch.device):
            return {TAG: "device", "value": str(value)}
        if isinstance(value, torch.dtype):
            return {TAG: "torch_dtype", "value": str(value).removeprefix("torch.")}
        if isinstance(value, np.dtype):
            return {TAG: "numpy_dtype", "value": self._numeric_dtype(value, where).str}
        if value is pd.NA:
            return {TAG: "NA"}
        if allowed_class(type(value)):
            return self._shared(value, where, self._object)
        raise StateError(f"{where or 'the object'} is a {_type_name(value)}, which cannot be saved: a saved "
                         "object holds plain values, arrays, pandas tables, asdlib networks and objects of asdlib "
                         "or scikit-learn classes (leave the attribute out with the class's unsaved_attributes)")

    # -- arrays
    def _add_array(self, tensor: torch.Tensor, where: str) -> str:
        name, n = where or "array", 1
        while name in self.arrays:
            n += 1
            name = f"{where}#{n}"
        self.arrays[name] = tensor
        return name

    @staticmethod
    def _numeric_dtype(dtype: np.dtype, where: str) -> np.dtype:
        if dtype.kind not in "biuf" or (dtype.kind == "f" and dtype.itemsize > 8):
            raise StateError(f"{where}: numpy dtype {dtype} cannot be saved (booleans, integers and floats up "
                             "to 64 bits can)")
        return dtype

    def _scalar(self, value: np.generic, where: str) -> dict:
        if value.dtype.kind != "U":
            self._numeric_dtype(value.dtype, where)
        return {TAG: "scalar", "dtype": value.dtype.str, "value": self.encode(value.item(), where)}

    def _ndarray(self, a: np.ndarray, where: str) -> dict:
        if type(a) is not np.ndarray:
            raise StateError(f"{where} is a {_type_name(a)}; only plain numpy arrays can be saved")
        if a.dtype.kind in "UO":
            items = [self.encode(v, f"{where}[{i}]") for i, v in enumerate(a.reshape(-1).tolist())]
            return {TAG: "ndarray", "dtype": a.dtype.str, "shape": list(a.shape), "items": items}
        self._numeric_dtype(a.dtype, where)
        name = self._array_names.get(id(a))
        if name is None:  # a copy of its own: safetensors refuses entries that share memory
            data = np.array(a, dtype=a.dtype.newbyteorder("="), order="C", copy=True)
            name = self._add_array(torch.from_numpy(data), where)
            self._array_names[id(a)] = name
            self._pinned.append(a)
        out = {TAG: "ndarray", "array": name}
        if not a.dtype.isnative:
            out["dtype"] = a.dtype.str
        if a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous:
            out["order"] = "F"
        return out

    def _tensor(self, t: torch.Tensor, where: str) -> dict:
        if type(t) not in (torch.Tensor, torch.nn.Parameter) or t.layout != torch.strided or t.is_quantized:
            raise StateError(f"{where} is a {_type_name(t)} ({t.layout}); only dense tensors can be saved")
        name = self._array_names.get(id(t))
        if name is None:
            name = self._add_array(t.detach().cpu().clone(memory_format=torch.contiguous_format), where)
            self._array_names[id(t)] = name
            self._pinned.append(t)
        out: dict = {TAG: "tensor", "array": name}
        if isinstance(t, torch.nn.Parameter):
            out["parameter"] = True
        if t.requires_grad:
            out["requires_grad"] = True
        return out

    # -- objects
    def _shared(self, value: Any, where: str, write: Callable[[Any, str], dict]) -> dict:
        number = self._object_ids.get(id(value))
        if number is not None:
            return {TAG: "ref", "id": number}
        number = self._object_ids[id(value)] = len(self._object_ids)
        self._pinned.append(value)
        out = write(value, where)
        out["id"] = number
        return out

    def _object(self, obj: Any, where: str, attributes: dict | None = None) -> dict:
        cls = type(obj)
        if attributes is None:
            if not hasattr(obj, "__dict__"):
                raise StateError(f"{where} is a {_type_name(obj)} without attributes (__dict__); it cannot be saved")
            attributes = obj.__getstate__() if cls.__module__.startswith("sklearn.") else vars(obj)
        if not isinstance(attributes, dict) or not all(type(k) is str for k in attributes):
            raise StateError(f"{where} is a {_type_name(obj)} whose state is not a dict of attributes")
        return {TAG: "object", "class": class_name(cls),
                "state": {k: self.encode(v, _join(where, k)) for k, v in attributes.items()}}

    def _module(self, m: torch.nn.Module, where: str) -> dict:
        cls = type(m)
        if not (allowed_class(cls) and callable(getattr(m, "constructor_arguments", None))):
            raise StateError(f"{where} is a torch module of class {_type_name(m)}; a saved object holds asdlib "
                             "networks with a constructor_arguments() method (rebuilt from those and their "
                             "state_dict)")
        arguments = m.constructor_arguments()
        if not isinstance(arguments, dict):
            raise StateError(f"{where}: {cls.__qualname__}.constructor_arguments() must return a dict")
        state = {key: self._tensor(t, _join(where, key))["array"] for key, t in m.state_dict().items()}
        return {TAG: "module", "class": class_name(cls),
                "arguments": {k: self.encode(v, _join(where, f"<{k}>")) for k, v in arguments.items()},
                "state": state, "training": m.training,
                "other_mode": [name for name, sub in m.named_modules() if sub.training != m.training]}

    # -- containers
    def _container(self, value, where: str):
        if id(value) in self._open:
            raise StateError(f"{where} holds itself; it cannot be saved")
        self._open.add(id(value))
        try:
            if type(value) is list:
                return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
            if type(value) in (tuple, set, frozenset):
                return {TAG: type(value).__name__, "items": [self.encode(v, f"{where}[{i}]")
                                                              for i, v in enumerate(value)]}
            if type(value) is dict and all(type(k) is str for k in value) and TAG not in value:
                return {k: self.encode(v, _join(where, k)) for k, v in value.items()}
            return {TAG: "dict" if type(value) is dict else "odict",
                    "items": [[self.encode(k, f"{where}<key>"), self.encode(v, _join(where, k))]
                              for k, v in value.items()]}
        finally:
            self._open.discard(id(value))

    # -- pandas
    def _pandas(self, value, where: str) -> dict:
        if type(value) is pd.DataFrame:
            return {TAG: "DataFrame", "columns": self.encode(value.columns, f"{where}.columns"),
                    "index": self.encode(value.index, f"{where}.index"),
                    "data": [self._values(value.iloc[:, i], f"{where}[{i}]") for i in range(value.shape[1])]}
        if type(value) is pd.Series:
            return {TAG: "Series", "values": self._values(value, where),
                    "index": self.encode(value.index, f"{where}.index"), "name": self.encode(value.name, where)}
        if type(value) is pd.RangeIndex:
            return {TAG: "RangeIndex", "start": int(value.start), "stop": int(value.stop), "step": int(value.step),
                    "name": self.encode(value.name, where)}
        if type(value) is pd.MultiIndex:
            return {TAG: "MultiIndex", "levels": [self.encode(level, f"{where}.levels") for level in value.levels],
                    "codes": [self._ndarray(np.asarray(c), f"{where}.codes") for c in value.codes],
                    "names": [self.encode(n, where) for n in value.names]}
        if type(value) in (pd.Index, pd.CategoricalIndex):
            return {TAG: "Index", "values": self._values(value, where), "name": self.encode(value.name, where)}
        raise StateError(f"{where} is a {_type_name(value)}, which cannot be saved")

    def _values(self, values: pd.Series | pd.Index, where: str) -> dict:
        """The values of a column or an index, with their dtype."""
        dtype = values.dtype
        if isinstance(dtype, np.dtype):
            return self._ndarray(values.to_numpy(copy=True), where)
        if isinstance(dtype, pd.CategoricalDtype):
            return {TAG: "Categorical", "categories": self.encode(dtype.categories, f"{where}.categories"),
                    "ordered": bool(dtype.ordered), "codes": self._ndarray(np.array(values.array.codes), where)}
        items = [self.encode(v, f"{where}[{i}]") for i, v in enumerate(values.to_numpy(dtype=object))]
        if isinstance(dtype, pd.StringDtype):
            return {TAG: "StringArray", "storage": dtype.storage, "na": "NA" if dtype.na_value is pd.NA else "nan",
                    "items": items}
        if str(dtype) in _EXTENSION_DTYPES:
            return {TAG: "ExtensionArray", "dtype": str(dtype), "items": items}
        raise StateError(f"{where}: pandas dtype {dtype} cannot be saved")


# --------------------------------------------------------------------------- reading
class Decoder:
    """Rebuilds what ``Encoder`` wrote from its tree and ``arrays``; tensors go to ``device``
    (numpy arrays stay in memory)."""

    def __init__(self, arrays: dict[str, torch.Tensor], device: str | torch.device = "cpu"):
        self.arrays = arrays
        self.device = torch.device(device)
        self._objects: dict[int, Any] = {}
        self._numpy: dict[str, np.ndarray] = {}
        self._tensors: dict[str, torch.Tensor] = {}
        self._readers: dict[str, Callable[[dict], Any]] = {
            "float": self._float, "scalar": self._scalar, "ndarray": self._ndarray, "tensor": self._tensor,
            "module": self._module, "object": self._object, "ref": self._ref, "tuple": self._items(tuple),
            "set": self._items(set), "frozenset": self._items(frozenset), "dict": self._dict(dict),
            "odict": self._dict(OrderedDict), "path": lambda t: Path(str(t["value"])), "device": self._device,
            "torch_dtype": self._torch_dtype, "numpy_dtype": lambda t: self._dtype(t["value"], "biuf"),
            "NA": lambda t: pd.NA, "DataFrame": self._frame, "Series": self._series, "Index": self._index,
            "RangeIndex": self._range_index, "MultiIndex": self._multi_index, "Categorical": self._categorical,
            "StringArray": self._string_array, "ExtensionArray": self._extension_array,
        }

    def decode(self, tree: Any) -> Any:
        if tree is None or type(tree) in (bool, int, float, str):
            return tree
        if type(tree) is list:
            return [self.decode(v) for v in tree]
        if type(tree) is not dict:
            raise StateError(f"unexpected {type(tree).__name__} in the saved tree")
        if TAG not in tree:
            return {k: self.decode(v) for k, v in tree.items()}
        reader = self._readers.get(tree[TAG]) if isinstance(tree[TAG], str) else None
        if reader is None:
            raise StateError(f"unknown entry {tree[TAG]!r} in the saved tree")
        try:
            return reader(tree)
        except StateError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as exc:
            raise StateError(f"a {tree[TAG]} entry cannot be rebuilt ({type(exc).__name__}: {exc})") from None

    # -- values
    @staticmethod
    def _float(tree: dict) -> float:
        if tree["value"] not in _NON_FINITE:
            raise StateError(f"bad float {tree['value']!r}")
        return _NON_FINITE[tree["value"]]

    @staticmethod
    def _dtype(text: str, kinds: str) -> np.dtype:
        dtype = np.dtype(str(text))
        if dtype.kind not in kinds or (dtype.kind == "f" and dtype.itemsize > 8):
            raise StateError(f"dtype {text!r} is not one a saved object holds")
        return dtype

    def _scalar(self, tree: dict):
        return self._dtype(tree["dtype"], "biufU").type(self.decode(tree["value"]))

    def _array(self, name: str) -> torch.Tensor:
        if not isinstance(name, str) or name not in self.arrays:
            raise StateError(f"array {name!r} is missing from the file")
        return self.arrays[name]

    def _ndarray(self, tree: dict) -> np.ndarray:
        if "array" not in tree:
            dtype = self._dtype(tree["dtype"], "UO")
            shape = tuple(int(n) for n in tree["shape"])
            items = [self.decode(v) for v in tree["items"]]
            if dtype.kind == "U":
                return np.array(items, dtype=dtype).reshape(shape)
            out = np.empty(len(items), dtype=object)
            for i, v in enumerate(items):
                out[i] = v
            return out.reshape(shape)
        name = tree["array"]
        if name not in self._numpy:
            a = self._array(name).cpu().numpy()
            if "dtype" in tree:
                a = a.astype(self._dtype(tree["dtype"], "biuf"))
            if tree.get("order") == "F":
                a = np.asfortranarray(a)
            self._numpy[name] = a
        return self._numpy[name]

    def _tensor(self, tree: dict) -> torch.Tensor:
        name = tree["array"]
        if name not in self._tensors:
            t = self._array(name).to(self.device)
            if tree.get("parameter"):
                t = torch.nn.Parameter(t, requires_grad=bool(tree.get("requires_grad")))
            elif tree.get("requires_grad"):
                t.requires_grad_(True)
            self._tensors[name] = t
        return self._tensors[name]

    def _device(self, tree: dict) -> torch.device:
        return torch.device(str(tree["value"]))

    @staticmethod
    def _torch_dtype(tree: dict) -> torch.dtype:
        dtype = getattr(torch, str(tree["value"]), None) if _QUALNAME.match(str(tree["value"])) else None
        if not isinstance(dtype, torch.dtype):
            raise StateError(f"unknown torch dtype {tree['value']!r}")
        return dtype

    def _items(self, kind: type) -> Callable[[dict], Any]:
        return lambda tree: kind(self.decode(v) for v in tree["items"])

    def _dict(self, kind: type) -> Callable[[dict], Any]:
        return lambda tree: kind((self.decode(k), self.decode(v)) for k, v in tree["items"])

    # -- objects
    def _register(self, tree: dict, obj: Any) -> None:
        if not isinstance(tree.get("id"), int) or tree["id"] in self._objects:
            raise StateError("an object of the saved tree has no number of its own")
        self._objects[tree["id"]] = obj

    def _ref(self, tree: dict) -> Any:
        if tree.get("id") not in self._objects:
            raise StateError(f"reference to object {tree.get('id')!r}, which comes nowhere before it")
        return self._objects[tree["id"]]

    def _attributes(self, tree: dict, where: str) -> dict:
        state = self.decode(tree["state"])
        if not isinstance(state, dict) or not all(type(k) is str for k in state):
            raise StateError(f"the attributes of {where} are not a dict")
        return state

    def _object(self, tree: dict) -> Any:
        cls = resolve_class(tree["class"])
        if issubclass(cls, torch.nn.Module):
            raise StateError(f"{tree['class']} is a torch module written as a plain object")
        obj = cls.__new__(cls)
        self._register(tree, obj)  # before its attributes: they may refer back to it
        state = self._attributes(tree, tree["class"])
        if cls.__module__.startswith("sklearn."):
            obj.__setstate__(state)  # scikit-learn's own: checks the version it was fitted with
        else:
            obj.__dict__.update(state)
        return obj

    def _module(self, tree: dict) -> torch.nn.Module:
        cls = resolve_class(tree["class"])
        if not (issubclass(cls, torch.nn.Module) and callable(getattr(cls, "constructor_arguments", None))):
            raise StateError(f"{tree['class']} is not an asdlib network with constructor_arguments()")
        arguments = self.decode(tree["arguments"])
        if not isinstance(arguments, dict) or not all(type(k) is str for k in arguments):
            raise StateError(f"the constructor arguments of {tree['class']} are not a dict")
        with torch.random.fork_rng(devices=[]):  # the initial weights are replaced; the global RNG is left alone
            module = cls(**arguments)
        state = {key: self._array(name) for key, name in tree["state"].items()}
        module.load_state_dict(state, strict=True, assign=True)
        training = bool(tree["training"])
        module.train(training)
        for name in tree.get("other_mode", []):
            module.get_submodule(name).training = not training
        module.to(self.device)
        self._register(tree, module)
        return module

    # -- pandas
    def _index(self, tree: dict) -> pd.Index:
        values = self.decode(tree["values"])
        return pd.Index(values, dtype=values.dtype, name=self.decode(tree["name"]), copy=False)

    def _range_index(self, tree: dict) -> pd.RangeIndex:
        return pd.RangeIndex(int(tree["start"]), int(tree["stop"]), int(tree["step"]), name=self.decode(tree["name"]))

    def _multi_index(self, tree: dict) -> pd.MultiIndex:
        return pd.MultiIndex(levels=[self.decode(v) for v in tree["levels"]], codes=[self.decode(c) for c in tree["codes"]],
                             names=[self.decode(n) for n in tree["names"]])

    def _series(self, tree: dict) -> pd.Series:
        values = self.decode(tree["values"])
        return pd.Series(values, index=self.decode(tree["index"]), dtype=values.dtype, name=self.decode(tree["name"]),
                         copy=False)

    def _frame(self, tree: dict) -> pd.DataFrame:
        index, columns = self.decode(tree["index"]), self.decode(tree["columns"])
        data = [self.decode(c) for c in tree["data"]]
        if len(data) != len(columns):
            raise StateError(f"a table of {len(columns)} columns holds {len(data)}")
        frame = pd.DataFrame({i: pd.Series(c, index=index, dtype=c.dtype, copy=False) for i, c in enumerate(data)},
                             index=index)
        frame.columns = columns
        return frame

    def _categorical(self, tree: dict) -> pd.Categorical:
        dtype = pd.CategoricalDtype(self.decode(tree["categories"]), ordered=bool(tree["ordered"]))
        return pd.Categorical.from_codes(self.decode(tree["codes"]), dtype=dtype)

    def _string_array(self, tree: dict):
        if tree["storage"] not in ("python", "pyarrow") or tree["na"] not in ("NA", "nan"):
            raise StateError(f"unknown string storage {tree['storage']!r} / {tree['na']!r}")
        dtype = pd.StringDtype(tree["storage"], na_value=pd.NA if tree["na"] == "NA" else np.nan)
        return pd.array([self.decode(v) for v in tree["items"]], dtype=dtype)

    def _extension_array(self, tree: dict):
        if tree["dtype"] not in _EXTENSION_DTYPES:
            raise StateError(f"unknown pandas dtype {tree['dtype']!r}")
        return pd.array([self.decode(v) for v in tree["items"]], dtype=tree["dtype"])
