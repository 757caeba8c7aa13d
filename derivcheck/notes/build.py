"""Stage 2 of a document: its equations -> a derivation file (YAML) and a ``Derivation``.

The derivation is written as the YAML a person would write (``derivcheck
extract`` prints it, to correct and keep) and read by the ordinary loader, so a
document is held to every rule a derivation file is.  Each scalar of that YAML
remembers where it came from in the document, and every position the loader
reports (an input error, a step's line) is mapped back to the document.

How the document's equations become the derivation:

1. The declarations block (``document.py``), if any, gives symbols,
   conventions, assumptions and definitions, as in a derivation file.
2. An equation whose left side is a name not declared, and whose right side
   does not use it, defines that name (``z_1 = W_1 x + b_1``, ``L = -\\sum ...``);
   the rest of its chain, if any, is a step.  Definitions are read in the order
   their dependencies allow.
3. Every other equation is a step (a chain, as written).
4. A name that is neither declared nor defined is inferred from how it is
   written: ``V_{kj}`` a matrix over the ranges of ``k`` and ``j``, ``O_k`` a
   vector, ``s`` a scalar; an index letter ranges over the upper bound of a sum
   over it in the document (``\\sum_{k=1}^{K}``) or else over its capital.  Every
   inference is listed.  A name whose definition could not be read is not
   inferred: the equations using it are unread, with that reason.

What cannot be read is listed with the loader's message, at its place in the
document; nothing is dropped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from derivcheck.engine.core import Engine
from derivcheck.errors import InputError
from derivcheck.ir import free_indices
from derivcheck.load import RESERVED, load_text, safe_yaml
from derivcheck.model import Derivation, Expr, Loc, Step
from derivcheck.notes.document import Document, scan
from derivcheck.notes.equations import Equation, Unread, split_items
from derivcheck.notes.source import Src
from derivcheck.notes.vectorize import vectorize
from derivcheck.parse.latex import FUNCTIONS, latex_form, latex_name_key
from derivcheck.printer import to_text

MAX_INFERENCES = 40  # names inferred while reading one equation
DEFINITION_REPAIRS = 60  # OCR edits tried on an unread definition, most probable first
MAX_DEFINITION_TRIALS = 5  # of those that make it readable, re-reading the document
MAX_EQUATIONS = 2000  # equations read from one document; the rest are listed as not read
READ_SECONDS = 60.0  # the time to read one document (its definitions and steps)
DECLARATION_KEYS = ("title", "symbols", "conventions", "assume", "define")
_INDEX_LETTERS = "abcdhijklmnpqrstuv"
# a function the LaTeX reader knows, however it is written: \tr, \operatorname{tr},
# \mathrm{diag}, \text{softmax}, \max, \sigma, plain ``log``
_KNOWN_FUNCTION = re.compile(
    r"\\?(?:(?:operatorname|mathrm|text|textrm|mathop|rm)\s*\{\s*(?:" +
    "|".join(sorted({*FUNCTIONS, "sum", "mean", "max", "min", "ReLU", "Softmax", "sign"})) +
    r")\s*\}|(?:" + "|".join(sorted({*FUNCTIONS, "max", "min", "sigma"})) + r"))")
_WORDS = re.compile(r"\s*\\(?:text|textrm|mbox)\{([^{}$\\]{2,80})\}\s*")


@dataclass(frozen=True)
class Entry:
    """What became of one equation of the document."""

    line: int
    col: int
    kind: str  # "definition", "step" or "unread"
    name: str  # the step id, or the defined name
    text: str  # the equation as written (first 200 characters)
    reason: str = ""  # why it is unread (the loader's message, mapped to the document)
    notes: tuple[str, ...] = ()
    pieces: tuple[str, ...] = ()  # the chain's expressions as read (LaTeX), for repairs


@dataclass(frozen=True)
class Extraction:
    """A document read as a derivation: the YAML, the ``Derivation``, what became of
    every equation, and every inference made."""

    path: str
    yaml: str
    derivation: Derivation | None
    entries: tuple[Entry, ...]
    inferred: tuple[str, ...]
    error: InputError | None = None  # the declarations could not be read: nothing is
    kind: str = "markdown"  # how it was read: "markdown" or "latex"
    # the names inferred (neither declared nor defined), indices left out
    inferred_names: frozenset[str] = frozenset()

    @property
    def unread(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.kind == "unread")


@dataclass
class _Mark:
    line: int  # 0-based line of the generated YAML
    col: int  # 0-based column where the quoted scalar starts
    length: int
    origin: Src


@dataclass
class _Symbol:
    name: str
    spec: str
    latex: str
    why: str
    origin: Src


@dataclass
class _Def:
    name: str
    expr: str
    latex: str
    origin: Src
    note: str = ""


@dataclass
class _StepSpec:
    id: str
    pieces: tuple[Src, ...]
    note: str = ""


@dataclass
class _State:
    doc: Document
    declared: dict[str, Any]  # the declarations block, parsed (ruamel nodes)
    block_base: int  # document offset of the declarations text
    block_starts: list[int]
    symbols: dict[str, _Symbol] = field(default_factory=dict)
    definitions: list[_Def] = field(default_factory=list)
    index_dims: dict[str, str] = field(default_factory=dict)  # from sum bounds
    pending: dict[str, int] = field(default_factory=dict)  # defined name -> its line
    failed: dict[str, int] = field(default_factory=dict)  # definition unread -> its line
    deadline: float = field(default_factory=lambda: time.monotonic() + READ_SECONDS)
    equations: list[Equation] = field(default_factory=list)  # those read (MAX_EQUATIONS)
    repairs: bool = True  # propose OCR edits that make an unread definition readable
    counts: dict[str, int] = field(default_factory=dict)  # text -> equations read (repairs)
    given: dict[str, str] = field(default_factory=dict)  # index letter -> its description


def read_document(text: str, path: str, kind: str, *, repairs: bool = True) -> Extraction:
    """Read a Markdown (``kind="markdown"``) or LaTeX (``"latex"``) document.

    ``repairs``: for a definition that cannot be read, propose the OCR edits that make
    it readable (in the reason it is listed with; never read in its place).
    """
    doc = scan(text, path, kind)
    try:
        state = _state(doc)
    except InputError as exc:
        return Extraction(path, "", None, (), (), exc, kind)
    state.repairs = repairs
    items = split_items(doc.blocks)
    entries: list[Entry] = []
    for off, fence in doc.unclosed:
        line, col = doc.position(off)
        entries.append(Entry(line, col, "unread", "", fence,
                             f"{fence} opened here is never closed: nothing after it is read"))
    state.index_dims = _sum_bounds(items)
    equations = [it for it in items if isinstance(it, Equation)]
    for extra in equations[MAX_EQUATIONS:]:
        line, col = doc.position(extra.offset)
        entries.append(Entry(line, col, "unread", "", _shown(extra), f"not read: more than "
                             f"{MAX_EQUATIONS} equations in one document"))
    equations = equations[:MAX_EQUATIONS]
    state.equations = equations
    defs = _definition_candidates(state, equations)
    skip: set[int] = set()
    done = _read_definitions(state, defs, entries, skip)
    steps = _read_steps(state, equations, done, entries, skip)
    for it in items:
        if isinstance(it, Unread):
            line, col = doc.position(it.offset)
            entries.append(Entry(line, col, "unread", "", it.src.text[:200], it.reason))
    entries.sort(key=lambda e: (e.line, e.col))
    yaml, marks = _emit(state, steps)
    derivation = None
    if not steps:
        entries.append(Entry(0, 0, "unread", "", "", "no equation of the document could be "
                             "read as a step: nothing to check"))
        return Extraction(path, yaml, None, tuple(entries), _inferred(state), kind=kind,
                          inferred_names=_inferred_names(state))
    try:
        derivation = _relocate(load_text(yaml, path), marks, doc)
    except InputError as exc:  # each step was read alone; together they should be too
        entries.append(Entry(0, 0, "unread", "", "", _mapped(exc, marks, doc).format()))
    return Extraction(path, yaml, derivation, tuple(entries), _inferred(state),
                      kind=kind, inferred_names=_inferred_names(state))


def _inferred_names(state: _State) -> frozenset[str]:
    return frozenset(n for n, s in state.symbols.items()
                     if s.why and not s.spec.startswith("index"))


def _inferred(state: _State) -> tuple[str, ...]:
    return tuple(f"inferred: {s.name} {s.spec} ({s.why}, line "
                 f"{state.doc.position(s.origin.offset())[0]})" for s in state.symbols.values()
                 if s.why)


# -- the declarations block ---------------------------------------------------------
def _state(doc: Document) -> _State:
    decl = doc.declarations
    if decl is None:
        return _State(doc, {}, 0, [0])
    text = decl.text
    base = decl.offset
    if decl.style == "front-matter":
        text, base = _under_derivcheck(text, base)
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    try:
        parsed = safe_yaml(text, doc.path)
    except InputError as exc:
        raise _shift(exc, doc, base, starts) from None
    if parsed is None:
        parsed = {}
    state = _State(doc, parsed, base, starts)
    if not isinstance(parsed, dict):
        raise _block_error(state, None, None, "the derivcheck block is a YAML mapping "
                           "(symbols:, define:, ...)")
    for key in parsed:
        if key not in DECLARATION_KEYS:
            raise _block_error(state, parsed, key, f"unknown key '{key}' in the derivcheck "
                               f"block (it has: {', '.join(DECLARATION_KEYS)})", at_key=True)
    return state


def _under_derivcheck(text: str, base: int) -> tuple[str, int]:
    """The mapping under ``derivcheck:`` in a front matter, dedented (columns shift)."""
    m = re.search(r"^derivcheck:[ \t]*\n((?:[ \t]+.*\n?|\s*\n)*)", text, re.M)
    if not m:
        return "", base
    body = m.group(1)
    indent = min((len(ln) - len(ln.lstrip()) for ln in body.splitlines() if ln.strip()),
                 default=0)
    # keep the columns: the indentation is replaced, not removed, by blanking a prefix
    lines = [ln[indent:] if ln.strip() else "" for ln in body.splitlines()]
    # a dedented line k starts ``indent`` characters later in the document
    return "\n".join(lines) + "\n", base + m.start(1) + indent


def _block_offset(state: _State, line: int, col: int) -> int:
    if 0 <= line < len(state.block_starts):
        return state.block_base + state.block_starts[line] + max(col, 0)
    return state.block_base


def _shift(exc: InputError, doc: Document, base: int, starts: list[int]) -> InputError:
    if exc.line:
        k = exc.line - 1
        off = base + (starts[k] if k < len(starts) else 0) + max(exc.col - 1, 0)
    else:
        off = base
    line, col = doc.position(off)
    return replace(exc, path=doc.path, line=line, col=col, source_line=doc.line_text(line),
                   context="derivcheck block" + (f", {exc.context}" if exc.context else ""))


def _block_error(state: _State, mapping: Any, key: Any, message: str, *,
                 at_key: bool = False) -> InputError:
    line, col = 0, 0
    if mapping is not None and hasattr(mapping, "lc"):
        with contextlib.suppress(KeyError, TypeError):
            line, col = (mapping.lc.key(key) if at_key else mapping.lc.value(key))
    off = _block_offset(state, line, col)
    dl, dc = state.doc.position(off)
    return InputError(message, state.doc.path, dl, dc, "", state.doc.line_text(dl),
                      "derivcheck block")


def _node_origin(state: _State, mapping: Any, key: Any, text: str) -> Src:
    """Where the value of ``mapping[key]`` is in the document (a quote skipped)."""
    try:
        line, col = mapping.lc.value(key)
    except (AttributeError, KeyError, TypeError):
        line, col = 0, 0
    off = _block_offset(state, line, col)
    raw = state.doc.text[off:off + 1]
    if raw in ("'", '"'):
        off += 1
    return Src.at(text, off)


# -- what the document's equations define ---------------------------------------------
def _sum_bounds(items: tuple[Any, ...]) -> dict[str, str]:
    """Index letter -> the dimension an upper bound of a sum over it names."""
    found: dict[str, str] = {}
    pat = re.compile(r"\\sum_\{?\s*([a-z])\s*=\s*[01]\s*\}?\s*\^\s*\{?\s*([A-Z][A-Za-z0-9]*)")
    for it in items:
        if isinstance(it, Equation):
            for p in it.pieces:
                for m in pat.finditer(p.text):
                    found.setdefault(m.group(1), m.group(2))
    return found


@dataclass(frozen=True)
class _Name:
    ident: str  # the identifier in the derivation
    latex: str  # the LaTeX name as written (base, layer, name subscript)
    indices: str  # index letters after the name (an element), "" for the whole


def _name_of(base: str, sub: str) -> _Name | None:
    """The identifier and the LaTeX name for a LaTeX name key (``latex_name_key``)."""
    accent = ""
    if ":" in base:
        accent, base = base.split(":", 1)
    written = base
    font = re.fullmatch(r"\\(?:mathbf|boldsymbol|bm|mathit|mathrm|vec|mathsf)\s*\{(\\?\w+)\}", base)
    if font:  # \hat{\mathbf{y}}: the letter inside names it
        base = font.group(1)
    plain = base[1:] if base.startswith("\\") else base
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", plain):
        return None
    layer = ""
    if "^" in sub:
        sub, layer = sub.split("^", 1)
        m = re.fullmatch(r"[(\[](\w+)[)\]]", layer)
        if not m:
            return None
        layer = m.group(1)
    m = re.fullmatch(r"(\d*)([a-z]{0,2})", sub)
    if m is None:
        if re.fullmatch(r"[A-Za-z0-9]+", sub):
            m = None
            digits, indices = sub, ""
        else:
            return None
    else:
        digits, indices = m.group(1), m.group(2)
    ident = plain + layer + digits + accent
    latex = f"\\{accent}{{{written}}}" if accent else base
    if layer:
        latex += f"^{{({layer})}}"
    if digits:
        latex += f"_{{{digits}}}"
    if ident in RESERVED or ident in ("I",):
        ident += "_"
    return _Name(ident, latex, indices)


def _lhs_name(piece: Src) -> _Name | None:
    """The name an equation's left side defines: a LaTeX name (``z_1``), or a fixed form
    that is a name applied to arguments (``\\mathcal{L}(\\theta)``, ``D_{KL}(p \\| q)``),
    which becomes the definition's ``latex:``."""
    text = piece.text.strip()
    key = latex_name_key(text)
    if key is not None:
        return _name_of(*key)
    m = re.match(r"(.+?)\s*\\?(?:left)?\(", text)
    if m is None or not text.endswith(")") or latex_form(text) is None:
        return None
    if _KNOWN_FUNCTION.fullmatch(m.group(1).removesuffix("\\left").strip()):
        return None  # \operatorname{tr}(A B) = ...: an identity to check, not a definition
    head = latex_name_key(m.group(1).removesuffix("\\left").strip())
    name = _name_of(*head) if head is not None else None
    if name is None or name.indices:
        return None
    return _Name(name.ident, text, "")


