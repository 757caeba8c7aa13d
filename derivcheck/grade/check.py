"""Checking one submission against a prepared answer key (stages: load -> check -> score).

``prepare`` does the key's work once: loads nothing new, checks the key's own
steps and its ``via`` expressions, computes the derivatives of every required
result.  ``check_submission`` then does the numeric work of one submission
and returns a ``Checked``: drafts of every link and the symbolic proofs it
would like.  ``finish`` applies the proofs (run elsewhere, shared by the whole
class) and scores it.

Every equation is decided by ``Decider``: its random points depend only on the
seed and the equation itself (never on the student or the order of grading),
and the engine it uses is a fresh copy of the prepared one, so a cached answer
is exactly what a fresh computation would give.  Identical equations across a
class are therefore decided once, and results do not depend on the number of
workers or on resuming.  The cache is shared by the workers of a batch: what one
decides is sent to the others (``decided_since``, ``learn``).  Its key is everything
a decision depends on (``Decider.key``): the declarations and definitions
(``context_of``), both sides as trees and as the text the random points are drawn
from, the layout, whether a diagnosis is wanted, and every check option (the seed).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from derivcheck.codes import Diagnosis
from derivcheck.decide import Options, Outcome, rng_for, wants_proof, with_proof
from derivcheck.decide.instantiate import as_proof, proof_setting, prove_call
from derivcheck.engine.core import Engine
from derivcheck.engine.limits import Limited
from derivcheck.errors import InputError
from derivcheck.grade.key import AnswerKey, Item
from derivcheck.grade.score import ItemCheck, SubmissionGrade, score_items
from derivcheck.ir import E
from derivcheck.load import load_submission_text, read_text
from derivcheck.model import Derivation, Step
from derivcheck.printer import to_text
from derivcheck.results import StepResult, Verdict
from derivcheck.verify import _check_links, _Draft, _step_result, decide_equation

# Decider.key -> (outcome without samples, diagnoses).  One per process: pool workers
# keep it between submissions, and learn what the other workers decided (``learn``).
_CACHE: dict[tuple, tuple[Outcome, tuple[Diagnosis, ...]]] = {}
_CACHE_LIMIT = 50_000
# the entries this process decided itself and has not yet given away (``decided_since``)
_DECIDED: list[tuple[tuple, tuple[Outcome, tuple[Diagnosis, ...]]]] = []
# counts of this process's lookups, for the benchmark: [hits, decided here]
CACHE_COUNTS = [0, 0]
# proof key -> result: the symbolic proofs of the batch known to this process
_PROOFS: dict[tuple, Limited] = {}
# context -> engine with the key's (or a submission's) definitions, derivatives computed
_ENGINES: dict[str, Engine] = {}


class KeyProblem(InputError):
    """The answer key itself does not hold (a step or a ``via`` is wrong)."""


@dataclass(frozen=True)
class Prepared:
    """An answer key ready to grade with: what every submission shares."""

    key: AnswerKey
    options: Options
    context: str  # identifies the key's symbols and definitions

    @property
    def layout(self) -> str:
        return self.key.derivation.conventions.layout


def context_of(derivation: Derivation) -> str:
    """A digest of what an equation's meaning depends on: symbols, definitions, conventions."""
    h = hashlib.sha256()
    for s in derivation.symbols.values():
        h.update(f"{s.name}:{s.kind}:{' '.join(s.dims)}:{sorted(s.constraints)};".encode())
    for d in derivation.definitions:
        h.update(f"{d.name}={to_text(d.expr)};".encode())
    c = derivation.conventions
    h.update(f"{c.layout}:{c.relu_prime_at_zero}".encode())
    return h.hexdigest()[:16]


def engine_for(derivation: Derivation, context: str) -> Engine:
    """The prepared engine of a context (built once per process)."""
    engine = _ENGINES.get(context)
    if engine is None:
        engine = Engine(derivation)
        if len(_ENGINES) > 64:
            _ENGINES.clear()
        _ENGINES[context] = engine
    return engine


def proof_key(context: str, out: Outcome) -> tuple | None:
    """What identifies the proof an outcome would like, across a class (None: no proof)."""
    return (context, out.lhs, out.rhs, out.free) if wants_proof(out) else None


