"""Python values in a run file: attributes, nested trees and parameters, both ways.

Scalars (bool, int, float, str) become HDF5 attributes (:func:`_encode_scalar`,
:func:`_decode_scalar`); ``None`` is not an attribute (an empty HDF5 attribute makes the
stock Tiled HDF5 adapter answer HTTP 500, and xarray cannot serve it): a tree's ``None``
keys are listed in its group's :data:`NULL_ATTRS` attribute (a JSON list) and a ``None``
parameter is the JSON dataset ``null``; empty attributes of older files still read as
``None``; JSON-like nested mappings (the truth of a simulated device,
analysis results) become groups of attributes and datasets (:func:`_write_tree`,
:func:`_read_tree`); a parameter is one dataset with ``units`` and ``label``
(:func:`_write_parameter`, :func:`_read_parameter`, :func:`_normalise_parameters`).
Keys are checked by :func:`_validate_key`. The layout is in ``acquisition/schema.md``.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import h5py
import numpy as np


#: Attribute of a tree group naming (as a JSON list) its keys whose value is ``None``.
NULL_ATTRS = "null_attrs"


def _validate_key(key: Any, where: str) -> str:
    key = str(key)
    if not key or "/" in key or key in (".", ".."):
        raise ValueError(f"{where} key {key!r} is not allowed: use a non-empty name without '/'")
    return key


def _encode_scalar(value: Any) -> Any:
    """Python/numpy scalar (not ``None``) → HDF5 attribute value, or ``None`` if not one."""
    if isinstance(value, (bool, np.bool_)):
        return np.bool_(value)
    if isinstance(value, (int, np.integer)):
        return np.int64(value)
    if isinstance(value, (float, np.floating)):
        return np.float64(value)
    if isinstance(value, str):
        return value
    return None


def _decode_scalar(value: Any) -> Any:
    if isinstance(value, h5py.Empty):
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, bytes):
        return value.decode()
    return value


def _write_tree(group: h5py.Group, mapping: Mapping[str, Any], where: str) -> None:
    """Store a JSON-like nested mapping: scalars as attributes, sequences as datasets."""
    nulls = []
    for raw_key, value in mapping.items():
        key = _validate_key(raw_key, where)
        if key == NULL_ATTRS:
            raise ValueError(f"{where} key {key!r} is reserved: use another name")
        if value is None:
            nulls.append(key)
            continue
        if isinstance(value, Mapping):
            _write_tree(group.create_group(key, track_order=True), value, f"{where}/{key}")
            continue
        scalar = _encode_scalar(value)
        if scalar is not None:
            group.attrs[key] = scalar
        elif isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            group.create_dataset(key, data=value).attrs["python_type"] = "ndarray"
        elif isinstance(value, (list, tuple)):
            arr = np.asarray(value) if _is_rectangular(value) else None
            if arr is not None and arr.dtype.kind in "biuf":
                ds = group.create_dataset(key, data=arr)
            elif arr is not None and arr.dtype.kind == "U" and arr.ndim == 1:
                ds = group.create_dataset(key, data=arr.astype(object),
                                          dtype=h5py.string_dtype())
            else:
                ds = group.create_dataset(key, data=json.dumps(value),
                                          dtype=h5py.string_dtype())
                ds.attrs["python_type"] = "json"
                continue
            ds.attrs["python_type"] = "list"
        else:
            raise ValueError(f"{where}/{key} has type {type(value).__name__}: allowed are "
                             "dict, str, int, float, bool, None, lists and numeric arrays")
    if nulls:
        group.attrs[NULL_ATTRS] = json.dumps(nulls)


def _is_rectangular(value: Sequence) -> bool:
    try:
        arr = np.asarray(value)
    except ValueError:  # ragged
        return False
    return arr.dtype != object


def _decode_attrs(attrs) -> dict[str, Any]:
    """A group's attributes as Python values, its :data:`NULL_ATTRS` keys as ``None``."""
    out = {k: _decode_scalar(v) for k, v in attrs.items() if k != NULL_ATTRS}
    if NULL_ATTRS in attrs:
        out.update(dict.fromkeys(json.loads(_decode_scalar(attrs[NULL_ATTRS]))))
    return out


def _read_tree(group: h5py.Group) -> dict[str, Any]:
    out: dict[str, Any] = _decode_attrs(group.attrs)
    for key, item in group.items():
        if isinstance(item, h5py.Group):
            out[key] = _read_tree(item)
            continue
        kind = item.attrs.get("python_type", "ndarray")
        if kind == "json":
            out[key] = json.loads(item.asstr()[()])
        elif item.dtype.kind == "O":
            out[key] = list(item.asstr()[()])
        elif kind == "list":
            out[key] = item[()].tolist()
        else:
            out[key] = item[()]
    return out


def _write_parameter(group: h5py.Group, name: str, value: Any, units: str, label: str) -> None:
    name = _validate_key(name, "parameter")
    scalar = None if value is None else _encode_scalar(value)
    if scalar is None:   # None, sequences, anything else: JSON (None → "null")
        if isinstance(value, (list, tuple, np.ndarray)) and _is_rectangular(value) \
                and np.asarray(value).dtype.kind in "biuf":
            ds = group.create_dataset(name, data=np.asarray(value))
            ds.attrs["python_type"] = "ndarray" if isinstance(value, np.ndarray) else "list"
        else:
            ds = group.create_dataset(name, data=json.dumps(value), dtype=h5py.string_dtype())
            ds.attrs["python_type"] = "json"
    elif isinstance(scalar, str):
        ds = group.create_dataset(name, data=scalar, dtype=h5py.string_dtype())
    else:
        ds = group.create_dataset(name, data=scalar)
    ds.attrs["units"] = units
    ds.attrs["label"] = label


def _read_parameter(ds: h5py.Dataset) -> Any:
    kind = ds.attrs.get("python_type", "")
    if kind == "json":
        return json.loads(ds.asstr()[()])
    if ds.dtype.kind == "O":
        return ds.asstr()[()]
    if kind == "list":
        return ds[()].tolist()
    if kind == "ndarray":
        return ds[()]
    return _decode_scalar(ds[()])


def _normalise_parameters(parameters: Mapping[str, Any]) -> dict[str, tuple[Any, str, str]]:
    out = {}
    for name, spec in parameters.items():
        if not isinstance(spec, tuple) or len(spec) not in (2, 3):
            raise ValueError(f"parameter {name!r} must be (value, units) or "
                             "(value, units, label)")
        value, units = spec[0], str(spec[1])
        label = str(spec[2]) if len(spec) == 3 else str(name)
        out[_validate_key(name, "parameter")] = (value, units, label)
    return out