def _definition_candidates(state: _State, equations: list[Equation]) -> dict[int, _Name]:
    """Equation index -> the name it defines (its left side, not declared, not an
    element, not used on its right); the first such equation of a name wins."""
    declared = set(state.declared.get("symbols") or {}) | set(state.declared.get("define") or {})
    out: dict[int, _Name] = {}
    seen: set[str] = set()
    for k, eq in enumerate(equations):
        name = _lhs_name(eq.pieces[0])
        if name is None or len(name.indices) > 1 or name.ident in declared or \
                name.ident in seen:
            continue
        rhs = eq.pieces[1]
        used = latex_name_key(rhs.text.strip())
        if used is not None and _name_of(*used) == name:
            continue
        if _mentions(rhs.text, name):
            continue
        out[k] = name
        seen.add(name.ident)
        state.pending[name.ident] = state.doc.position(eq.offset)[0]
    return out


def _mentions(text: str, name: _Name) -> bool:
    """Does ``text`` use ``name`` itself (``z_1`` in ``z_1 + x``, not ``z_2``)?"""
    for m in re.finditer(r"(\\?[A-Za-z]+)(\s*[_^]\s*(\{[^{}]*\}|\w))*", text):
        key = latex_name_key(m.group(0))
        if key is not None:
            other = _name_of(*key)
            if other is not None and other.ident == name.ident:
                return True
    return False