class Decider:
    """Decides equations in one context, with the per-process cache."""

    def __init__(self, derivation: Derivation, context: str, options: Options) -> None:
        self.derivation = derivation
        self.context = context
        self.options = options
        self.base = engine_for(derivation, context)

    def key(self, lhs: E, rhs: E, lhs_text: str, rhs_text: str, layout: str,
            with_diagnosis: bool) -> tuple:
        """What the decision of ``lhs = rhs`` depends on, all of it: two equal keys give
        the same verdict and evidence.  The texts are there because the random points
        are drawn from them (two trees equal as trees always print alike today, but
        the key does not rest on that)."""
        return (self.context, lhs, rhs, lhs_text, rhs_text, layout, with_diagnosis,
                self.options)

    def __call__(self, lhs: E, rhs: E, layout: str, what: tuple = (),
                 with_diagnosis: bool = True) -> tuple[Outcome, list[Diagnosis]]:
        lhs_text, rhs_text = to_text(lhs), to_text(rhs)
        key = self.key(lhs, rhs, lhs_text, rhs_text, layout, with_diagnosis)
        hit = _CACHE.get(key)
        if hit is None:
            engine = self.base.clone()
            rng = rng_for(self.options, "grade", lhs_text, rhs_text, layout)
            out, found = decide_equation(engine, lhs, rhs, layout, self.options, rng,
                                         with_diagnosis)
            out = replace(out, samples=[])
            hit = (out, tuple(found))
            _remember(key, hit)
            _DECIDED.append((key, hit))
            CACHE_COUNTS[1] += 1
        else:
            CACHE_COUNTS[0] += 1
        return replace(hit[0]), list(hit[1])

    def proof_key(self, out: Outcome) -> tuple | None:
        """The proof a checked outcome would like (None if it needs none)."""
        return proof_key(self.context, out)

    def proof_call(self, out: Outcome) -> tuple:
        assert out.lhs is not None and out.rhs is not None
        engine = self.base
        return prove_call(self.derivation, out.lhs, out.rhs, out.free,
                          proof_setting(self.derivation.dims, self.derivation.size_floor),
                          dict(engine.index_range))


def _remember(key: tuple, hit: tuple[Outcome, tuple[Diagnosis, ...]]) -> None:
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[key] = hit


def decided_since() -> list[tuple[tuple, tuple[Outcome, tuple[Diagnosis, ...]]]]:
    """The decisions this process made since the last call (to share with other workers)."""
    out = list(_DECIDED)
    _DECIDED.clear()
    return out


def cache_hits_since() -> int:
    """How many decisions this process took from its cache since the last call."""
    hits = CACHE_COUNTS[0]
    CACHE_COUNTS[0] = 0
    return hits


def learn(decided: list[tuple[tuple, tuple[Outcome, tuple[Diagnosis, ...]]]],
          proofs: list[tuple[tuple, Limited]] = ()) -> None:  # type: ignore[assignment]
    """Take decisions and proof results another process made (``decided_since``): each is
    exactly what this process would compute for that key."""
    for key, hit in decided:
        if key not in _CACHE:
            _remember(key, hit)
    for key, result in proofs:
        _PROOFS[key] = result


def proofs_known() -> dict[tuple, Limited]:
    """The proof results this process has learnt (``learn``): proof key -> result."""
    return _PROOFS


def forget_proofs() -> None:
    """A new batch: proofs are asked again (their time limit may differ)."""
    _PROOFS.clear()


def forget() -> None:
    """Empty this process's caches (a test of fresh decisions; a new batch's proofs)."""
    _CACHE.clear()
    _DECIDED.clear()
    _PROOFS.clear()


