"""Pydantic models of the API's answers, made from the result dataclasses themselves, so
that ``/openapi.json`` says what each route returns: the keys
:func:`minerwatch.serialize.to_jsonable` writes for the result's type, no other.

The rules follow the serializer's: a dataclass becomes an object with one required key per
field (renamed by :func:`~minerwatch.serialize.json_key`, left out by
:data:`~minerwatch.serialize.NOT_JSON`), no other key allowed; a
:class:`~minerwatch.serialize.Columns` dataclass a list of row objects (its array fields);
a float may be null (a missing value: NaN and infinities are written as null); ``dict``
an object of such values; ``list``, ``tuple`` and arrays lists; ``datetime64`` and paths
text. A field typed ``Any`` or an array of unknown element type is left open.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model

from minerwatch.serialize import JSON_KEY, Columns


def _namespace(cls: type) -> dict[str, Any]:
    """Names a result class's annotations may use: its module's, and those of every
    minerwatch module loaded (names imported under ``TYPE_CHECKING`` only)."""
    names: dict[str, Any] = {}
    for name, module in list(sys.modules.items()):
        if name.startswith("minerwatch.") and module is not None:
            names.update(
                (k, v) for k, v in vars(module).items() if isinstance(v, type) and k[:1].isupper()
            )
    names.update(vars(sys.modules[cls.__module__]))
    return names


def _json_type(tp: Any) -> Any:
    """The pydantic type of a value annotated ``tp`` once serialized."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any or tp is object:
        return Any
    if tp is type(None) or tp is None:
        return None
    if tp is float:
        return float | None  # NaN and infinities are written as null
    if tp is bool or tp is int or tp is str:
        return tp
    if origin is Literal:
        return tp
    if origin is Union or origin is types.UnionType:
        return Union[tuple(_json_type(a) for a in args)]  # noqa: UP007
    if origin is dict or origin is Mapping:
        value = _json_type(args[1]) if len(args) == 2 else Any
        return dict[str, value]  # type: ignore[valid-type]
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return list[_json_type(args[0])]  # type: ignore[misc]
        items = tuple(_json_type(a) for a in args)
        return list[Union[items]] if items else list[Any]  # type: ignore[valid-type]  # noqa: UP007
    if origin is list or origin is Sequence:
        return list[_json_type(args[0])] if args else list[Any]  # type: ignore[misc]
    if tp is np.ndarray or origin is np.ndarray:
        return list[Any]
    if tp is np.datetime64 or tp is Path:
        return str | None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if issubclass(tp, Columns):
            return list[model_of(tp)]  # type: ignore[misc]
        return model_of(tp)
    return Any


_MODELS: dict[type, type[BaseModel]] = {}


def model_of(cls: type) -> type[BaseModel]:
    """The pydantic model of the JSON of a result dataclass ``cls`` (see the module
    docstring); for a :class:`~minerwatch.serialize.Columns` dataclass, of one row. Made
    once per class."""
    if cls not in _MODELS:
        _MODELS[cls] = _make_model(cls)
    return _MODELS[cls]


def _make_model(cls: type) -> type[BaseModel]:
    hints = typing.get_type_hints(cls, localns=_namespace(cls))
    fields: dict[str, Any] = {}
    for i, field in enumerate(dataclasses.fields(cls)):
        key = field.metadata.get(JSON_KEY, field.name)
        tp = hints[field.name]
        if key is None:
            continue
        if issubclass(cls, Columns):
            if not (tp is np.ndarray or typing.get_origin(tp) is np.ndarray):
                continue  # a scalar beside the table: not in a row
            tp = Any
        fields[f"f{i}"] = (_json_type(tp), Field(alias=key))
    doc = (cls.__doc__ or "").strip().split("\n\n")[0]
    return create_model(  # type: ignore[call-overload,no-any-return]
        cls.__name__,
        __config__=ConfigDict(extra="forbid", populate_by_name=True),
        __doc__=" ".join(doc.split()) or None,
        **fields,
    )


def answer_model(cls: type) -> Any:
    """What a route answers for a result of type ``cls``: its model, or for a
    :class:`~minerwatch.serialize.Columns` result the list of its rows."""
    return list[model_of(cls)] if issubclass(cls, Columns) else model_of(cls)  # type: ignore[misc]