def _read_definitions(state: _State, defs: dict[int, _Name], entries: list[Entry],
                      skip: set[int]) -> dict[int, str]:
    """Read the definitions in the order their dependencies allow; equation index ->
    the defined name, for those read."""
    equations = state.equations
    todo = dict(defs)
    for k, name in list(todo.items()):  # c = \text{true label}: words, not a formula
        words = _WORDS.fullmatch(equations[k].pieces[1].text)
        if words and not name.indices and name.ident in _INDEX_LETTERS and \
                len(name.ident) == 1:
            eq = equations[k]
            state.given[name.ident] = words.group(1).strip()
            state.pending.pop(name.ident, None)
            line, col = state.doc.position(eq.offset)
            entries.append(Entry(line, col, "unread", name.ident, _shown(eq),
                                 f"{name.ident} is described in words ({words.group(1).strip()}), "
                                 "not defined: read as an index whose value is given (a "
                                 "definition may depend on it), its range from what it "
                                 "subscripts", eq.notes))
            skip.add(k)
            del todo[k]
    done: dict[int, str] = {}
    element: set[int] = set()  # defined entry-wise: the equation stays a step, as a check
    errors: dict[int, InputError] = {}
    progress = True
    while todo and progress:
        progress = False
        for k, name in list(todo.items()):
            eq = equations[k]
            blocked = {n.ident for j, n in todo.items() if j != k}
            try:
                state.definitions.append(_definition(state, eq, name, eq.pieces[1], blocked))
            except InputError as exc:
                errors[k] = exc
                continue
            state.pending.pop(name.ident, None)
            if name.indices:
                element.add(k)
            done[k] = name.ident
            del todo[k]
            errors.pop(k, None)
            progress = True
    for k, name in todo.items():
        eq = equations[k]
        state.pending.pop(name.ident, None)
        state.failed[name.ident] = state.doc.position(eq.offset)[0]
    for k, name in todo.items():
        eq = equations[k]
        line, col = state.doc.position(eq.offset)
        reason = "not read"
        if k in errors:  # a definition waiting on one that never came is told so
            failure = errors[k]
            reason = replace(failure, message=failure.message.replace(
                ", not read yet", ", which could not be read either")).format()
            if state.repairs and ", not read yet" not in failure.message:
                blocked = {n.ident for j, n in todo.items() if j != k}
                notes = _definition_repairs(state, eq, name, blocked)
                if notes:
                    reason += "\n" + "\n".join(notes)
        entries.append(Entry(line, col, "unread", name.ident, _shown(eq), reason, eq.notes))
    for k, ident in done.items():
        eq = equations[k]
        line, col = state.doc.position(eq.offset)
        if k not in element:
            entries.append(Entry(line, col, "definition", ident, _shown(eq), "", eq.notes))
    skip.update(todo)  # unread definitions are reported once, above
    for k in element:
        done.pop(k)  # the whole equation is a step, as a check of the vector built
    return done