def prepare(key: AnswerKey, options: Options) -> Prepared:
    """Check the key's own steps and ``via`` expressions; compute every required derivative.

    Raises:
        KeyProblem: a step of the key does not hold as its ``expect:`` says (a
            step without ``expect:`` must hold), or a ``via`` is not equal to its
            item's result.
    """
    deriv = key.derivation
    context = context_of(deriv)
    prepared = Prepared(key, options, context)
    decide = Decider(deriv, context, options)
    layout = prepared.layout
    for item in key.rubric.items:
        for form in item.forms:
            out, _ = decide(form, form, layout, (), False)
            if out.verdict in (Verdict.ILL_FORMED, Verdict.UNDECIDED):
                raise KeyProblem(f"the required result {to_text(form)} cannot be computed: "
                                 f"{out.evidence.reason or out.verdict.value}", key.path,
                                 item.line, 0, "check the rubric item's 'result'",
                                 context=f"rubric item {item.id}")
        _check_forms(key, item, decide, layout)
        if item.via is not None:
            # against the form of the via's shape (a list may hold an element form)
            for form in item.forms:
                out, _ = decide(form, item.via, layout, (), False)
                if out.verdict.holds:
                    break
            if not out.verdict.holds:
                raise KeyProblem(f"'via: {item.via_text}' is not equal to "
                                 f"{item.texts[0]} ({out.verdict.value})", key.path,
                                 item.line, 0, "write how the result follows from another "
                                 "item's result, e.g. via: d(L)/d(z2) @ A1.T",
                                 context=f"rubric item {item.id}")
    for step in deriv.steps:
        drafts = _check_links(decide.base, step, options, decide)
        verdicts = [d.outcome.verdict for d in drafts]
        expected = step.expect or ("holds",) * len(drafts)
        for k, (want, got) in enumerate(zip(expected, verdicts)):
            ok = got.holds if want == "holds" else (got.value == want or (
                want in ("proved", "checked") and got.holds))
            if not ok:
                line = step.loc.line if step.loc else 0
                link = f" (link {k + 1})" if len(drafts) > 1 else ""
                raise KeyProblem(f"the key's own step '{step.id}'{link} is {got.value}, "
                                 f"expected {want}", key.path, line, 0,
                                 "fix the model answer, or add expect: to a step that is "
                                 "meant to be wrong", context=f"step {step.id}")
    return prepared


def _check_forms(key: AnswerKey, item: Item, decide: Decider, layout: str) -> None:
    """The forms an item lists are one derivative: each equals the first, or is its
    element form (``d(L)/d(w2[i, m])`` for ``d(L)/d(w2)``, graded against its own).

    Raises:
        KeyProblem: a form is another derivative (or not equal to the first).
    """
    first = item.forms[0]
    for form in item.forms[1:]:
        if _element_of(form, (first,)) or _element_of(first, (form,)) or (
                _element_of(form, item.forms) and _element_of(first, item.forms)):
            continue
        out, _ = decide(first, form, layout, (), False)
        if not out.verdict.holds:
            raise KeyProblem(f"the forms of the result, {to_text(first)} and {to_text(form)}, "
                             f"are not the same derivative ({out.verdict.value}): a "
                             "student's answer would be graded against the wrong one",
                             key.path, item.line, 0, "list only equal forms of one "
                             "derivative, or its element form (d(L)/d(W[i, j]) for "
                             "d(L)/d(W)), or make two items", context=f"rubric item {item.id}")


@dataclass
class Checked:
    """One submission after the numeric stage: what ``finish`` needs, picklable."""

    student: str
    path: str
    derivation: Derivation | None = None
    context: str = ""  # what the submission's equations mean (see ``context_of``)
    drafts: list[list[_Draft]] = field(default_factory=list)
    items: list[ItemCheck] = field(default_factory=list)
    proofs: dict[tuple, tuple] = field(default_factory=dict)  # proof key -> call
    error: str | None = None
    seconds: float = 0.0


def check_submission(prepared: Prepared, student: str, path: str,
                     text: str | None = None) -> Checked:
    """Load and check one submission (numeric stage); input errors become ``error``."""
    started = time.perf_counter()
    try:
        if text is None:
            text = read_text(path)
        deriv = load_submission_text(text, prepared.key.derivation, path)
        context = prepared.context
        if (deriv.definitions != prepared.key.derivation.definitions
                or deriv.symbols != prepared.key.derivation.symbols):
            context = context_of(deriv)
        decide = Decider(deriv, context, prepared.options)
    except InputError as exc:
        return Checked(student, path, error=exc.format(),
                       seconds=time.perf_counter() - started)
    out = Checked(student, path, deriv, context)
    for step in deriv.steps:
        out.drafts.append(_check_links(decide.base, step, prepared.options, decide))
    out.items = analyse_items(prepared, deriv, decide)
    for links in out.drafts:
        for d in links:
            _want_proof(decide, d.outcome, out.proofs)
    for item in out.items:
        for o in (item.outcome, item.via_outcome):
            if o is not None:
                _want_proof(decide, o, out.proofs)
    out.seconds = time.perf_counter() - started
    return out


def _want_proof(decide: Decider, outcome: Outcome, wanted: dict[tuple, tuple]) -> None:
    key = decide.proof_key(outcome)
    if key is not None and key not in wanted:
        wanted[key] = decide.proof_call(outcome)


