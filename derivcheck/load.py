"""Stage 1: a YAML file -> ``Derivation``, with a file position on every error.

ruamel.yaml is used because it keeps the line and column of every key and
value, so an error in an expression can point at its character in the file.
Tags and aliases are refused before anything is built from the document.
"""

from __future__ import annotations

import contextlib
import dataclasses
import keyword
import os
import re
import stat
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent
from ruamel.yaml.parser import RoundTripParser

from derivcheck import yaml_fast
from derivcheck.engine.shapes import ShapeInference, derivative_shape
from derivcheck.errors import ExprError, InputError, ShapeError, Unsupported
from derivcheck.ir import E
from derivcheck.model import (
    EXPECT_VALUES,
    IMPLIES,
    KINDS,
    LAYOUTS,
    PREDICATES,
    Conventions,
    Definition,
    Derivation,
    Expr,
    Loc,
    Step,
    Symbol,
)
from derivcheck.parse.bound import BoundIndices
from derivcheck.parse.expr import FUNCTIONS, Scope, _did_you_mean, parse_expression, split_claim
from derivcheck.parse.latex import (
    LatexError,
    LatexNames,
    LatexScope,
    latex_form,
    latex_forms,
    latex_name_key,
    read_latex_noting,
    split_latex_equation,
)
from derivcheck.printer import to_text
from derivcheck.schema.validate import first_problem

MAX_FILE_BYTES = 1_000_000
MAX_YAML_DEPTH = 100
MAX_STEPS = 2000
MAX_DIM_NAMES = 12
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_PRED = re.compile(r"\s*(\w+)\s*\(\s*([A-Za-z][A-Za-z0-9_]*)\s*\)\s*\Z")
RESERVED = frozenset(FUNCTIONS) | {"T", "e", "pi"} | frozenset(keyword.kwlist) | frozenset(
    keyword.softkwlist)
# a derivation file with a rubric: is an answer key, which verify does not read
KEY_HINT = ("this is an answer key: check it with 'derivcheck grade --check-key KEY' "
            "(its model answer and rubric), grade with 'derivcheck grade KEY SUBMISSIONS...'")
TOP_KEYS = ("title", "source", "symbols", "conventions", "assume", "define", "steps")
STEP_KEYS = ("id", "claim", "chain", "latex", "expect", "note", "layout", "points")
# A submission takes its symbols, definitions, conventions and assumptions from
# the answer key; it may declare symbols and definitions of its own (new names).
SUBMISSION_KEYS = ("title", "symbols", "define", "steps")
MAX_POINTS = 1e6


def load_file(path: str | Path, *, second_reader: bool = False) -> Derivation:
    """Read and parse a derivation file.

    ``second_reader``: also read each LaTeX expression with latex2sympy2 and note
    where its reading differs (``parse/latex_l2s.py``; never changes a verdict).

    Raises:
        InputError: the file cannot be read or is not a valid derivation.
    """
    text = read_text(path)
    return load_text(text, str(path), second_reader=second_reader)


def load_text(text: str, path: str = "<input>", *, second_reader: bool = False) -> Derivation:
    """Parse derivation YAML given as text (``path`` is used in messages)."""
    return _Loader(text, path).load(second_reader=second_reader)


def read_text(path: str | Path) -> str:
    """The text of an input file, with the size, type and encoding checks of ``load_file``.

    Raises:
        InputError: not a readable regular UTF-8 file within the size limit.
    """
    path_s = str(path)
    try:
        info = os.stat(path)  # follows a symbolic link to its target
        if not stat.S_ISREG(info.st_mode):
            raise InputError("not a regular file", path_s,
                             hint="give a derivation file (.yaml) or a folder of them")
        if info.st_size > MAX_FILE_BYTES:
            raise InputError(f"file too large ({info.st_size} bytes, limit {MAX_FILE_BYTES})",
                             path_s, hint="split the derivation into several files")
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", path_s,
                         hint="check the path") from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"file too large (over {MAX_FILE_BYTES} bytes)", path_s,
                         hint="split the derivation into several files")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path_s,
                         hint="save the file as UTF-8") from None


def load_submission_text(text: str, key: Derivation, path: str = "<submission>") -> Derivation:
    """Parse a submission: steps (and new symbols or definitions) over an answer key.

    The key's symbols, definitions, conventions and assumptions apply; a
    submission cannot redeclare them (nor add assumptions or conventions).
    """
    return _Loader(text, path, base=key).load()


def read_latex_in(derivation: Derivation, text: str,
                  layout: str | None = None) -> tuple[E, dict[str, str]]:
    """Read one LaTeX expression (no ``=``) as a step of ``derivation`` would be read.

    The scope is the derivation's: its symbols and their LaTeX names, definitions,
    dimensions, conventions and summation indices.  ``layout``: the step's layout
    (default: the derivation's convention).

    Returns:
        The expression, and the summation indices an engine needs for it: the
        derivation's, with any undeclared one this text sums over (``derivation.bound``
        is left as it was).

    Raises:
        LatexError: the text cannot be read (with the offset in ``text``).
    """
    loader = _Loader("", derivation.path, base=derivation)
    loader.__dict__["_declared_latex"] = dict(derivation.latex_names)
    loader._relu_at_zero = derivation.conventions.relu_prime_at_zero
    loader.conv = derivation.conventions
    symbols, dims = dict(derivation.symbols), list(derivation.dims)
    loader.defined_names |= {d.name for d in derivation.definitions}
    bound = loader.bound = loader.bound_indices(symbols, dims)
    for d in derivation.definitions:
        loader._note_def_shape(symbols, d.name, d.expr)
    scope = loader.expr_scope(symbols, frozenset(loader.defined_names), dims)
    reader = loader.latex_scope(scope, layout or derivation.conventions.layout)
    node, _notes = read_latex_noting(text, reader)
    return node, {**derivation.bound, **bound.inferred}