def _definition(state: _State, eq: Equation, name: _Name, rhs: Src,
                blocked: set[str]) -> _Def:
    """``name = rhs`` read as a definition (a vector for an entry-wise one), checked on
    the header as the loader checks it; names it needs are inferred into ``state``.

    Raises:
        InputError: it cannot be read, has a free index on its right side only, is an
            entry-wise definition not understood, or fails the loader's checks.
    """
    spec = _StepSpec(f"definition of {name.latex}", (rhs, rhs))
    derivation = _probe(state, spec, blocked=blocked)
    node = derivation.steps[0].exprs[0].node
    free = sorted(free_indices(node) - set(name.indices) - set(state.given))
    line, col = state.doc.position(eq.offset)
    if free:
        raise InputError(
            f"the definition of {name.latex} has the free index {free[0]} on its right "
            "side only", state.doc.path, line, col,
            f"a sum is written \\sum_{free[0]} (summation over a repeated index is "
            "not assumed)", state.doc.line_text(line))
    if name.indices:  # P_c = ...: the vector whose entry c this is
        ranges = {n: sym.dims[0] for n, sym in derivation.symbols.items() if sym.is_index}
        ranges.update(derivation.bound)
        letter = name.indices
        vector = vectorize(node, letter, ranges[letter], ranges) if letter in ranges else None
        if vector is None:
            raise InputError(f"the entry-wise definition of {name.latex} is not understood",
                             state.doc.path, line, col,
                             f"define {name.ident} in a derivcheck block (define: "
                             f"{name.ident}: ...)", state.doc.line_text(line))
        node = vector
    made = _Def(name.ident, to_text(node), name.latex, eq.pieces[0], "; ".join(eq.notes))
    state.definitions.append(made)
    try:  # the checks of a definition (the loader's, its shape) on the header
        header, marks = _emit(state, [])
        Engine(load_text(header, state.doc.path))
    except InputError as exc:
        raise _mapped(exc, marks, state.doc) from None
    finally:
        state.definitions.pop()
    return made


def _definition_repairs(state: _State, eq: Equation, name: _Name, blocked: set[str],
                        limit: int = DEFINITION_REPAIRS) -> list[str]:
    """The single OCR edits of an unread definition's right side under which it reads,
    passes the loader's checks, and lets more of the document be read, most probable
    first (at most 2).  A trial never changes ``state``; the document is read again
    with the edit made (without repairs) to count what it then reads.  Only proposed:
    what is read stays what is written."""
    from derivcheck.notes.ocr import single_edits

    rhs = eq.pieces[1]
    names = " ".join(s.latex for s in state.symbols.values())
    found: list[str] = []
    tried = 0
    for e in single_edits(rhs.text, limit=limit, vocabulary=f"{eq.pieces[0].text} {names}"):
        if len(found) >= 2 or tried >= MAX_DEFINITION_TRIALS or \
                time.monotonic() > state.deadline:
            break
        start, end = rhs.offset(e.start), rhs.offset(e.end - 1) + 1 if e.end > e.start \
            else rhs.offset(e.start)
        if end - start != e.end - e.start or state.doc.text[start:end] != e.written:
            continue  # not one contiguous piece of the document (text was joined)
        trial = dataclasses.replace(state, symbols=dict(state.symbols),
                                    definitions=list(state.definitions),
                                    pending=dict(state.pending), failed=dict(state.failed))
        try:
            _definition(trial, eq, name, rhs.replace_span(e.start, e.end, e.reading), blocked)
        except InputError:
            continue
        tried += 1
        text = state.doc.text[:start] + e.reading + state.doc.text[end:]
        gained = _read_count(text, state) - _read_count(state.doc.text, state)
        if gained <= 1:
            continue  # the definition alone: nothing that uses it reads then
        found.append(f"probable transcription error ({e.code}): reading `{e.reading}` for "
                     f"`{e.written}` makes the definition of {name.latex} readable, and with "
                     f"it {gained - 1} more equation{'s' if gained > 2 else ''} of the "
                     "document can be read ('derivcheck extract' on the corrected document "
                     "shows them)")
    return found


def _read_count(text: str, state: _State) -> int:
    """How many equations of ``text`` (a version of the document) become definitions or
    steps, read without repairs; memoised per text for one reading of the document."""
    hit = state.counts.get(text)
    if hit is None:
        found = read_document(text, state.doc.path, state.doc.kind, repairs=False)
        hit = sum(1 for e in found.entries if e.kind in ("definition", "step"))
        state.counts[text] = hit
    return hit


def _shown(eq: Equation) -> str:
    return " = ".join(p.text for p in eq.pieces)[:200]


def _read_steps(state: _State, equations: list[Equation], defined: dict[int, str],
                entries: list[Entry], skip: set[int]) -> list[_StepSpec]:
    steps: list[_StepSpec] = []
    ids: dict[int, int] = {}
    for k, eq in enumerate(equations):
        if k in skip:
            continue
        pieces = eq.pieces[1:] if k in defined else eq.pieces
        if len(pieces) < 2:
            continue
        line, col = state.doc.position(pieces[0].offset())
        ids[line] = ids.get(line, 0) + 1
        sid = f"line-{line}" + (f"-{ids[line]}" if ids[line] > 1 else "")
        spec = _StepSpec(sid, tuple(pieces), "; ".join(eq.notes))
        try:
            probed = _probe(state, spec, blocked=set())
            _refuse_free_derivatives(state, probed, line, col)
        except InputError as exc:
            entries.append(Entry(line, col, "unread", sid, _shown(eq), exc.format(), eq.notes,
                                 tuple(p.text for p in pieces)))
            for part in _readable_runs(state, spec, line, col):
                steps.append(part)
                shown = " = ".join(p.text for p in part.pieces)[:200]
                entries.append(Entry(line, col, "step", part.id, shown, "", eq.notes))
            continue
        steps.append(spec)
        entries.append(Entry(line, col, "step", sid, _shown(eq), "", eq.notes))
    return steps