def analyse_items(prepared: Prepared, deriv: Derivation, decide: Decider) -> list[ItemCheck]:
    """For each required result: where the student states it, and whether it is right.

    The student's result is compared with what the step states, as written: one of
    the item's forms, its element form (``d(L)/d(w2[i, m])``: the engine's own
    element, for every value of the free indices), or the derivative times a factor
    (``N * d(L)/d(z2) = a2 - y``).
    """
    layout = prepared.layout
    items = prepared.key.rubric.items
    checks: dict[str, ItemCheck] = {}

    def scalar(node: E) -> bool:
        try:
            return decide.base.shape(node, layout) == ()
        except Exception:  # an ill-formed factor: it states nothing
            return False

    for item in items:
        found = _stating_step(item, deriv.steps, scalar)
        if found is None:
            checks[item.id] = ItemCheck(item.id)
            continue
        k, step, stated, final, first = found
        own = _own_result(stated, final)  # the student's value of the derivative itself
        text = to_text(own)
        if _has_derivative(final):
            checks[item.id] = ItemCheck(item.id, k, step.id, text, own, closed_form=False,
                                        first_link=first)
            continue
        # a scaled statement is graded as the derivative itself against the student's
        # value of it (final over the factor): (c - c) * d(L)/d(v) = (c - c) * w is
        # true, 0 = 0, and states nothing about d(L)/d(v) (w * 0/0 is defined nowhere)
        plain = _plain_form(stated)
        outcome, diags = decide(plain, own, layout, (), True) if plain is not stated \
            else decide(stated, final, layout, (), True)
        checks[item.id] = ItemCheck(item.id, k, step.id, text, own, outcome=outcome,
                                    diagnoses=tuple(diags), first_link=first)
    # follow-through: a wrong result that follows correctly from the student's own
    # wrong result of another item, through the key's ``via``
    for item in items:
        c = checks[item.id]
        if item.via is None or c.outcome is None or c.outcome.verdict.holds \
                or c.outcome.verdict == Verdict.UNDECIDED:
            continue
        replace_with: dict[E, E] = {}
        from_wrong: list[str] = []
        for other in items:
            if other.id == item.id or not any(f in set(item.via.walk()) for f in other.forms):
                continue
            oc = checks[other.id]
            if oc.final is None or oc.outcome is None:
                continue
            for f in other.forms:
                replace_with[f] = oc.final
            if oc.outcome.verdict in (Verdict.REFUTED, Verdict.ILL_FORMED):
                from_wrong.append(other.id)
        if not from_wrong:
            continue
        expected = _substitute(item.via, replace_with)
        assert c.final is not None
        via_out, _ = decide(c.final, expected, layout, (), False)
        checks[item.id] = replace(c, via_outcome=via_out, via_expected=to_text(expected),
                                  via_from=tuple(from_wrong))
    return [checks[item.id] for item in items]


def _element_of(node: E, forms: tuple[E, ...]) -> bool:
    """``node`` is ``d(f)/d(x[i, ...])`` with distinct free indices, for a form
    ``d(f)/d(x)``: every element of it, once the indices range over their values."""
    if node.op != "d" or node.args[1].op != "elem":
        return False
    var, *indices = node.args[1].args
    if not indices or any(i.op != "idx" for i in indices) \
            or len({i.val for i in indices}) != len(indices):
        return False
    return any(f.op == "d" and f.args[0] == node.args[0] and f.args[1] == var for f in forms)


def _states(node: E, item: Item, scalar: Callable[[E], bool]) -> bool:
    """``node`` (one end of a step) states the item: one of its forms, an element form
    of one, or either of them negated, times or over a scalar without a derivative."""
    def plain(n: E) -> bool:
        return n in item.forms or _element_of(n, item.forms)

    if plain(node):
        return True
    if node.op == "neg":
        return plain(node.args[0])
    if node.op in ("mul", "div"):
        a, b = node.args
        if plain(a) and not _has_derivative(b) and scalar(b):
            return True
        return node.op == "mul" and plain(b) and not _has_derivative(a) and scalar(a)
    return False


def _plain_form(stated: E) -> E:
    """The derivative a stated end is a multiple of (``N * d(L)/d(z2)``: ``d(L)/d(z2)``),
    or the end itself when it is not scaled (negation included: ``-d = r`` is ``d = -r``
    exactly, so it is decided as written)."""
    if stated.op == "mul":
        a, b = stated.args
        return b if _has_derivative(b) else a
    if stated.op == "div":
        return stated.args[0]
    return stated


