"""YAML text -> the tree ruamel.yaml's round-trip loader gives, with its positions, fast.

ruamel.yaml's pure-Python loader took about 7 of the 10 ms a submission's loading
takes.  Here libyaml (PyYAML's C parser, when installed) produces the parse
events, and the tree is built from them with the positions ruamel.yaml records
(``.lc.key``, ``.lc.value``, ``.lc.item``, ``.lc.line``, ``.lc.col``), scalars
resolved and constructed by ruamel.yaml's own YAML 1.2 resolver and constructor.

Only a plain subset of YAML is read this way; anything else gives ``None`` and the
caller reads the text with ruamel.yaml, which also owns every error message: a
parse error, a tag, an anchor or alias, a directive, several documents, a
complex or repeated key, a merge key, an empty value, nesting deeper than the bound, a character
that is not printable (or a line break other than ``\\n``), a string that is not
valid Unicode.  Nothing is constructed from a tag: every value is a string, a
number, a boolean, null, a list or a mapping.
"""

from __future__ import annotations

from typing import Any

try:  # PyYAML with libyaml; without it every text takes ruamel.yaml's path
    import yaml as _pyyaml

    _CLoader: Any = _pyyaml.CSafeLoader if _pyyaml.__with_libyaml__ else None
except ImportError:  # pragma: no cover - PyYAML is optional
    _CLoader = None

from ruamel.yaml import YAML
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

STR_TAG = "tag:yaml.org,2002:str"
# plain scalars other than strings, constructed as ruamel.yaml constructs them
_CONSTRUCTED = frozenset(f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float"))
_SIMPLE = frozenset(chr(c) for c in range(0x20, 0x7F)) | {"\n"}


class _LC:
    """Positions as ruamel.yaml's ``LineCol`` gives them (0-based line, column)."""

    __slots__ = ("col", "data", "line")

    def __init__(self, line: int, col: int) -> None:
        self.line = line
        self.col = col
        self.data: dict[Any, list[int]] = {}

    def key(self, k: Any) -> tuple[int, int]:
        d = self.data[k]
        return d[0], d[1]

    def value(self, k: Any) -> tuple[int, int]:
        d = self.data[k]
        return d[2], d[3]

    def item(self, idx: int) -> tuple[int, int]:
        d = self.data[idx]
        return d[0], d[1]


class PosMap(dict):  # type: ignore[type-arg]
    """A mapping with the positions of its keys and values (``lc``)."""

    __slots__ = ("lc",)
    lc: _LC


class PosSeq(list):  # type: ignore[type-arg]
    """A sequence with the positions of its items (``lc``)."""

    __slots__ = ("lc",)
    lc: _LC


class _Unsupported(Exception):
    """Outside the subset read here: the caller uses ruamel.yaml."""


_YAML = YAML(typ="rt", pure=True)


def _scalar(event: Any) -> Any:
    style = event.style
    value = event.value
    if style in ("'", '"'):
        return value
    if style == "|":
        return LiteralScalarString(value)
    if style == ">":
        return FoldedScalarString(value)
    if value == "":  # an empty value: ruamel.yaml places it elsewhere than libyaml does
        raise _Unsupported
    tag = _YAML.resolver.resolve(ScalarNode, value, (True, False))
    name = str(getattr(tag, "value", tag))
    if name == STR_TAG:
        return value
    if name not in _CONSTRUCTED:  # a merge key, a timestamp...: ruamel.yaml's own path
        raise _Unsupported
    mark = event.start_mark
    node = ScalarNode(tag, value, mark, event.end_mark, style=style or None)
    return _YAML.constructor.construct_object(node, deep=True)


def load(text: str, max_depth: int) -> Any:
    """The document, as ruamel.yaml's round-trip loader reads it; ``None`` if ``text``
    is outside the subset read here (then read it with ruamel.yaml).

    A document that is empty (null) also gives ``None``: ruamel.yaml says so too.
    """
    if _CLoader is None or not (_SIMPLE.issuperset(text) or _printable_text(text)):
        return None
    try:
        return _build(text, max_depth)
    except (_Unsupported, _pyyaml.YAMLError, RecursionError, ValueError, TypeError):
        return None


def _printable_text(text: str) -> bool:
    """Letters beyond ASCII are fine (libyaml counts columns in characters, as Python
    does); line breaks other than ``\\n``, tabs, controls, a BOM are left to ruamel."""
    for ch in set(text):
        o = ord(ch)
        if o < 0x20 and ch != "\n":
            return False
        if 0x7F <= o < 0xA0 or ch in "\u2028\u2029\ufeff\ufffe\uffff" \
                or 0xD800 <= o < 0xE000:
            return False
    return True


def _build(text: str, max_depth: int) -> Any:
    events = _pyyaml.parse(text, Loader=_CLoader)
    stack: list[Any] = []  # open containers
    keys: list[Any] = []  # per open mapping: the key waiting for its value, or _NO_KEY
    root: Any = None
    documents = 0
    for ev in events:
        kind = type(ev).__name__
        if kind == "ScalarEvent":
            if ev.anchor is not None or ev.tag is not None:
                raise _Unsupported
            value = _scalar(ev)
            if stack:
                _add(stack, keys, value, ev)
            else:
                root = value  # a document that is one scalar
        elif kind in ("MappingStartEvent", "SequenceStartEvent"):
            if ev.anchor is not None or ev.tag is not None:
                raise _Unsupported
            if len(stack) >= max_depth:
                raise _Unsupported
            node: Any = PosMap() if kind == "MappingStartEvent" else PosSeq()
            node.lc = _LC(ev.start_mark.line, ev.start_mark.column)
            if stack:
                _add(stack, keys, node, ev)
            else:
                root = node
            stack.append(node)
            keys.append(_NO_KEY)
        elif kind in ("MappingEndEvent", "SequenceEndEvent"):
            stack.pop()
            keys.pop()
        elif kind == "DocumentStartEvent":
            documents += 1
            if documents > 1 or ev.version is not None or ev.tags:
                raise _Unsupported
        elif kind == "AliasEvent":
            raise _Unsupported
    _valid_unicode(root)
    return root


class _NoKey:
    pass


_NO_KEY = _NoKey()


def _add(stack: list[Any], keys: list[Any], value: Any, ev: Any) -> None:
    top = stack[-1]
    mark = ev.start_mark
    if isinstance(top, PosSeq):
        top.lc.data[len(top)] = [mark.line, mark.column]
        top.append(value)
        return
    pending = keys[-1]
    if pending is _NO_KEY:  # ``value`` is a key
        if isinstance(value, (PosMap, PosSeq)) or (not ev.style and ev.value == "<<"):
            raise _Unsupported  # a complex key, a merge key
        try:
            repeated = value in top
        except TypeError:
            raise _Unsupported from None
        if repeated:
            raise _Unsupported  # ruamel.yaml refuses a repeated key, with its position
        keys[-1] = (value, mark.line, mark.column)
        return
    key, line, col = pending
    top.lc.data[key] = [line, col, mark.line, mark.column]
    top[key] = value
    keys[-1] = _NO_KEY


def _valid_unicode(node: Any) -> None:
    """Every string encodable (no lone surrogate from an escape); else ruamel decides."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, str):
            try:
                n.encode("utf-8")
            except UnicodeEncodeError:
                raise _Unsupported from None
        elif isinstance(n, dict):
            stack.extend(n.keys())
            stack.extend(n.values())
        elif isinstance(n, list):
            stack.extend(n)