def _readable_runs(state: _State, spec: _StepSpec, line: int, col: int) -> list[_StepSpec]:
    """A chain that cannot be read whole: its runs of two or more consecutive expressions
    that can (``a = b = ? = d``: the link ``a = b`` is still checked; ``b = d`` is not, it
    is not what the chain says without the unread piece).  Each run is a step of its own,
    ``line-N.k`` (from the chain's k-th expression)."""
    if len(spec.pieces) < 3:
        return []
    good = []
    for k, piece in enumerate(spec.pieces):
        try:
            probed = _probe(state, _StepSpec(f"{spec.id}.{k + 1}", (piece, piece)),
                            blocked=set())
            _refuse_free_derivatives(state, probed, line, col)
            good.append(True)
        except InputError:
            good.append(False)
    if all(good):
        return []  # each piece reads alone: the chain fails as a whole (its links' types)
    runs: list[_StepSpec] = []
    k = 0
    while k < len(spec.pieces):
        if not good[k]:
            k += 1
            continue
        end = k
        while end + 1 < len(spec.pieces) and good[end + 1]:
            end += 1
        if end > k:
            part = _StepSpec(f"{spec.id}.{k + 1}", spec.pieces[k:end + 1], spec.note)
            try:
                probed = _probe(state, part, blocked=set())
                _refuse_free_derivatives(state, probed, line, col)
                runs.append(part)
            except InputError:
                pass
        k = end + 1
    return runs


def _refuse_free_derivatives(state: _State, d: Derivation, line: int, col: int) -> None:
    """A derivative of a name only inferred (neither declared nor defined) is 0 for
    every variable but itself: that is never what a document means, so the step is
    not read, and the message says to define the name."""
    inferred = {n for n, s in state.symbols.items() if s.why and not s.spec.startswith("index")}
    for expr in d.steps[0].exprs:
        for node in expr.node.walk():
            if node.op != "d":
                continue
            f = node.args[0]
            base = f.args[0] if f.op == "elem" else f
            if base.op == "sym" and base.val in inferred:
                raise InputError(
                    f"the derivative of {base.val}, a name the document neither declares nor "
                    "defines (inferred from how it is written), would be 0", state.doc.path,
                    line, col, f"define {base.val} (an equation {base.val} = ..., or define: in "
                    "a derivcheck block)", state.doc.line_text(line))


# -- reading one equation, inferring the names it uses -----------------------------
_UNKNOWN = re.compile(r"unknown name '(.+)'$")
_DELTA = re.compile(r"\\delta_\{(\w+)\}: expected two indices")
_INDEX = re.compile(r"'([a-z])' is not a declared index$")


def _probe(state: _State, spec: _StepSpec, *, blocked: set[str]) -> Derivation:
    """Load the header and one step, inferring undeclared names it uses; raises the
    InputError (mapped to the document) if it cannot be read."""
    if time.monotonic() > state.deadline:
        raise InputError(f"not read: reading the document took longer than {READ_SECONDS:g} s",
                         state.doc.path, *state.doc.position(spec.pieces[0].offset()),
                         "split the document")
    for _ in range(MAX_INFERENCES):
        yaml, marks = _emit(state, [spec])
        try:
            return load_text(yaml, state.doc.path)
        except InputError as exc:
            mapped = _mapped(exc, marks, state.doc)
            if not _infer(state, exc.message, mapped, blocked, spec):
                raise mapped from None
    raise InputError(f"more than {MAX_INFERENCES} names to infer in one equation",
                     state.doc.path, *state.doc.position(spec.pieces[0].offset()))


def _infer(state: _State, message: str, at: InputError, blocked: set[str],
           spec: _StepSpec) -> bool:
    origin = spec.pieces[0]
    m = _INDEX.search(message)
    if m:
        return _declare_index(state, m.group(1), origin, spec.pieces)
    m = _DELTA.search(message)
    if m:
        added = [_declare_index(state, c, origin, spec.pieces) for c in m.group(1)
                 if c in _INDEX_LETTERS]  # every letter declared, not only the first
        return any(added)
    m = _UNKNOWN.search(message)
    if not m:
        return False
    key = latex_name_key(m.group(1))
    if key is None:
        return False
    name = _name_of(*key)
    if name is None:
        return False
    if name.ident in state.failed:
        raise replace(at, message=f"{message}: its definition (line {state.failed[name.ident]})"
                      " could not be read", hint="see that line's reason") from None
    if name.ident in blocked or name.ident in state.pending:
        raise replace(at, message=f"{message}: defined at line "
                      f"{state.pending.get(name.ident, '?')}, not read yet") from None
    if name.ident in state.symbols or _taken(state, name.ident):
        return False
    if not name.indices and name.ident in _INDEX_LETTERS and len(name.ident) == 1 and any(
            _subscripted(p.text, name.ident) for p in spec.pieces):
        return _declare_index(state, name.ident, origin, spec.pieces)  # 1[i = k] beside z_i
    if len(name.indices) > 2:
        return False
    dims = []
    for letter in name.indices:
        if letter not in _INDEX_LETTERS:
            return False
        _declare_index(state, letter, origin, spec.pieces)
        dim = _index_dim(state, letter)
        if dim is None:  # the letter is declared as something else than an index
            return False
        dims.append(dim)
    written = m.group(1)
    why = f"from {written}"
    if not name.indices:  # written whole here: how the document subscripts it elsewhere
        seen = _usage(state).get(name.ident)
        if seen is not None:
            letters, example = seen
            for letter in letters:
                _declare_index(state, letter, origin, spec.pieces)
                dim = _index_dim(state, letter)
                if dim is None:
                    break
                dims.append(dim)
            else:
                why = f"written {example} elsewhere in the document"
            if len(dims) != len(letters):
                dims = []
        if not dims:
            why = f"{written} written without a subscript"
            found = _not_scalar_at(state, name)
            if found:  # x^T A x, (A B)^T, A B: nobody transposes a scalar
                where, how = found
                raise replace(at, message=f"{at.message}: {written} is written {how} "
                              f"(line {where}), so it is not a scalar, and its shape cannot "
                              "be inferred", hint=f"declare it in a ```derivcheck block "
                              f"(e.g. {name.ident}: matrix n n, or {name.ident}: vector n)"
                              ) from None
    applied = _applied_at(state, name) if not name.indices else None
    if applied:  # g(x), E[x], q(x^2): a function applied, or a product
        raise replace(at, message=f"{at.message}: {written} is written right before a "
                      f"bracket (line {applied}), as a function applied to it is (g(x)), or a "
                      "product: which is not said", hint=f"declare {name.ident} in a "
                      "```derivcheck block if it is a factor (and write \\cdot before the "
                      "bracket), or define it") from None
    kind = {0: "scalar", 1: "vector", 2: "matrix"}[len(dims)]
    spec_text = " ".join([kind, *dims])
    state.symbols[name.ident] = _Symbol(name.ident, spec_text, name.latex, why, origin)
    return True


