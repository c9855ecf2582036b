"""Frozen dataclass configs <-> plain dicts / YAML, so runs record and resume their exact config.

Only what our configs use is supported: nested dataclasses, tuples, Paths, Optionals, Literals
and scalars. Unknown keys are an error naming the key, so a typo in a YAML file never passes
silently.
"""

from __future__ import annotations

import dataclasses
import reprlib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from splatdream.errors import one_line

T = TypeVar("T")

#: The most values a config file may expand to. The largest real config holds a few hundred; YAML aliases
#: can make a 1 KB file expand to billions (a "billion laughs"), which would fill memory before any check.
MAX_VALUES = 20_000

_short = reprlib.Repr()
_short.maxlevel, _short.maxlist, _short.maxtuple, _short.maxdict, _short.maxstring, _short.maxother = (
    2,
    4,
    4,
    4,
    60,
    60,
)


def short(value: Any) -> str:
    """A bounded repr for messages: a value from a config file can be arbitrarily large."""
    return _short.repr(value)


def expanded_size(data: Any, limit: int = MAX_VALUES) -> int:
    """How many values ``data`` holds once every shared (aliased) node is written out; stops past ``limit``.

    Counted over the object graph with one memo entry per node, so the count itself costs one visit per
    distinct node, however large the expansion.
    """
    memo: dict[int, int] = {}

    def size(x: Any, depth: int) -> int:
        if depth > 100:  # deeper than any config; also stops recursive (self-referencing) aliases
            return limit + 1
        key = id(x)
        if key in memo:
            return memo[key]
        memo[key] = limit + 1  # a cycle back to x counts as too big
        if isinstance(x, dict):
            n = 1 + sum(min(size(k, depth + 1) + size(v, depth + 1), limit + 1) for k, v in x.items())
        elif isinstance(x, list | tuple):
            n = 1 + sum(min(size(v, depth + 1), limit + 1) for v in x)
        else:
            n = 1
        memo[key] = min(n, limit + 1)
        return memo[key]

    return size(data, 0)


def to_dict(cfg: Any) -> Any:
    """Dataclass -> nested dict of YAML-safe values."""
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, (tuple, list)):
        return [to_dict(v) for v in cfg]
    if isinstance(cfg, Path):
        return str(cfg)
    if isinstance(cfg, dict):
        return {k: to_dict(v) for k, v in cfg.items()}
    return cfg


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _convert(args[0], value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, where)
            except (TypeError, ValueError):
                continue
        raise ValueError(f"{where}: {short(value)} fits none of {tp}")
    if origin is typing.Literal:
        if value not in args:
            raise ValueError(f"{where}: {short(value)} is not one of {args}")
        return value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected a mapping, got {short(value)}")
        return from_dict(tp, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where}: expected a list, got {short(value)}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, where) for v in value)
        if len(args) != len(value):
            raise ValueError(f"{where}: expected {len(args)} values, got {len(value)}")
        return tuple(_convert(a, v, where) for a, v in zip(args, value, strict=True))
    if origin in (dict,):
        return dict(value)
    if tp is Path:
        return Path(value)
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp in (int, str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise ValueError(f"{where}: expected {tp.__name__}, got {short(value)}")
        return value
    if tp is Any:
        return value
    return value


def from_dict(cls: type[T], data: dict[str, Any], where: str = "config") -> T:
    """Nested dict -> dataclass ``cls``; missing keys keep the class defaults."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; valid keys: {sorted(names)}")
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}") for k, v in data.items()}
    return cls(**kwargs)


def merge(cfg: T, overrides: dict[str, Any]) -> T:
    """A copy of ``cfg`` with a (nested) dict of overrides applied."""
    base = to_dict(cfg)

    def deep(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        out = dict(a)
        for k, v in b.items():
            out[k] = deep(a[k], v) if isinstance(v, dict) and isinstance(a.get(k), dict) else v
        return out

    return from_dict(type(cfg), deep(base, overrides))


def dump_yaml(cfg: Any) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


#: The largest config file read (a real one is a few KB).
MAX_CONFIG_BYTES = 1 << 20


def load_yaml(cls: type[T], path: Path) -> T:
    """Read a YAML config into ``cls``: bounded in size, in alias expansion and in what an error message prints."""
    path = Path(path)
    if path.exists() and not path.is_file():  # a folder, a FIFO (reading one would block forever)
        raise ValueError(f"config {path} is not a regular file; pass a .yaml file")
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ValueError(
                f"config {path} is over {MAX_CONFIG_BYTES >> 20} MiB; a config is a few KB of settings"
            )
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, RecursionError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read config {path}: {one_line(exc, 200)}") from None
    if not isinstance(data, dict):
        raise ValueError(f"config {path} is not a mapping of settings")
    if expanded_size(data) > MAX_VALUES:
        raise ValueError(
            f"config {path} expands to more than {MAX_VALUES:,} values (nested YAML aliases?); "
            "write the settings out, without '*' aliases"
        )
    return from_dict(cls, data, where=str(path))
