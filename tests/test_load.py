"""Loading derivation files: input errors with a file position, refused YAML features."""

from __future__ import annotations

from pathlib import Path

import pytest

from derivcheck.errors import InputError
from derivcheck.load import load_file, load_text
from derivcheck.verify import verify_derivation, verify_file
from tests.conftest import FAST, derivation_yaml

HEAD = "title: t\nsymbols:\n  x: vector n\n  y: vector n\n  i: index n\nsteps:\n"
GOOD = HEAD + "  - id: a\n    claim: x = x\n"


def load_error(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        load_text(text, path="f.yaml")
    return info.value


def test_a_good_file_loads() -> None:
    d = load_text(GOOD, path="f.yaml")
    assert d.title == "t"
    assert [s.id for s in d.steps] == ["a"]
    assert d.symbols["x"].shape == ("n", 1)
    assert d.steps[0].loc.line == 7


# -- the caret points at the offending character of an expression ---------------------

# (id, step text) -- every case has the unknown name `qq` in it.
CARETS = [
    ("plain", "  - id: a\n    claim: x = x + qq\n"),
    ("double quoted", '  - id: a\n    claim: "x = x + qq"\n'),
    ("single quoted", "  - id: a\n    claim: 'x = x + qq'\n"),
    ("leading spaces in quotes", "  - id: a\n    claim: '  x = x + qq'\n"),
    ("spaces after =", "  - id: a\n    claim: x =    x + qq\n"),
    ("left side", "  - id: a\n    claim: qq + x = x\n"),
    ("chain item", "  - id: a\n    chain:\n      - x\n      - x + qq\n"),
    ("quoted chain item", '  - id: a\n    chain:\n      - "x"\n      - "x + qq"\n'),
    ("flow chain", '  - id: a\n    chain: [x, "x + qq"]\n'),
    ("flow mapping", '  - {id: a, claim: "x = x + qq"}\n'),
    ("definition", None),
    ("folded block", "  - id: a\n    claim: >-\n      x = x + qq\n"),
    ("literal block", "  - id: a\n    claim: |-\n      x = x + qq\n"),
    ("continued plain", "  - id: a\n    claim: x =\n      x + qq\n"),
    ("continued quoted", '  - id: a\n    claim: "x =\n      x + qq"\n'),
    ("escape before", '  - id: a\n    claim: "x = x\\t+ qq"\n'),
]
_CARET_PARAMS = [pytest.param(text, id=name) for name, text in CARETS]


@pytest.mark.parametrize("step", _CARET_PARAMS)
def test_caret_points_at_the_unknown_name(step: str | None) -> None:
    if step is None:  # the unknown name inside a definition
        text = HEAD.replace("steps:\n", "define:\n  z: x + qq\nsteps:\n") + \
            "  - id: a\n    claim: x = x\n"
    else:
        text = HEAD + step
    err = load_error(text)
    assert "unknown name 'qq'" in err.message
    lines = text.splitlines()
    assert err.source_line == lines[err.line - 1]
    assert err.source_line[err.col - 1:err.col + 1] == "qq"
    caret = err.format().splitlines()
    assert caret[-1].strip() == "^" or caret[-2].strip() == "^"
    marker = next(line for line in caret if line.strip() == "^")
    source = next(line for line in caret if line.strip() == err.source_line.strip())
    assert source[marker.index("^"):].startswith("qq")


def test_format_names_path_line_column_and_context() -> None:
    err = load_error(HEAD + "  - id: dL_dW\n    claim: x = x + qq\n")
    first = err.format().splitlines()[0]
    assert first.startswith("f.yaml:8:20: step dL_dW: unknown name 'qq'")
    assert "hint:" in err.format()


# -- YAML syntax errors ---------------------------------------------------------

# (id, text, line, col) -- the position of the problem, 1-based
YAML_ERRORS = [
    ("tab indentation", "title: t\nsymbols:\n\tx: vector n\nsteps: []\n", 3, 1),
    ("unclosed flow mapping", "title: t\nsymbols: {x: vector n\nsteps:\n  - id: a\n", 3, 6),
    ("bad indentation", "title: t\nsymbols:\n  x: vector n\n   y: vector n\nsteps: []\n", 4, 5),
    ("duplicate key", "title: t\ntitle: u\nsymbols:\n  x: vector n\nsteps: []\n", 2, 1),
]


@pytest.mark.parametrize(("text", "line", "col"), [c[1:] for c in YAML_ERRORS],
                         ids=[c[0] for c in YAML_ERRORS])
def test_yaml_syntax_errors_have_a_position(text: str, line: int, col: int) -> None:
    err = load_error(text)
    assert err.message.startswith("YAML error")
    assert (err.line, err.col) == (line, col)


# -- structure of the document ----------------------------------------------------

# (id, text, message fragment, line, col of the offending key or value)
STRUCTURE = [
    ("unknown top-level key", GOOD + "extra: 1\n", "unknown key 'extra'", 9, 1),
    ("unknown step key", GOOD + "    foo: 1\n", "unknown step key 'foo'", 9, 5),
    # the misspelt key first, not the key it leaves missing
    ("misspelt claim", GOOD + "  - id: b\n    claims: x = x\n", "unknown step key 'claims'",
     10, 5),
    ("the constant e", GOOD + "  - id: b\n    claim: e * x = x\n", "'e' is not a constant",
     10, 12),
    ("the constant pi", GOOD + "  - id: b\n    claim: pi * x = x\n", "no constant pi", 10, 12),
    ("unknown kind", GOOD.replace("y: vector n", "y: tensor n"), "unknown kind 'tensor'", 4, 6),
    ("too few dims", GOOD.replace("y: vector n", "y: matrix n"),
     "kind 'matrix' takes 2 dimensions, got 1", 4, 6),
    ("too many dims", GOOD.replace("y: vector n", "y: vector n m"),
     "kind 'vector' takes 1 dimension, got 2", 4, 6),
    ("index without dim", GOOD.replace("i: index n", "i: index"),
     "kind 'index' takes 1 dimension, got 0", 5, 6),
    ("duplicate step id", GOOD + "  - id: a\n    claim: y = y\n", "duplicate step id 'a'", 9, 9),
    ("step without claim or chain", GOOD + "  - id: b\n    note: hi\n",
     "needs 'claim', 'chain' or 'latex'", 9, 5),
    ("step with both", GOOD + "  - id: b\n    claim: x = x\n    chain: [x, x]\n",
     "either 'claim' or 'chain'", 9, 5),
    ("step without id", GOOD + "  - claim: x = x\n", "step without an 'id'", 9, 5),
    ("bad expect value", GOOD + "    expect: maybe\n", "unknown expected verdict 'maybe'", 9, 13),
    ("boolean expect", GOOD + "    expect: true\n", "unknown expected verdict", 9, 13),
    ("expect too short", GOOD + "  - id: b\n    chain: [x, x, x]\n    expect: [holds]\n",
     "'expect' has 1 values for 2 links", 11, 13),
    ("expect too long", GOOD + "  - id: b\n    chain: [x, x]\n    expect: [holds, holds]\n",
     "'expect' has 2 values for 1 link", 11, 13),
    ("expect list for a claim", GOOD + "    expect: [holds, refuted]\n",
     "'expect' has 2 values for 1 link", 9, 13),
    ("one-item chain", GOOD + "  - id: b\n    chain: [x]\n", "at least two", 10, 12),
    ("claim not a string", GOOD + "  - id: b\n    claim: [x, y]\n", "a claim is a string", 10, 12),
    ("claim without =", GOOD + "  - id: b\n    claim: x + y\n", "needs one '='", 10, 17),
    ("claim with two =", GOOD + "  - id: b\n    claim: x = y = x\n", "exactly one '='", 10, 18),
    ("unknown layout", GOOD + "    layout: sideways\n", "unknown layout 'sideways'", 9, 13),
    ("unknown convention", GOOD + "conventions: {foo: 1}\n", "unknown convention 'foo'", 9, 15),
    ("relu_prime_at_zero 2", GOOD + "conventions: {relu_prime_at_zero: 2}\n",
     "relu_prime_at_zero must be 0 or 1", 9, 35),
    ("unknown assumption", GOOD + "assume: [is_magic(x)]\n", "unknown assumption", 9, 10),
    ("assumption on an undeclared name", GOOD + "assume: [is_onehot(zz)]\n",
     "'zz' is not a declared symbol", 9, 10),
    ("assumption on the wrong shape", GOOD + "assume: [is_symmetric(x)]\n",
     "does not apply", 9, 10),
    ("reserved symbol name", GOOD.replace("y: vector n", "exp: vector n"),
     "'exp' cannot be a symbol name", 4, 3),
    ("symbol and dimension clash", GOOD.replace("y: vector n", "n: scalar"),
     "both a symbol and a dimension", 4, 3),
    ("definition shadows a symbol", GOOD.replace("steps:", "define:\n  x: y\nsteps:"),
     "already declared as a symbol", 7, 3),
    ("definition used before it is defined",
     GOOD.replace("steps:", "define:\n  q: r\n  r: x\nsteps:"), "unknown name 'r'", 7, 6),
    ("missing steps", "title: t\nsymbols:\n  x: vector n\n", "missing 'steps:'", 1, 1),
    ("empty steps", "title: t\nsymbols:\n  x: vector n\nsteps: []\n", "non-empty list", 4, 8),
    ("missing symbols", "title: t\nsteps:\n  - id: a\n    claim: x = x\n", "missing 'symbols:'",
     1, 1),
    ("not a mapping", "- a\n- b\n", "a YAML mapping", 1, 1),
]


@pytest.mark.parametrize(("text", "fragment", "line", "col"), [c[1:] for c in STRUCTURE],
                         ids=[c[0] for c in STRUCTURE])
def test_structure_errors(text: str, fragment: str, line: int, col: int) -> None:
    err = load_error(text)
    assert fragment in err.message
    assert (err.line, err.col) == (line, col)


@pytest.mark.parametrize("name", ["lambda", "in", "None"])
def test_python_keyword_is_refused_where_it_is_declared(name: str) -> None:
    text = f"title: t\nsymbols:\n  x: vector n\n  {name}: scalar\nsteps:\n" \
           f"  - id: a\n    claim: x = {name} * x\n"
    err = load_error(text)
    assert err.line == 4
    assert "cannot be a symbol name" in err.message


def test_duplicate_step_id_names_the_first_line() -> None:
    err = load_error(GOOD + "  - id: a\n    claim: y = y\n")
    assert "line 7" in err.hint


def test_unknown_kind_lists_the_kinds() -> None:
    err = load_error(GOOD.replace("y: vector n", "y: tensor n"))
    assert "onehot" in err.hint and "spdmatrix" in err.hint


# -- YAML features that are refused ---------------------------------------------------

REFUSED_YAML = [
    ("python tag", GOOD.replace("title: t", "title: !!python/object/apply:os.system ['true']"),
     "YAML tag", 1, 8),
    ("python name tag", GOOD.replace("title: t", "title: !!python/name:os.system ''"),
     "YAML tag", 1, 8),
    ("str tag on a claim", GOOD.replace("claim: x = x", "claim: !!str x = x"), "YAML tag", 8, 12),
    ("local tag", GOOD.replace("y: vector n", "y: !vec vector n"), "YAML tag", 4, 6),
    ("anchor and alias", GOOD.replace("x: vector n", "x: &v vector n").replace(
        "y: vector n", "y: *v"), "anchors and aliases", 3, 6),
    ("anchor on a step", GOOD + "  - &s {id: b, claim: x = x}\n", "anchors and aliases", 9, 5),
    ("anchored top-level value", GOOD.replace("steps:\n", "base: &b {id: c}\nsteps:\n"),
     "anchors and aliases", 6, 7),
]


@pytest.mark.parametrize(("text", "fragment", "line", "col"), [c[1:] for c in REFUSED_YAML],
                         ids=[c[0] for c in REFUSED_YAML])
def test_refused_yaml_features(text: str, fragment: str, line: int, col: int) -> None:
    err = load_error(text)
    assert fragment in err.message
    assert (err.line, err.col) == (line, col)


def test_python_tag_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = GOOD.replace("title: t", f"title: !!python/object/apply:os.system ['touch {marker}']")
    load_error(text)
    assert not marker.exists()


# -- files ----------------------------------------------------------------------

def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(GOOD.replace("title: t", "title: caf\xe9").encode("latin-1"))
    with pytest.raises(InputError) as info:
        load_file(path)
    assert "not UTF-8" in info.value.message
    assert info.value.path == str(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_file(tmp_path / "nope.yaml")
    assert "cannot read file" in info.value.message


def test_utf8_file_with_non_ascii_note(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(GOOD + "    note: 'σ(z) — café'\n", encoding="utf-8")
    assert load_file(path).steps[0].note == "σ(z) — café"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(InputError):
        load_file(path)


def test_shape_mismatched_definition_names_the_definition() -> None:
    text = derivation_yaml(symbols={"W": "matrix H D", "x": "vector H"},
                           define={"z": "W @ x"}, steps=[{"id": "a", "claim": "x = x"}])
    derivation = load_text(text, path="f.yaml")
    with pytest.raises(InputError) as info:
        verify_derivation(derivation, FAST)
    err = info.value
    assert err.context == "define z"
    assert "(H, D)" in err.message and "(H, 1)" in err.message
    assert err.line == 6


def test_shape_mismatched_definition_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "bad_define.yaml"
    path.write_text(derivation_yaml(symbols={"W": "matrix H D", "x": "vector H"},
                                    define={"z": "W @ x"},
                                    steps=[{"id": "a", "claim": "x = x"}]), encoding="utf-8")
    result = verify_file(path, FAST)
    assert result.steps == ()
    assert result.error is not None and "define z" in result.error


def test_definition_with_a_derivative_is_an_input_error() -> None:
    text = derivation_yaml(symbols={"x": "vector n"}, define={"g": "d(sum(x))/d(x)"},
                           steps=[{"id": "a", "claim": "x = x"}])
    with pytest.raises(InputError) as info:
        verify_derivation(load_text(text), FAST)
    assert info.value.context == "define g"