_TRANSPOSE = re.compile(r"\^\s*(?:\{\s*)?(?:\\top|\\intercal|\\mathsf\{T\}|T)(?![A-Za-z])")


# two capitals side by side (A B, W_1 X): the notation of a matrix product
_CAPITAL = r"([A-Z](?:_\{?\w+\}?)?)"
_CAPITALS = re.compile(r"(?<![\\A-Za-z])" + _CAPITAL + r"\s*" + _CAPITAL + r"(?![A-Za-z])")


_NAME_TOKEN = re.compile(r"(\\?[A-Za-z]+)(\s*[_^]\s*(\{[^{}]*\}|\w))*")
_BRACKET_NEXT = re.compile(r"\s*(?:\\(?:left|big|Big|bigg|Bigg)\s*)?[(\[]")


def _applied_at(state: _State, name: _Name) -> int | None:
    """The line where ``name``, written bare (no subscript), is followed at once by a
    bracket, as a function applied is (``g(x)``, ``E[x]``); None if nowhere."""
    for eq in state.equations:
        for piece in eq.pieces:
            text = piece.text
            for m in _NAME_TOKEN.finditer(text):
                if m.group(2) or (m.start() > 0 and text[m.start() - 1] in "\\_^"):
                    continue
                key = latex_name_key(m.group(0))
                other = _name_of(*key) if key is not None else None
                if other is None or other.ident != name.ident:
                    continue
                if _BRACKET_NEXT.match(text, m.end()):
                    return state.doc.position(piece.offset(m.start()))[0]
    return None


def _not_scalar_at(state: _State, name: _Name) -> tuple[int, str] | None:
    """(line, how) of the first place the document writes ``name`` as no scalar is
    written: transposed, or a bracket holding it transposed (``x^\\top``, ``A^T``,
    ``(A B)^\\top``), or a capital beside another capital (``A B``); else None."""
    for eq in state.equations:
        for piece in eq.pieces:
            text = piece.text
            for m in _TRANSPOSE.finditer(text):
                operand = _operand_before(text, m.start())
                if operand and _mentions(operand, name):
                    return state.doc.position(piece.offset(m.start()))[0], "transposed"
            if name.ident[:1].isupper():
                for m in _CAPITALS.finditer(text):
                    if any(_mentions(g, name) for g in m.groups()):
                        return (state.doc.position(piece.offset(m.start()))[0],
                                "beside another capital, as a matrix product is")
                for m in _INVERSE.finditer(text):
                    operand = _operand_before(text, m.start())
                    if operand and _mentions(operand, name):
                        return (state.doc.position(piece.offset(m.start()))[0],
                                "a capital inverted (^{-1}), as a matrix is")
            for m in _BOLD.finditer(text):
                if _mentions(m.group(1), name):
                    return (state.doc.position(piece.offset(m.start()))[0],
                            "in bold, as vectors and matrices are written")
            for m in _OF_A_MATRIX.finditer(text):
                if _mentions(_argument_after(text, m.end()), name):
                    return (state.doc.position(piece.offset(m.start()))[0],
                            "inside a determinant or a trace, which take a matrix")
    return None


# \mathbf{W}, \boldsymbol{x}, \bm{x}: the notation of vectors and matrices
_BOLD = re.compile(r"\\(?:mathbf|boldsymbol|bm)\s*\{([^{}]*)\}")
# \det, \operatorname{tr}, \mathrm{Tr}: functions of a matrix
_OF_A_MATRIX = re.compile(r"\\det(?![A-Za-z])|\\(?:operatorname|mathrm|text)\s*\{\s*(?:tr|Tr|trace)"
                          r"\s*\}|\\(?:tr|Tr)(?![A-Za-z])")
_INVERSE = re.compile(r"\^\s*\{\s*-\s*1\s*\}|\^\s*-\s*1")


def _argument_after(text: str, start: int) -> str:
    """The argument written after a function name at ``start``: a bracket group
    (``(2 M)``, ``\\left( ... \\right)``, ``{...}``), else the next name."""
    rest = text[start:]
    stripped = rest.lstrip()
    stripped = re.sub(r"^\\(?:left|big|Big|bigg|Bigg)\s*", "", stripped)
    if stripped[:1] in "({[":
        close = {"(": ")", "{": "}", "[": "]"}[stripped[0]]
        depth = 0
        for k, ch in enumerate(stripped):
            if ch == stripped[0]:
                depth += 1
            elif ch == close:
                depth -= 1
                if depth == 0:
                    return stripped[1:k]
        return stripped[1:]
    m = re.match(r"(\\?[A-Za-z]+)(\s*[_^]\s*(\{[^{}]*\}|\w))*", stripped)
    return m.group(0) if m else ""


def _operand_before(text: str, end: int) -> str:
    """What a superscript at ``end`` applies to: the bracket group that closes there, or
    the name (with its subscript) before it."""
    head = text[:end].rstrip()
    if head.endswith((")", "]", "\\}")):
        depth = 0
        for k in range(len(head) - 1, -1, -1):
            ch = head[k]
            if ch in ")]":
                depth += 1
            elif ch in "([":
                depth -= 1
                if depth == 0:
                    return head[k:]
        return head
    m = re.search(r"(\\?[A-Za-z]+(?:\{[^{}]*\})?)(\s*_\s*(\{[^{}]*\}|\w))?$", head)
    return m.group(0) if m else ""