class _Refused(Exception):
    def __init__(self, event: Any) -> None:
        super().__init__("refused YAML event")
        self.event = event


class _RefusingParser(RoundTripParser):
    """Refuses tags and aliases as each event is produced, before anything is built
    from the document (one pass over the text; no second parse just for the check)."""

    @property
    def current_event(self) -> Any:
        return self._current

    @current_event.setter
    def current_event(self, event: Any) -> None:
        if event is not None and (
                isinstance(event, AliasEvent) or getattr(event, "anchor", None)
                or (isinstance(event, (ScalarEvent, SequenceStartEvent, MappingStartEvent))
                    and getattr(event, "tag", None))):
            raise _Refused(event)
        self._current = event


def safe_yaml(text: str, path: str) -> Any:
    """``text`` read as round-trip YAML (keeping positions), as a derivation file is:
    nesting bounded, tags and aliases refused.

    Raises:
        InputError: not valid YAML, or a tag or an alias in it.
    """
    return _Loader(text, path).parse()


class _Loader:
    def __init__(self, text: str, path: str, base: Derivation | None = None,
                 extra_keys: tuple[str, ...] = ()) -> None:
        self.text = text
        self.path = path
        self.lines = text.splitlines()
        self.base = base
        self.extra_keys = extra_keys
        self.doc: Any = None
        self.scope: Scope | None = None
        self.conv = Conventions()
        self.step_errors: list[tuple[str, str]] = []
        self.warnings: list[str] = []
        self.second: list[tuple[Expr, Any]] | None = None  # (expression, Prepared)
        self.bound: BoundIndices | None = None  # summation indices inferred (parse/bound.py)
        self.defined_names: set[str] = set()

    # -- errors -----------------------------------------------------------
    def error(self, message: str, line0: int = -1, col0: int = -1, hint: str = "",
              context: str = "") -> InputError:
        src = self.lines[line0] if 0 <= line0 < len(self.lines) else ""
        return InputError(message, self.path, line0 + 1 if line0 >= 0 else 0,
                          col0 + 1 if col0 >= 0 else 0, hint, src, context)

    def key_error(self, mapping: Any, key: Any, message: str, hint: str = "",
                  context: str = "") -> InputError:
        line, col = _key_pos(mapping, key)
        return self.error(message, line, col, hint, context)

    def value_error(self, mapping: Any, key: Any, message: str, hint: str = "",
                    context: str = "") -> InputError:
        line, col = _value_pos(mapping, key)
        return self.error(message, line, col, hint, context)

    # -- stages -----------------------------------------------------------
    def parse(self) -> Any:
        """The text as round-trip YAML: nesting bounded, tags and aliases refused as the
        events are read, every string valid Unicode.

        The plain YAML of almost every file is read by ``yaml_fast`` (libyaml, the same
        tree and positions); ruamel.yaml's pure-Python reader reads the rest, and gives
        every error."""
        self.refuse_deep_nesting()
        fast = yaml_fast.load(self.text, MAX_YAML_DEPTH)
        if fast is not None:
            return fast
        yaml = YAML(typ="rt", pure=True)
        yaml.Parser = _RefusingParser
        try:
            doc = yaml.load(self.text)
        except _Refused as exc:
            raise self.refusal(exc.event) from None
        except MarkedYAMLError as exc:
            mark = exc.problem_mark
            raise self.error(f"YAML error: {exc.problem}", mark.line if mark else -1,
                             mark.column if mark else -1) from None
        except (YAMLError, RecursionError, ValueError) as exc:
            raise self.error(f"YAML error: {exc}") from None
        self.refuse_bad_text(doc)
        return doc

    def load(self, *, second_reader: bool = False) -> Derivation:
        self.second = [] if second_reader else None
        doc = self.parse()
        base = self.base
        if not isinstance(doc, dict):
            what = ("a submission is a YAML mapping (steps: ...)" if base else
                    "a derivation file is a YAML mapping (title:, symbols:, steps: ...)")
            raise self.error(what, 0, 0)
        self.doc = doc
        self.check_schema(doc)
        allowed = (SUBMISSION_KEYS if base else TOP_KEYS) + self.extra_keys
        for key in doc:
            if key not in allowed:
                hint = f"the keys are: {', '.join(allowed)}"
                if base and key in TOP_KEYS:
                    raise self.key_error(doc, key, f"'{key}' comes from the answer key: a "
                                         "submission cannot set it", hint)
                if key == "rubric" and not base:
                    hint = KEY_HINT
                raise self.key_error(doc, key, f"unknown key '{key}'", hint)
        for key in (("steps",) if base else ("title", "symbols", "steps")):
            if key not in doc:
                raise self.error(f"missing '{key}:'", 0, 0, "see docs/format.md for the layout")
        if base is None:
            title = self.string(doc, "title")
            source = self.string(doc, "source") if "source" in doc else None
            symbols, dims = self.symbols(doc)
            conventions = self.conventions(doc)
            self._relu_at_zero = conventions.relu_prime_at_zero
            assumptions = self.assumptions(doc, symbols)
            self.bound = self.bound_indices(symbols, dims)
            definitions = self.definitions(doc, symbols, dims)
        else:
            title = self.string(doc, "title") if "title" in doc else Path(self.path).stem
            source = base.source
            self.__dict__["_declared_latex"] = dict(base.latex_names)
            symbols, dims = (self.symbols(doc, base.symbols, list(base.dims)) if "symbols" in doc
                             else (dict(base.symbols), list(base.dims)))
            conventions = base.conventions
            self._relu_at_zero = conventions.relu_prime_at_zero
            assumptions = base.assumptions
            self.defined_names |= {d.name for d in base.definitions}
            self.bound = self.bound_indices(symbols, dims)
            for d in base.definitions:
                self._note_def_shape(symbols, d.name, d.expr)
            definitions = base.definitions + self.definitions(doc, symbols, dims,
                                                              base.definitions)
        self.conv = conventions
        scope = self.expr_scope(symbols, frozenset(d.name for d in definitions), dims)
        self.scope = scope
        steps = self.steps(doc, scope, conventions)
        if self.second:
            steps = _with_second_reading(steps, self.second)
        return Derivation(self.path, title, source, symbols, tuple(dims), conventions,
                          definitions, steps, assumptions,
                          dict(self.__dict__.get("_declared_latex", {})),
                          tuple(self.step_errors), tuple(self.warnings),
                          dict(self.bound.inferred))

    def bound_indices(self, symbols: dict[str, Symbol], dims: list[str]) -> BoundIndices:
        """The file's undeclared summation indices (an answer key's come first)."""
        ranges = {n: s.dims[0] for n, s in symbols.items() if s.is_index}
        inherited = dict(self.base.bound) if self.base is not None else {}
        ranges.update(inherited)
        defined = self.defined_names

        def taken(name: str) -> bool:
            return name in symbols or name in dims or name in defined or name in RESERVED

        return BoundIndices(ranges, taken, inherited)

    def expr_scope(self, symbols: dict[str, Symbol], defined: frozenset[str],
                   dims: list[str]) -> Scope:
        """What an expression of the syntax may use, with what a sum over an undeclared
        index needs to infer its range (the shapes of what it subscripts)."""
        assert self.bound is not None
        symbol_shapes = {n: s.shape for n, s in symbols.items() if not s.is_index}
        inference = ShapeInference(symbol_shapes, self.bound.ranges,
                                   self.__dict__.setdefault("_def_shapes", {}))
        return Scope(symbols, defined, frozenset(dims), self.bound, inference.of)

    def check_schema(self, doc: Any) -> None:
        """The shipped JSON Schema's check (what an editor shows), before the loader's own.

        A submission's step is left to ``steps``, which refuses it alone and grades the rest.
        """
        name = "submission" if self.base else "key" if "rubric" in self.extra_keys else \
            "derivation"
        found = first_problem(doc, name, skip_steps=self.base is not None)
        if found is not None:
            hint = found.hint
            if name == "derivation" and found.message == "unknown key 'rubric'":
                hint = KEY_HINT
            raise self.error(found.message, found.line, found.col, hint, found.context)

    def refuse_deep_nesting(self) -> None:
        """YAML flow collections nested deeper than ``MAX_YAML_DEPTH`` are refused
        before the YAML reader sees them (its time grows with the square of the depth)."""
        depth = 0
        for k, ch in enumerate(self.text):
            if ch in "[{":
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    line = self.text.count("\n", 0, k)
                    col = k - (self.text.rfind("\n", 0, k) + 1)
                    raise self.error(f"brackets nested too deeply (over {MAX_YAML_DEPTH})", line,
                                     col, "a derivation file needs only shallow nesting")
            elif ch in "]}":
                depth = max(0, depth - 1)

    def refuse_bad_text(self, node: Any, depth: int = 0) -> None:
        """Every string must be valid Unicode text (no lone surrogates from YAML escapes)."""
        items: list[Any]
        if isinstance(node, dict):
            items = [*node.keys(), *node.values()]
        elif isinstance(node, list):
            items = list(node)
        else:
            items = [node]
        for item in items:
            if isinstance(item, str):
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError as exc:
                    raise self.error(f"invalid Unicode in {item[:40]!r} (a lone surrogate, "
                                     f"position {exc.start})", hint="remove the \\u escape of "
                                     "a surrogate (D800-DFFF)") from None
            elif isinstance(item, (dict, list)) and item is not node:
                self.refuse_bad_text(item, depth + 1)

    def refusal(self, event: Any) -> InputError:
        """The error for an event that carries an anchor, an alias or a tag."""
        mark = event.start_mark
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
            return self.error("YAML anchors and aliases (&, *) are not allowed",
                              mark.line, mark.column, "write the value out in full")
        return self.error(f"YAML tag '{event.tag}' is not allowed", mark.line, mark.column,
                          "remove the tag: values are plain strings, lists and mappings")

    def string(self, mapping: Any, key: str, context: str = "") -> str:
        value = mapping[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise self.value_error(mapping, key, f"'{key}' must be a string", context=context)
        return str(value)

    def symbols(self, doc: Any, given: dict[str, Symbol] | None = None,
                given_dims: list[str] | None = None) -> tuple[dict[str, Symbol], list[str]]:
        """The ``symbols:`` table; ``given`` (an answer key's) come first and stay as they are."""
        table = doc["symbols"]
        if not isinstance(table, dict) or not table:
            raise self.value_error(doc, "symbols", "'symbols' must map names to kinds",
                                   "e.g. symbols: {x: vector D, W: matrix H D}")
        symbols: dict[str, Symbol] = dict(given or {})
        dims: list[str] = list(given_dims or [])
        taken = set(symbols) | set(dims)
        if self.base is not None:
            taken |= {d.name for d in self.base.definitions}
        for name, spec in table.items():
            name = str(name)
            if not _NAME.match(name) or name in RESERVED:
                raise self.key_error(table, name, f"'{name}' cannot be a symbol name",
                                     "use a letter followed by letters, digits or _, and not a "
                                     "function name")
            if self.base is not None and name in self.base.bound:
                raise self.key_error(table, name, f"'{name}' is a summation index of the "
                                     "answer key (not declared there, its range inferred)",
                                     "use another name")
            if name in taken:
                raise self.key_error(table, name, f"'{name}' is already declared in the "
                                     "answer key", "use the key's declaration, or another name")
            if isinstance(spec, dict):
                if "kind" not in spec:
                    raise self.value_error(table, name, f"symbol '{name}': missing 'kind'")
                for key in spec:
                    if key not in ("kind", "latex"):
                        raise self.key_error(spec, key, f"unknown symbol key '{key}'",
                                             "a symbol has 'kind' and, optionally, 'latex'")
                if "latex" in spec:
                    if not _latex_declaration(spec["latex"]):
                        raise self.value_error(spec, "latex", "'latex' is a LaTeX name such as "
                                               "'W_2', '\\mathbf{W}_2', 'W^{(1)}' or "
                                               "'\\hat{y}', or a fixed form such as "
                                               "'\\mathcal{L}(\\theta)'")
                    self.__dict__.setdefault("_declared_latex", {})[name] = spec["latex"]
                spec = spec["kind"]
            if not isinstance(spec, str):
                raise self.value_error(table, name, f"symbol '{name}': the kind must be a string "
                                       "like 'matrix H D'")
            words = spec.split()
            if not words or words[0] not in KINDS:
                word = words[0] if words else ""
                raise self.value_error(table, name, f"unknown kind '{word}'"
                                       f"{_did_you_mean(word, list(KINDS))}",
                                       f"kinds: {', '.join(KINDS)}")
            kind = words[0]
            n_dims, constraints = KINDS[kind]
            if len(words) - 1 != n_dims:
                raise self.value_error(table, name, f"kind '{kind}' takes {n_dims} dimension"
                                       f"{'s' if n_dims != 1 else ''}, got {len(words) - 1}",
                                       f"e.g. {name}: {kind} {' '.join('KHD'[:n_dims])}".rstrip())
            for d in words[1:]:
                if not _NAME.match(d) or d in RESERVED:
                    why = " (a reserved name: T is the transpose)" if d == "T" else \
                        " (a reserved name)" if d in RESERVED else ""
                    raise self.value_error(table, name, f"'{d}' cannot be a dimension name{why}",
                                           "dimensions are names such as K, H, D, N "
                                           "(for a sequence length, e.g. L or n_T)")
                if d not in dims:
                    dims.append(d)
            shape = _shape_of(kind, tuple(words[1:]))
            line, col = _key_pos(table, name)
            symbols[name] = Symbol(name, kind, tuple(words[1:]), shape, constraints,
                                   Loc(self.path, line + 1, col + 1))
        clash = set(symbols) & set(dims)
        if given:
            clash |= set(table) & set(dims)
        if clash:
            name = sorted(clash)[0]
            raise self.key_error(table, name, f"'{name}' is both a symbol and a dimension",
                                 "rename one of them")
        if len(dims) > MAX_DIM_NAMES:
            raise self.value_error(doc, "symbols", f"too many dimension names ({len(dims)}, "
                                   f"limit {MAX_DIM_NAMES})")
        return symbols, dims

    def conventions(self, doc: Any) -> Conventions:
        conv = doc.get("conventions") or {}
        if not isinstance(conv, dict):
            raise self.value_error(doc, "conventions", "'conventions' must be a mapping",
                                   "e.g. conventions: {layout: gradient, relu_prime_at_zero: 0}")
        layout = "gradient"
        at_zero = 0
        base: int | None = None  # not declared
        for key, value in conv.items():
            if key == "layout":
                if value not in LAYOUTS:
                    raise self.value_error(conv, key, f"unknown layout '{value}'",
                                           f"layouts: {', '.join(LAYOUTS)}")
                layout = str(value)
            elif key == "relu_prime_at_zero":
                if value not in (0, 1) or isinstance(value, bool):
                    raise self.value_error(conv, key, "relu_prime_at_zero must be 0 or 1")
                at_zero = int(value)
            elif key == "latex_index_base":
                if value not in (0, 1) or isinstance(value, bool):
                    raise self.value_error(conv, key, "latex_index_base must be 0 or 1",
                                           "1: x_1 is the first entry of x in LaTeX")
                base = int(value)
            else:
                raise self.key_error(conv, key, f"unknown convention '{key}'",
                                     "conventions: layout, relu_prime_at_zero, "
                                     "latex_index_base")
        return Conventions(layout, at_zero, base)

    def assumptions(self, doc: Any, symbols: dict[str, Symbol]) -> tuple[str, ...]:
        items = doc.get("assume") or []
        if not isinstance(items, list):
            raise self.value_error(doc, "assume", "'assume' must be a list of predicates",
                                   "e.g. assume: [is_onehot(y)]")
        out = []
        for i, item in enumerate(items):
            line, col = _item_pos(items, i)
            m = _PRED.match(item) if isinstance(item, str) else None
            if not m or m.group(1) not in PREDICATES:
                raise self.error(f"unknown assumption {item!r}", line, col,
                                 f"predicates: {', '.join(p + '(name)' for p in PREDICATES)}")
            pred, name = m.groups()
            sym = symbols.get(name)
            if sym is None or sym.is_index:
                raise self.error(f"{pred}({name}): '{name}' is not a declared symbol", line, col)
            tag, applies = PREDICATES[pred]
            cls = _shape_class(sym)
            if cls not in applies and not (cls in ("matrix",) and "square" in applies
                                           and sym.shape[0] == sym.shape[1]):
                raise self.error(f"{pred}({name}) does not apply to a {sym.describe()}", line, col)
            symbols[name] = Symbol(sym.name, sym.kind, sym.dims, sym.shape,
                                   _close(sym.constraints | {tag}), sym.loc)
            out.append(f"{pred}({name})")
        for name, sym in symbols.items():
            symbols[name] = Symbol(sym.name, sym.kind, sym.dims, sym.shape,
                                   _close(sym.constraints), sym.loc)
        return tuple(out)

    def definitions(self, doc: Any, symbols: dict[str, Symbol], dims: list[str],
                    given: tuple[Definition, ...] = ()) -> tuple[Definition, ...]:
        table = doc.get("define") or {}
        if not isinstance(table, dict):
            raise self.value_error(doc, "define", "'define' must map names to expressions",
                                   "e.g. define: {z: W @ x + b}")
        out: list[Definition] = []
        defined: set[str] = {d.name for d in given}
        for name, text in table.items():
            name = str(name)
            if not _NAME.match(name) or name in RESERVED:
                raise self.key_error(table, name, f"'{name}' cannot be a defined name")
            if name in defined and any(d.name == name for d in given):
                raise self.key_error(table, name, f"'{name}' is already defined in the answer "
                                     "key", "use the key's definition, or another name")
            if name in symbols or name in dims:
                raise self.key_error(table, name, f"'{name}' is already declared as a "
                                     f"{'symbol' if name in symbols else 'dimension'}",
                                     "give the definition another name")
            assert self.bound is not None
            if name in self.bound.inferred:
                raise self.key_error(table, name, f"'{name}' is a summation index above (not "
                                     "declared, its range inferred)",
                                     "give the definition another name")
            scope = self.expr_scope(symbols, frozenset(defined), dims)
            container, key = table, name
            if isinstance(text, dict):  # {expr: ..., latex: ...}
                self.definition_latex(table, name, text)
                container, key, text = text, "expr", text["expr"]
            node = self.expression(container, key, text, scope, f"define {name}")
            line, col = _key_pos(table, name)
            out.append(Definition(name, node.node, node.text, Loc(self.path, line + 1, col + 1)))
            defined.add(name)
            self.defined_names.add(name)
            self._note_def_shape(symbols, name, node.node)
        return tuple(out)

    def definition_latex(self, table: Any, name: str, spec: dict) -> None:
        """A definition written ``{expr: ..., latex: ...}``: its LaTeX name, as a symbol's."""
        if "expr" not in spec:
            raise self.value_error(table, name, "expected an expression (a string), or "
                                   "{expr:, latex:}: missing 'expr'",
                                   "e.g. z1: {expr: W1 @ x + b1, latex: 'z^{(1)}'}")
        for key in spec:
            if key not in ("expr", "latex"):
                raise self.key_error(spec, key, f"unknown definition key '{key}'",
                                     "a definition is an expression, or {expr:, latex:}")
        if "latex" in spec:
            if not _latex_declaration(spec["latex"]):
                raise self.value_error(spec, "latex", "'latex' is a LaTeX name such as "
                                       "'z^{(1)}', '\\bar{x}' or '\\hat{y}', or a fixed form "
                                       "such as 'D_{\\mathrm{KL}}(p \\| q)'")
            self.__dict__.setdefault("_declared_latex", {})[name] = spec["latex"]

    def _note_def_shape(self, symbols: dict[str, Symbol], name: str, node: E) -> None:
        """Shapes of definitions, so that LaTeX can tell a matrix product from a product.

        A shape error is left to the engine, which reports it with the definition.
        """
        shapes = self.__dict__.setdefault("_def_shapes", {})
        symbol_shapes = {n: s.shape for n, s in symbols.items() if not s.is_index}
        ranges = {n: s.dims[0] for n, s in symbols.items() if s.is_index}
        if self.bound is not None:
            ranges.update(self.bound.ranges)
        with contextlib.suppress(ShapeError, Unsupported, KeyError):
            shapes[name] = ShapeInference(symbol_shapes, ranges, shapes).of(node)

    def expression(self, container: Any, key: Any, text: Any, scope: Scope, context: str,
                   offset: int = 0, is_item: bool = False) -> Expr:
        line, col = _item_pos(container, key) if is_item else _value_pos(container, key)
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            text = str(text)
        if not isinstance(text, str):
            raise self.error("expected an expression (a string)", line, col, context=context)
        try:
            node = parse_expression(text[offset:] if offset else text, scope)
        except ExprError as exc:
            l1, c1 = self.locate(line, col, text, offset + exc.offset)
            raise self.error(exc.message, l1, c1, exc.hint, context) from None
        l1, c1 = self.locate(line, col, text, offset + _lead_len(text[offset:]))
        return Expr(node, text[offset:].strip() if offset else text.strip(),
                    Loc(self.path, l1 + 1, c1 + 1))

    def locate(self, line: int, col: int, value: str, offset: int) -> tuple[int, int]:
        """The file position (0-based) of character ``offset`` of a scalar ``value``.

        The scalar starts at (``line``, ``col``).  Its characters are matched, in
        order, against the source text, which handles quotes, escapes in double
        quotes, block scalars (``|``, ``>``) and values folded over several lines.
        """
        starts = self._line_starts()
        if not 0 <= line < len(self.lines):
            return line, col
        raw = self.text
        r = starts[line] + col
        style = raw[r] if r < len(raw) else " "
        if style in "'\"":
            r += 1
        elif style in "|>":
            nl = raw.find("\n", r)
            r = len(raw) if nl < 0 else nl + 1
        target = min(offset, len(value))
        pos = r
        for k, ch in enumerate(value[:target + 1]):
            found = self._match(raw, r, ch, style)
            if found is None:
                return line, col + offset + (1 if style in "'\"" else 0)
            pos, r = found
            if k == target:
                break
        if target >= len(value):  # just past the end of the value
            pos = r
        line_no = max(i for i, st in enumerate(starts) if st <= pos)
        return line_no, pos - starts[line_no]

    @staticmethod
    def _match(raw: str, r: int, ch: str, style: str) -> tuple[int, int] | None:
        """Where the source produces ``ch`` from index ``r`` on: (its index, next index)."""
        escapes = {"t": "\t", "n": "\n", "\\": "\\", '"': '"', "/": "/", " ": " ", "0": "\0"}
        while r < len(raw):
            rc = raw[r]
            if style == '"' and rc == "\\" and r + 1 < len(raw):
                produced = escapes.get(raw[r + 1])
                if produced == ch:
                    return r, r + 2
                r += 2
                continue
            if style == "'" and rc == "'" and raw[r + 1:r + 2] == "'" and ch == "'":
                return r, r + 2
            if rc == ch or (ch == " " and rc == "\n"):
                return r, r + 1
            r += 1
        return None

    def _line_starts(self) -> list[int]:
        starts = [0]
        for text_line in self.text.splitlines(keepends=True):
            starts.append(starts[-1] + len(text_line))
        return starts

    def steps(self, doc: Any, scope: Scope, conventions: Conventions) -> tuple[Step, ...]:
        items = doc["steps"]
        if self.base is not None and isinstance(items, list) and not items:
            return ()  # a submission with no steps: graded, every item missing
        if not isinstance(items, list) or not items:
            raise self.value_error(doc, "steps", "'steps' must be a non-empty list of steps",
                                   "e.g. steps: [{id: s1, claim: 'd(L)/d(z) = a - y'}]")
        if len(items) > MAX_STEPS:
            raise self.value_error(doc, "steps",
                                   f"too many steps ({len(items)}, limit {MAX_STEPS})")
        seen: dict[str, int] = {}
        out = []
        for i, item in enumerate(items):
            if self.base is None:
                out.append(self.one_step(items, i, item, seen, scope, conventions))
                continue
            sid = item.get("id") if isinstance(item, dict) else None
            label = sid if isinstance(sid, str) and sid not in seen else f"#{i + 1}"
            try:  # a submission: one unreadable step does not stop the others
                out.append(self.one_step(items, i, item, seen, scope, conventions))
            except InputError as exc:
                self.step_errors.append((label, exc.format()))
        return tuple(out)

    def one_step(self, items: Any, i: int, item: Any, seen: dict[str, int], scope: Scope,
                 conventions: Conventions) -> Step:
        line, col = _item_pos(items, i)
        if not isinstance(item, dict):
            raise self.error("a step is a mapping with 'id' and 'claim' or 'chain'", line, col)
        for key in item:
            if key not in STEP_KEYS:
                raise self.key_error(item, key, f"unknown step key '{key}'",
                                     f"step keys: {', '.join(STEP_KEYS)}")
        if "id" not in item:
            raise self.error("step without an 'id'", line, col, "add id: a_short_name")
        sid = self.string(item, "id")
        if sid in seen and self.base is not None:
            sid = self._renamed(items, item, sid, seen)
        elif sid in seen:
            raise self.value_error(item, "id", f"duplicate step id '{sid}'",
                                   f"first used on line {seen[sid]}")
        seen[sid] = _value_pos(item, "id")[0] + 1
        ctx = f"step {sid}"
        return self.step(item, sid, scope, conventions, ctx, line, col)

    def _renamed(self, items: Any, item: Any, sid: str, seen: dict[str, int]) -> str:
        """A submission's repeated step id, renamed (``s1-2``, the first id free in the
        file), with a warning: a student who writes a step again is correcting it, and
        the last statement of an item is the answer."""
        taken = set(seen) | {i.get("id") for i in items if isinstance(i, dict)}
        n = 2
        while f"{sid}-{n}" in taken:
            n += 1
        new = f"{sid}-{n}"
        line = _value_pos(item, "id")[0] + 1
        self.warnings.append(f"{self.path}:{line}: step id '{sid}' is used again (first on "
                             f"line {seen[sid]}): this step is read as '{new}'; where "
                             "both state a result, the later one is the answer")
        return new

    def step(self, item: Any, sid: str, scope: Scope, conventions: Conventions, ctx: str,
             line: int, col: int) -> Step:
        has_claim, has_chain = "claim" in item, "chain" in item
        if has_claim and has_chain:
            raise self.error("a step has either 'claim' or 'chain', not both", line, col,
                             context=ctx)
        if not (has_claim or has_chain or "latex" in item):
            raise self.error("a step needs 'claim', 'chain' or 'latex'", line, col, context=ctx)
        layout = conventions.layout
        if "layout" in item:
            layout = str(item["layout"])
            if layout not in LAYOUTS:
                raise self.value_error(item, "layout", f"unknown layout '{layout}'",
                                       f"layouts: {', '.join(LAYOUTS)}", ctx)
        latex = self.latex_step(item, scope, layout, ctx) if "latex" in item else None
        if not (has_claim or has_chain):
            assert latex is not None
            exprs_only = latex
            expect = self.expect(item, len(exprs_only) - 1, ctx)
            note = str(item.get("note") or "")
            return Step(sid, "claim" if len(exprs_only) == 2 else "chain", exprs_only, expect,
                        note, layout, Loc(self.path, line + 1, col + 1), latex,
                        self.points(item, ctx))
        if has_claim:
            text = item["claim"]
            if not isinstance(text, str):
                raise self.value_error(item, "claim", "a claim is a string 'lhs = rhs'",
                                       context=ctx)
            try:
                lhs, _lo, _rhs, ro = split_claim(text)
            except ExprError as exc:
                l0, c0 = _value_pos(item, "claim")
                l1, c1 = self.locate(l0, c0, text, exc.offset)
                raise self.error(exc.message, l1, c1, exc.hint, ctx) from None
            exprs: tuple[Expr, ...] = (
                self.expression(item, "claim", text[:len(lhs)], scope, ctx),
                self.expression(item, "claim", text, scope, ctx, offset=ro))
            form = "claim"
        else:
            chain = item["chain"]
            if not isinstance(chain, list) or len(chain) < 2:
                raise self.value_error(item, "chain", "a chain is a list of at least two "
                                       "expressions", context=ctx)
            exprs = tuple(self.expression(chain, k, t, scope, f"{ctx}, chain item {k}",
                                          is_item=True) for k, t in enumerate(chain))
            form = "chain"
        expect = self.expect(item, len(exprs) - 1, ctx)
        note = str(item.get("note") or "")
        if latex is not None and len(latex) != len(exprs):
            raise self.value_error(item, "latex", f"the LaTeX form has {len(latex)} expressions, "
                                   f"the {form} {len(exprs)}", "write the same equalities in "
                                   "both forms", ctx)
        return Step(sid, form, exprs, expect, note, layout, Loc(self.path, line + 1, col + 1),
                    latex, self.points(item, ctx))

    def points(self, item: Any, ctx: str, key: str = "points") -> float | None:
        """A number of points: ``points: 2`` or ``0.5`` (not negative, not huge)."""
        if key not in item:
            return None
        value = item[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.value_error(item, key, f"'{key}' must be a number", "e.g. points: 2",
                                   ctx)
        if not 0 <= value <= MAX_POINTS:  # also refuses NaN
            raise self.value_error(item, key, f"'{key}' must be between 0 and {MAX_POINTS:g}",
                                   context=ctx)
        return float(value)

    # -- LaTeX -------------------------------------------------------------------
    def latex_step(self, item: Any, scope: Scope, layout: str, ctx: str) -> tuple[Expr, ...]:
        """The step's ``latex:``: ``'lhs = rhs'``, ``'e0 = e1 = ...'`` or a list of expressions."""
        value = item["latex"]
        reader_scope = self.latex_scope(scope, layout)
        if isinstance(value, str):
            sides = split_latex_equation(value)
            if len(sides) < 2:
                raise self.value_error(item, "latex", "a LaTeX step is 'lhs = rhs' (or a chain "
                                       "e0 = e1 = ...)", "or give a list of expressions", ctx)
            return tuple(self.latex_expression(item, "latex", value, text, offset,
                                               reader_scope, ctx, False)
                         for text, offset in sides)
        if not isinstance(value, list) or len(value) < 2:
            raise self.value_error(item, "latex", "'latex' is a string or a list of at least "
                                   "two strings", context=ctx)
        out = []
        for k, text in enumerate(value):
            if not isinstance(text, str):
                raise self.error("a LaTeX chain item is a string", *_item_pos(value, k),
                                 context=ctx)
            out.append(self.latex_expression(value, k, text, text, 0, reader_scope,
                                             f"{ctx}, latex item {k}", True))
        return tuple(out)

    def latex_expression(self, container: Any, key: Any, whole: str, text: str, offset: int,
                         reader_scope: LatexScope, context: str, is_item: bool) -> Expr:
        line, col = _item_pos(container, key) if is_item else _value_pos(container, key)
        try:
            node, notes = read_latex_noting(text, reader_scope)
        except LatexError as exc:
            l1, c1 = self.locate(line, col, whole, offset + exc.offset)
            raise self.error(f"LaTeX: {exc.message}", l1, c1, exc.hint, context) from None
        l1, c1 = self.locate(line, col, whole, offset + _lead_len(text))
        expr = Expr(node, to_text(node), Loc(self.path, l1 + 1, c1 + 1), latex=text.strip(),
                    reading=notes)
        if self.second is not None:
            from derivcheck.parse.latex_l2s import prepare

            self.second.append((expr, prepare(text, node, reader_scope)))
        return expr

    def latex_scope(self, scope: Scope, layout: str) -> LatexScope:
        cached = self.__dict__.setdefault("_latex_scopes", {})
        if layout in cached:
            return cached[layout]  # type: ignore[no-any-return]
        kinds: dict[str, str] = {n: ("idx" if s.is_index else "sym")
                                 for n, s in scope.symbols.items()}
        kinds.update(dict.fromkeys(scope.defined, "ref"))
        kinds.update(dict.fromkeys(scope.dims, "dim"))
        names = LatexNames.build(list(kinds), self.__dict__.get("_declared_latex", {}))
        shapes = self.__dict__.get("_def_shapes", {})
        symbol_shapes = {n: s.shape for n, s in scope.symbols.items() if not s.is_index}
        assert self.bound is not None
        ranges = self.bound.ranges  # one table for every layout: inferred indices join it
        inference = ShapeInference(symbol_shapes, ranges, shapes,
                                   lambda node: derivative_shape(node, layout, inference.of))
        at_zero = self.__dict__.get("_relu_at_zero", 0)
        forms = latex_forms(self.__dict__.get("_declared_latex", {}))
        cached[layout] = LatexScope(names, kinds, inference.of, ranges, at_zero, self.bound,
                                    self.conv.latex_index_base, forms)
        return cached[layout]  # type: ignore[no-any-return]

    def expect(self, item: Any, n_links: int, ctx: str) -> tuple[str, ...] | None:
        if "expect" not in item:
            return None
        value = item["expect"]
        values = list(value) if isinstance(value, list) else [value] * n_links
        if len(values) != n_links:
            raise self.value_error(item, "expect", f"'expect' has {len(values)} values for "
                                   f"{n_links} link{'s' if n_links != 1 else ''}",
                                   "give one value, or one per chain link", ctx)
        for v in values:
            if v not in EXPECT_VALUES:
                raise self.value_error(item, "expect", f"unknown expected verdict '{v}'",
                                       f"values: {', '.join(EXPECT_VALUES)}", ctx)
        return tuple(str(v) for v in values)


def _with_second_reading(steps: tuple[Step, ...], pending: list[tuple[Expr, Any]]
                         ) -> tuple[Step, ...]:
    """The steps with latex2sympy2's second reading of each LaTeX expression: its
    status, and a ``reading`` note where it disagrees (one child process per file)."""
    from derivcheck.parse.latex_l2s import check_all

    found = check_all([p for _, p in pending])
    new = {id(e): dataclasses.replace(e, second_reader=r.status,
                                      reading=e.reading + ((r.note,) if r.note else ()))
           for (e, _), r in zip(pending, found)}

    def swap(exprs: tuple[Expr, ...]) -> tuple[Expr, ...]:
        return tuple(new.get(id(e), e) for e in exprs)

    return tuple(dataclasses.replace(s, exprs=swap(s.exprs),
                                     latex=None if s.latex is None else swap(s.latex))
                 for s in steps)


def _latex_declaration(latex: object) -> bool:
    """A declared ``latex:``: a LaTeX name, or a fixed form (``parse/latex.latex_form``)."""
    return isinstance(latex, str) and (latex_name_key(latex) is not None or
                                       latex_form(latex) is not None)


def _lead_len(text: str) -> int:
    return len(text) - len(text.lstrip())


def _shape_of(kind: str, dims: tuple[str, ...]) -> tuple:
    if kind in ("scalar", "posscalar", "unitscalar", "index"):
        return ()
    if kind in ("vector", "posvector", "prob", "onehot", "multihot", "binary"):
        return (dims[0], 1)
    if kind in ("symmatrix", "spdmatrix", "invmatrix"):
        return (dims[0], dims[0])
    return (dims[0], dims[1])


def _shape_class(sym: Symbol) -> str:
    if sym.shape == ():
        return "scalar"
    if sym.shape[1] == 1:
        return "vector"
    return "matrix"


def _close(tags: frozenset[str]) -> frozenset[str]:
    out = set(tags)
    changed = True
    while changed:
        changed = False
        for tag in list(out):
            extra = IMPLIES.get(tag, frozenset()) - out
            if extra:
                out |= extra
                changed = True
    return frozenset(out)


def _key_pos(mapping: Any, key: Any) -> tuple[int, int]:
    try:
        line, col = mapping.lc.key(key)
        return line, col
    except (AttributeError, KeyError, TypeError):
        return _node_pos(mapping)


def _value_pos(mapping: Any, key: Any) -> tuple[int, int]:
    try:
        line, col = mapping.lc.value(key)
        return line, col
    except (AttributeError, KeyError, TypeError):
        return _key_pos(mapping, key)


def _item_pos(seq: Any, index: int) -> tuple[int, int]:
    try:
        line, col = seq.lc.item(index)
        return line, col
    except (AttributeError, KeyError, TypeError, IndexError):
        return _node_pos(seq)


def _node_pos(node: Any) -> tuple[int, int]:
    try:
        return node.lc.line, node.lc.col
    except AttributeError:
        return -1, -1