def _own_result(stated: E, final: E) -> E:
    """The student's value of the derivative itself, from ``stated = final``:
    ``N * d(L)/d(z2) = a2 - y`` gives ``(a2 - y) / N``."""
    if stated.op == "neg":
        return E("neg", (final,))
    if stated.op == "mul":
        a, b = stated.args
        return E("div", (final, b if not _has_derivative(b) else a))
    if stated.op == "div":
        return E("mul", (final, stated.args[1]))
    return final


def _stating_step(item: Item, steps: tuple[Step, ...], scalar: Callable[[E], bool]
                  ) -> tuple[int, Step, E, E, int] | None:
    """The step that states the item: (index, step, the end that states it, the
    student's result at the other end, the first link of the item's work).

    A step states an item when its derivative opens the step (``d(L)/d(z) = ...
    = result``) or closes it after a closed form (``result = d(L)/d(z)``); the
    last such step is the student's answer.  Failing that, a chain through the
    derivative (``d(L)/d(b) = d(L)/d(z) = result``) states it from there on; a
    step that only ends with it (``d(L)/d(b) = d(L)/d(z)``) does not.  What
    states the item is ``_states``: a form, an element form, or a scaled one.
    """
    own = None
    through = None
    for k, step in enumerate(steps):
        nodes = [e.node for e in step.exprs]
        last = len(nodes) - 1
        if _states(nodes[0], item, scalar):
            own = (k, step, nodes[0], nodes[-1], 0)
        elif _states(nodes[last], item, scalar) and not _has_derivative(nodes[0]):
            own = (k, step, nodes[last], nodes[0], 0)
        else:
            inside = [i for i in range(1, last) if _states(nodes[i], item, scalar)]
            if inside:
                through = (k, step, nodes[inside[-1]], nodes[-1], inside[-1])
    return own or through


def _has_derivative(node: E) -> bool:
    return any(n.op == "d" for n in node.walk())


def _substitute(node: E, mapping: dict[E, E]) -> E:
    if node in mapping:
        return mapping[node]
    if not node.args:
        return node
    return E(node.op, tuple(_substitute(a, mapping) for a in node.args), node.val, node.pos)


def finish(prepared: Prepared, checked: Checked, proofs: dict[tuple, Limited]) -> SubmissionGrade:
    """Apply the proofs and score the submission."""
    rubric = prepared.key.rubric
    if checked.error is not None or checked.derivation is None:
        return SubmissionGrade(checked.student, checked.path, 0.0, rubric.max_points, (),
                               (), (), checked.error or "not read", checked.seconds)
    deriv = checked.derivation

    def proof_of(o: Outcome | None) -> Limited | None:
        key = proof_key(checked.context, o) if o is not None else None
        return proofs.get(key) if key is not None else None

    def proved(o: Outcome | None) -> Outcome | None:
        result = proof_of(o)
        return o if o is None or result is None else with_proof(o, as_proof(result))

    steps: list[StepResult] = []
    for step, links in zip(deriv.steps, checked.drafts):
        for d in links:
            result = proof_of(d.outcome)
            if result is not None:
                d.apply_proof(result)
        steps.append(_step_result(step, links, prepared.options.latex))
    items = [replace(c, outcome=proved(c.outcome), via_outcome=proved(c.via_outcome))
             for c in checked.items]
    grades = score_items(rubric, items, {s.id: s for s in steps})
    total = round(sum(g.points for g in grades), 4)
    return SubmissionGrade(checked.student, checked.path, total, rubric.max_points,
                           tuple(grades), tuple(steps), deriv.step_errors, None,
                           checked.seconds, deriv.warnings)


def grade_one(prepared: Prepared, student: str, path: str | Path,
              text: str | None = None) -> SubmissionGrade:
    """Grade one submission in this process, proofs included (the Python API)."""
    from derivcheck.engine.limits import WorkerPool

    checked = check_submission(prepared, student, str(path), text)
    results: dict[tuple, Limited] = {}
    if prepared.options.symbolic and checked.proofs:
        with WorkerPool(prepared.options.workers, seconds=prepared.options.time_limit) as pool:
            jobs = {k: pool.submit(*call) for k, call in checked.proofs.items()}
            done = pool.results()
        results = {k: done[j] for k, j in jobs.items()}
    return finish(prepared, checked, results)