def _subscripted(text: str, letter: str) -> bool:
    """Is ``letter`` used in a subscript in ``text`` (``z_i``, ``V_{ki}``)?"""
    return any(letter in m.group(1) for m in re.finditer(r"_\{([^{}]*)\}|_([A-Za-z])", text)
               if m.group(1)) or re.search(r"_" + letter + r"(?![A-Za-z])", text) is not None


_SUBSCRIPTED = re.compile(r"(\\?[A-Za-z]+)(\^\{\(?\d+\)?\})?_(\{[^{}]*\}|[A-Za-z0-9])")


def _index_subscripts(text: str) -> Iterator[tuple[_Name, str, str]]:
    """Each name subscripted with index letters in ``text``: (the name, its letters,
    as written), for ``W_{jk}``, ``z_{1i}`` (the name z1) or ``a^{(2)}_j``."""
    for m in _SUBSCRIPTED.finditer(text):
        sub = m.group(3).strip("{}").replace(" ", "").replace(",", "")
        mm = re.fullmatch(r"(\d*)([a-z]{1,2})", sub)
        if not mm:
            continue
        key = latex_name_key(m.group(1) + (m.group(2) or "") +
                             (f"_{{{mm.group(1)}}}" if mm.group(1) else ""))
        name = _name_of(*key) if key else None
        if name is not None:
            yield name, mm.group(2), m.group(0)


def _dim_from_use(state: _State, letter: str, pieces: tuple[Src, ...]
                  ) -> tuple[str, str] | None:
    """The dimension an index runs over, from a known name it subscripts here
    (``z_i`` with ``z`` a vector over K: i over K)."""
    shapes = _known_shapes(state)
    for p in pieces:
        for name, letters, written in _index_subscripts(p.text):
            shape = shapes.get(name.ident)
            if letter not in letters or not shape or \
                    len(letters) != (1 if 1 in shape else len(shape)):
                continue
            dims = [d for d in shape if d != 1] if 1 in shape else list(shape)
            pos = letters.index(letter)
            if pos < len(dims) and isinstance(dims[pos], str):
                return dims[pos], f"it subscripts {written}"
    return None


def _known_shapes(state: _State) -> dict[str, tuple]:
    """Shapes of the declared, inferred and defined names so far."""
    key = (len(state.symbols), len(state.definitions))
    cached = state.__dict__.get("_shapes")
    if cached is not None and cached[0] == key:
        return cached[1]  # type: ignore[no-any-return]
    out: dict[str, tuple] = {}
    try:
        yaml, _ = _emit(state, [])
        d = load_text(yaml, state.doc.path)
    except InputError:
        return out
    from derivcheck.engine.shapes import ShapeInference

    out.update({n: sym.shape for n, sym in d.symbols.items() if not sym.is_index})
    ranges = {n: sym.dims[0] for n, sym in d.symbols.items() if sym.is_index}
    def_shapes: dict[str, tuple] = {}
    inference = ShapeInference(dict(out), ranges, def_shapes)
    for definition in d.definitions:
        try:
            def_shapes[definition.name] = inference.of(definition.expr)
        except Exception:
            break
    out.update(def_shapes)
    state.__dict__["_shapes"] = (key, out)
    return out


def _usage(state: _State) -> dict[str, tuple[str, str]]:
    """Name -> (the index letters, an example) of how the document subscripts it with
    index letters somewhere (``W_{jk}``); names subscripted two ways are left out."""
    cached = state.__dict__.get("_usage")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    found: dict[str, set[tuple[str, str]]] = {}
    for eq in state.equations:
        for p in eq.pieces:
            for name, letters, written in _index_subscripts(p.text):
                if all(c in _INDEX_LETTERS for c in letters):
                    found.setdefault(name.ident, set()).add((letters, written))
    out = {}
    for ident, uses in found.items():
        ranks = {len(letters) for letters, _ in uses}
        if len(ranks) == 1:
            letters, example = sorted(uses)[0]
            out[ident] = (letters, example)
    state.__dict__["_usage"] = out
    return out


def _capitals(state: _State) -> set[str]:
    """Single capital letters the document's equations use as names (not free for a
    dimension guessed from an index letter)."""
    cached = state.__dict__.get("_capitals")
    if cached is None:
        cached = set()
        for eq in state.equations:
            for p in eq.pieces:
                cached |= set(re.findall(r"(?<![\\A-Za-z])([A-Z])(?![A-Za-z])", p.text))
        state.__dict__["_capitals"] = cached
    return cached  # type: ignore[no-any-return]


def _taken(state: _State, ident: str) -> bool:
    declared = set(state.declared.get("symbols") or {}) | set(state.declared.get("define") or {})
    return ident in declared or any(d.name == ident for d in state.definitions)


def _index_dim(state: _State, letter: str) -> str | None:
    """The dimension of the index ``letter``, inferred or declared (None: not an index)."""
    spec = state.symbols[letter].spec if letter in state.symbols else \
        (state.declared.get("symbols") or {}).get(letter)
    words = str(spec).split() if spec is not None else []
    return words[1] if len(words) == 2 and words[0] == "index" else None


def _declare_index(state: _State, letter: str, origin: Src,
                   pieces: tuple[Src, ...] = ()) -> bool:
    if letter in state.symbols or _taken(state, letter):
        return False
    dim = state.index_dims.get(letter)
    why = f"the index of a sum up to {dim}" if dim else "an index letter"
    if dim is None:
        used = _dim_from_use(state, letter, pieces)
        if used is not None:
            dim, why = used
    if dim is None:
        dim = letter.upper()
        if dim in ("I", "E", "T") or dim in _capitals(state) or dim in state.symbols:
            dim = f"n{letter}"
    state.symbols[letter] = _Symbol(letter, f"index {dim}", "", why, origin)
    return True


# -- writing the YAML ------------------------------------------------------------------
def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class _Out:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.marks: list[_Mark] = []

    def put(self, prefix: str, value: str | None = None, origin: Src | None = None,
            suffix: str = "") -> None:
        if value is None:
            self.lines.append(prefix)
            return
        q = _quote(value)
        if origin is not None:
            self.marks.append(_Mark(len(self.lines), len(prefix), len(q), origin))
        self.lines.append(prefix + q + suffix)


def _emit(state: _State, steps: list[_StepSpec]) -> tuple[str, list[_Mark]]:
    out = _Out()
    decl = state.declared
    doc = state.doc
    title = str(decl["title"]) if "title" in decl else _title(doc)
    out.put("title: ", title)
    out.put("source: ", Path(doc.path).name)
    out.put("symbols:")
    for name, spec in (decl.get("symbols") or {}).items():
        _entry(state, out, decl["symbols"], name, spec, ("kind", "latex"))
    for s in state.symbols.values():
        note = f"  # inferred: {s.why}" if s.why else ""
        if s.latex:
            out.put(f"  {s.name}: {{kind: {_quote(s.spec)}, latex: ", s.latex, s.origin,
                    "}" + note)
        else:
            out.put(f"  {s.name}: ", s.spec, s.origin, note)
    if not (decl.get("symbols") or state.symbols):
        out.put("  unused_: 'scalar'  # no symbols seen yet: a derivation needs one")
    if "conventions" in decl and isinstance(decl["conventions"], dict):
        out.put("conventions:")
        for key, value in decl["conventions"].items():
            origin = _node_origin(state, decl["conventions"], key, str(value))
            if isinstance(value, int) and not isinstance(value, bool):
                out.lines.append(f"  {key}: {value}")
            else:
                out.put(f"  {key}: ", str(value), origin)
    if decl.get("assume"):
        out.put("assume:")
        for k, value in enumerate(decl["assume"]):
            out.put("  - ", str(value), _item_origin(state, decl["assume"], k, str(value)))
    if decl.get("define") or state.definitions:
        out.put("define:")
        for name, spec in (decl.get("define") or {}).items():
            _entry(state, out, decl["define"], name, spec, ("expr", "latex"))
        for d in state.definitions:
            out.put(f"  {d.name}: {{latex: {_quote(d.latex)}, expr: ", d.expr, d.origin, "}")
    out.put("steps:")
    for step in steps:
        out.put("  - id: ", step.id, step.pieces[0])
        if step.note:
            out.put("    note: ", step.note)
        out.put("    latex:")
        for p in step.pieces:
            out.put("      - ", p.text, p)
    if not steps:  # (only to learn the shapes of the header: a file needs a step)
        out.put("  - {id: header, claim: '0 = 0'}")
    return "\n".join(out.lines) + "\n", out.marks


def _entry(state: _State, out: _Out, table: Any, name: Any, spec: Any,
           keys: tuple[str, str]) -> None:
    if isinstance(spec, dict):
        parts = []
        for key in keys:
            if key in spec:
                parts.append(f"{key}: {_quote(str(spec[key]))}")
        first = keys[0] if keys[0] in spec else keys[1]
        origin = _node_origin(state, spec, first, str(spec.get(first, "")))
        rest = [p for p in parts if not p.startswith(first + ":")]
        out.put(f"  {name}: {{{first}: ", str(spec.get(first, "")), origin,
                (", " + ", ".join(rest) if rest else "") + "}")
        return
    out.put(f"  {name}: ", str(spec), _node_origin(state, table, name, str(spec)))


def _item_origin(state: _State, seq: Any, k: int, text: str) -> Src:
    try:
        line, col = seq.lc.item(k)
    except (AttributeError, KeyError, TypeError, IndexError):
        line, col = 0, 0
    off = _block_offset(state, line, col)
    if state.doc.text[off:off + 1] in ("'", '"'):
        off += 1
    return Src.at(text, off)


def _title(doc: Document) -> str:
    m = re.search(r"^#\s+(.+)$", doc.text, re.M) if doc.kind == "markdown" else \
        re.search(r"\\title\{([^{}]*)\}", doc.text)
    return m.group(1).strip() if m else Path(doc.path).stem


# -- positions back in the document ---------------------------------------------------
def _doc_offset(line0: int, col0: int, marks: list[_Mark]) -> int | None:
    """The document offset of a (0-based) position of the generated YAML."""
    on_line = [m for m in marks if m.line == line0]
    if not on_line:
        before = [m for m in marks if m.line <= line0]
        return before[-1].origin.offset() if before else None
    mark = on_line[-1]
    for m in on_line:
        if m.col <= col0 < m.col + m.length:
            mark = m
    k = col0 - mark.col - 1  # inside the quotes
    quoted = _quote(mark.origin.text)[1:]
    # undo the doubled quotes before position k
    raw = quoted[:max(k, 0)]
    k -= raw.count("''")
    return mark.origin.offset(max(0, min(k, len(mark.origin.text))))


def _mapped(exc: InputError, marks: list[_Mark], doc: Document) -> InputError:
    off = _doc_offset(exc.line - 1, exc.col - 1, marks) if exc.line else None
    if off is None:
        return replace(exc, path=doc.path, line=0, col=0, source_line="")
    line, col = doc.position(off)
    context = re.sub(r"latex item \d+", "", exc.context).strip(", ")
    context = re.sub(r"^step (definition of )", r"\1", context)
    return replace(exc, path=doc.path, line=line, col=col, source_line=doc.line_text(line),
                   context=context)


def _relocate(d: Derivation, marks: list[_Mark], doc: Document) -> Derivation:
    """The derivation with every location in the document, not in the generated YAML."""

    def loc(where: Loc | None) -> Loc | None:
        if where is None:
            return None
        off = _doc_offset(where.line - 1, where.col - 1, marks)
        if off is None:
            return Loc(doc.path, 0, 0)
        line, col = doc.position(off)
        return Loc(doc.path, line, col)

    def expr(e: Expr) -> Expr:
        return replace(e, loc=loc(e.loc))

    steps = []
    for s in d.steps:  # a step's line is its id's, whose scalar came from its first expression
        steps.append(replace(s, loc=loc(s.loc), exprs=tuple(expr(e) for e in s.exprs),
                             latex=None if s.latex is None else tuple(expr(e) for e in s.latex)))
    return replace(d, steps=tuple(steps),
                   definitions=tuple(replace(x, loc=loc(x.loc)) for x in d.definitions),
                   symbols={n: replace(s, loc=loc(s.loc)) for n, s in d.symbols.items()})


def step_of(entries: tuple[Entry, ...], step: Step) -> Entry | None:
    """The entry of a step (by id)."""
    for e in entries:
        if e.kind == "step" and e.name == step.id:
            return e
    return None


__all__ = ["Entry", "Extraction", "read_document", "step_of"]
