"""The JSON Schemas: shipped, valid draft-07, in step with the code, and checked on load.

The schema must never refuse a file the loader accepts: every file of the
repository validates, a table of lenient cases validates, and a fuzz test
checks the rule on mutated documents (with the loader's own checks alone).
"""

from __future__ import annotations

import copy
import io
import json
import keyword
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from derivcheck.cli import main
from derivcheck.codes import CODES
from derivcheck.errors import InputError
from derivcheck.grade.key import ITEM_KEYS, MAX_ITEMS, POLICY_KEYS, RUBRIC_KEYS, load_key_text
from derivcheck.load import (
    MAX_STEPS,
    RESERVED,
    STEP_KEYS,
    SUBMISSION_KEYS,
    TOP_KEYS,
    _Loader,
    load_submission_text,
    load_text,
)
from derivcheck.model import EXPECT_VALUES, KINDS, LAYOUTS, PREDICATES
from derivcheck.schema import NAMES, load_schema, schema_path
from derivcheck.schema.build import dump
from derivcheck.schema.validate import first_problem, problems
from tests.conftest import ROOT

jsonschema = pytest.importorskip("jsonschema")

HEAD = "title: t\nsymbols:\n  x: vector n\n  y: vector n\n  i: index n\nsteps:\n"
GOOD = HEAD + "  - id: a\n    claim: x = x\n"
KEY = (GOOD + "rubric:\n  policy: {result: 0.5, follow_through: 0.5}\n  items:\n"
       "    - id: r\n      result: d(sum(x))/d(x)\n      points: 2\n")
KEY_SOURCE = (ROOT / "examples" / "mlp004" / "key.yaml").read_text(encoding="utf-8")


def parse(text: str) -> Any:
    return YAML(typ="rt", pure=True).load(text)


def plain(doc: Any) -> Any:
    """The document as plain JSON data (for the jsonschema library)."""
    return json.loads(json.dumps(doc))


def reference_valid(doc: Any, name: str) -> bool:
    return jsonschema.Draft7Validator(load_schema(name)).is_valid(plain(doc))


def files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.yaml"))


def schema_of(path: Path) -> str:
    if "submissions" in path.parts:  # a file per student, or a folder per student
        return "submission"
    return "key" if path.name == "key.yaml" else "derivation"


# -- the schemas themselves --------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_schema_is_valid_draft_07(name: str) -> None:
    schema = load_schema(name)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)


@pytest.mark.parametrize("name", NAMES)
def test_shipped_file_is_what_the_code_builds(name: str) -> None:
    # regenerate with: python -m derivcheck.schema.build
    assert schema_path(name).read_text(encoding="utf-8") == dump(name)


def _walk(node: Any, trail: str = "#") -> list[tuple[str, dict[str, Any]]]:
    out = []
    if isinstance(node, dict):
        out.append((trail, node))
        for k, v in node.items():
            out += _walk(v, f"{trail}/{k}")
    elif isinstance(node, list):
        for k, v in enumerate(node):
            out += _walk(v, f"{trail}/{k}")
    return out


@pytest.mark.parametrize("name", NAMES)
def test_every_property_has_a_description(name: str) -> None:
    schema = load_schema(name)
    defs = schema["definitions"]
    for trail, node in _walk(schema):
        for prop, sub in node.get("properties", {}).items():
            target = defs[sub["$ref"].split("/")[-1]] if "$ref" in sub else sub
            assert target.get("description"), f"{trail}/properties/{prop}"


def _defs(name: str = "key") -> dict[str, Any]:
    return load_schema(name)["definitions"]  # type: ignore[no-any-return]


# (id, what the schema says, what the code says)
CONSTANTS = [
    ("layouts", lambda: _defs()["conventions"]["anyOf"][0]["properties"]["layout"]["enum"],
     lambda: list(LAYOUTS)),
    ("step layouts", lambda: _defs()["step"]["properties"]["layout"]["enum"],
     lambda: list(LAYOUTS)),
    ("expect values", lambda: _defs()["expect"]["enum"], lambda: list(EXPECT_VALUES)),
    ("diagnosis codes", lambda: _defs()["policy"]["properties"]["penalties"]
     ["propertyNames"]["enum"], lambda: list(CODES)),
    ("step keys", lambda: sorted(_defs()["step"]["properties"]), lambda: sorted(STEP_KEYS)),
    ("derivation keys", lambda: list(load_schema("derivation")["properties"]),
     lambda: list(TOP_KEYS)),
    ("key keys", lambda: list(load_schema("key")["properties"]),
     lambda: [*TOP_KEYS, "rubric"]),
    ("submission keys", lambda: list(load_schema("submission")["properties"]),
     lambda: list(SUBMISSION_KEYS)),
    ("rubric keys", lambda: sorted(_defs()["rubric"]["properties"]), lambda: sorted(RUBRIC_KEYS)),
    ("policy keys", lambda: sorted(_defs()["policy"]["properties"]), lambda: sorted(POLICY_KEYS)),
    ("item keys", lambda: sorted(_defs()["item"]["properties"]), lambda: sorted(ITEM_KEYS)),
    ("most steps", lambda: _defs()["steps"]["maxItems"], lambda: MAX_STEPS),
    ("most items", lambda: _defs()["rubric"]["properties"]["items"]["maxItems"],
     lambda: MAX_ITEMS),
    ("reserved names", lambda: set(_defs()["name"]["not"]["enum"]),
     lambda: {n for n in RESERVED if n not in ("type", "_")}),
]


@pytest.mark.parametrize(("schema_says", "code_says"), [c[1:] for c in CONSTANTS],
                         ids=[c[0] for c in CONSTANTS])
def test_schema_enums_are_the_code_constants(schema_says: Any, code_says: Any) -> None:
    assert schema_says() == code_says()


def test_reserved_names_are_functions_constants_and_keywords() -> None:
    reserved = set(_defs()["name"]["not"]["enum"])
    assert {"exp", "softmax", "d", "T", "pi", "lambda", "None"} <= reserved
    assert set(keyword.kwlist) <= reserved


@pytest.mark.parametrize("kind", list(KINDS))
def test_kind_pattern_takes_each_kind_with_its_number_of_dimensions(kind: str) -> None:
    n_dims = KINDS[kind][0]
    kind_schema = {**_defs()["kind"], "$schema": "http://json-schema.org/draft-07/schema#"}
    check = jsonschema.Draft7Validator(kind_schema).is_valid
    dims = ["K", "H", "D"]
    assert check(" ".join([kind, *dims[:n_dims]]))
    assert not check(" ".join([kind, *dims[:n_dims + 1]]))
    if n_dims:
        assert not check(" ".join([kind, *dims[:n_dims - 1]]))
    assert not check(kind + "x " + " ".join(dims[:n_dims]))


def test_predicates_are_the_code_predicates() -> None:
    pattern = _defs()["assume"]["anyOf"][0]["items"]["pattern"]
    assert all(p in pattern for p in PREDICATES)
    check = jsonschema.Draft7Validator({"pattern": pattern}).is_valid
    assert all(check(f"{p}(x)") for p in PREDICATES)
    assert not check("is_magic(x)")


# -- every file of the repository validates ----------------------------------------

# tariq.yaml is the example class's deliberately unreadable submission (a YAML
# syntax error): grading must give it 0 with the reason, there is nothing to validate
REPO_FILES = files("derivations") + files("bench/corpus") + [
    p for p in files("examples") if p.name != "tariq.yaml"]


@pytest.mark.parametrize("path", REPO_FILES, ids=[str(p.relative_to(ROOT)) for p in REPO_FILES])
def test_repository_file_validates(path: Path) -> None:
    doc = parse(path.read_text(encoding="utf-8"))
    name = schema_of(path)
    assert problems(doc, name) == []
    assert reference_valid(doc, name)


def test_the_repository_has_files_of_each_kind() -> None:
    assert {schema_of(p) for p in REPO_FILES} == set(NAMES)
    assert len(REPO_FILES) >= 15


# -- what the loader accepts, the schema accepts -------------------------------------

# (id, text): unusual but accepted by the loader
LENIENT = [
    ("empty conventions", GOOD + "conventions:\n"),
    ("empty define", GOOD + "define:\n"),
    ("empty assume", GOOD + "assume:\n"),
    ("empty list as define", GOOD + "define: []\n"),
    ("empty mapping as assume", GOOD + "assume: {}\n"),
    ("numeric title", GOOD.replace("title: t", "title: 2024")),
    ("numeric step id", GOOD.replace("id: a", "id: 7")),
    ("note is a mapping", GOOD + "    note: {line: 12}\n"),
    ("note is a number", GOOD + "    note: 3\n"),
    ("relu_prime_at_zero 1.0", GOOD + "conventions: {relu_prime_at_zero: 1.0}\n"),
    ("expect list of one", GOOD + "    expect: [holds]\n"),
    ("numeric chain item", HEAD + "  - id: a\n    chain: [x - x, 0]\n"),
    ("points 0", GOOD + "    points: 0\n"),
    ("symbol with latex", GOOD.replace("y: vector n", "y: {kind: vector n, latex: 'y_1'}")),
    ("kind with extra spaces", GOOD.replace("y: vector n", "y: '  vector   n '")),
    ("assumption with spaces", GOOD + "assume: [' is_positive ( x ) ']\n"),
    ("latex step only", HEAD + "  - id: a\n    latex: 'x = x'\n"),
]


@pytest.mark.parametrize("text", [c[1] for c in LENIENT], ids=[c[0] for c in LENIENT])
def test_lenient_case_is_accepted_by_loader_and_schema(text: str) -> None:
    load_text(text, "f.yaml")
    doc = parse(text)
    assert problems(doc, "derivation") == []
    assert reference_valid(doc, "derivation")


# -- invalid files: the schema's error, at the right place ---------------------------

# (id, schema, text, line, col, message fragment) -- line and column 1-based
INVALID = [
    ("unknown top-level key", "derivation", GOOD + "extra: 1\n", 9, 1, "unknown key 'extra'"),
    ("misspelt steps", "derivation", GOOD.replace("steps:", "step:"), 6, 1,
     "unknown key 'step'"),
    ("missing title", "derivation", GOOD.replace("title: t\n", ""), 1, 1, "missing 'title:'"),
    ("title a list", "derivation", GOOD.replace("title: t", "title: [a]"), 1, 8,
     "'title' must be a string"),
    ("symbols a list", "derivation", GOOD.replace("symbols:\n  x: vector n\n  y: vector n\n"
                                                  "  i: index n", "symbols: [x]"), 2, 10,
     "'symbols' must map names to kinds"),
    ("unknown kind", "derivation", GOOD.replace("y: vector n", "y: vectr n"), 4, 6,
     "unknown kind 'vectr' (did you mean 'vector'?)"),
    ("matrix with one dim", "derivation", GOOD.replace("y: vector n", "y: matrix n"), 4, 6,
     "kind 'matrix' takes 2 dimensions, got 1"),
    ("kind a number", "derivation", GOOD.replace("y: vector n", "y: 3"), 4, 6,
     "the kind must be a string"),
    ("symbol key", "derivation", GOOD.replace("y: vector n", "y: {kind: vector n, shape: 2}"),
     4, 23, "unknown symbol key 'shape'"),
    ("symbol without kind", "derivation", GOOD.replace("y: vector n", "y: {latex: y}"), 4, 6,
     "missing 'kind'"),
    ("reserved symbol name", "derivation", GOOD.replace("y: vector n", "exp: vector n"), 4, 3,
     "'exp' cannot be a symbol name"),
    ("numeric symbol name", "derivation", GOOD.replace("y: vector n", "1: vector n"), 4, 3,
     "'1' cannot be a symbol name"),
    ("conventions a list", "derivation", GOOD + "conventions: [gradient]\n", 9, 14,
     "'conventions' must be a mapping"),
    ("unknown convention", "derivation", GOOD + "conventions: {foo: 1}\n", 9, 15,
     "unknown convention 'foo'"),
    ("unknown layout", "derivation", GOOD + "conventions: {layout: sideways}\n", 9, 23,
     "unknown layout 'sideways'"),
    ("relu_prime_at_zero true", "derivation", GOOD + "conventions: {relu_prime_at_zero: true}\n",
     9, 35, "relu_prime_at_zero must be 0 or 1"),
    ("unknown assumption", "derivation", GOOD + "assume:\n  - is_prob(x)\n  - is_magic(x)\n",
     11, 5, "unknown assumption 'is_magic(x)'"),
    ("define a string", "derivation", GOOD + "define: z = x\n", 9, 9,
     "'define' must map names to expressions"),
    ("define a mapping value", "derivation", GOOD + "define:\n  z: {a: 1}\n", 10, 6,
     "expected an expression"),
    ("steps a mapping", "derivation", HEAD + "  a: x = x\n", 7, 3,
     "'steps' must be a non-empty list"),
    ("step a string", "derivation", HEAD + "  - x = x\n", 7, 5, "a step is a mapping"),
    ("unknown step key", "derivation", GOOD + "    claims: x = x\n", 9, 5,
     "unknown step key 'claims'"),
    ("step without id", "derivation", HEAD + "  - claim: x = x\n", 7, 5, "step without an 'id'"),
    ("step without claim", "derivation", HEAD + "  - id: a\n    note: n\n", 7, 5,
     "needs 'claim', 'chain' or 'latex'"),
    ("claim and chain", "derivation", GOOD + "    chain: [x, x]\n", 7, 5,
     "either 'claim' or 'chain'"),
    ("claim a number", "derivation", HEAD + "  - id: a\n    claim: 3\n", 8, 12,
     "a claim is a string"),
    ("chain of one", "derivation", HEAD + "  - id: a\n    chain: [x]\n", 8, 12,
     "at least two expressions"),
    ("chain item a list", "derivation", HEAD + "  - id: a\n    chain: [x, [x]]\n", 8, 16,
     "expected an expression"),
    ("latex list of one", "derivation", HEAD + "  - id: a\n    latex: [x]\n", 8, 12,
     "a list of at least two strings"),
    ("bad expect", "derivation", GOOD + "    expect: maybe\n", 9, 13,
     "unknown expected verdict 'maybe'"),
    ("bad expect in a list", "derivation",
     HEAD + "  - id: a\n    chain: [x, x, x]\n    expect:\n      - holds\n      - maybe\n",
     11, 9, "unknown expected verdict 'maybe'"),
    ("step layout", "derivation", GOOD + "    layout: rows\n", 9, 13, "unknown layout 'rows'"),
    ("negative points", "derivation", GOOD + "    points: -1\n", 9, 13,
     "'points' must be between 0 and 1e+06"),
    ("points a string", "derivation", GOOD + "    points: two\n", 9, 13,
     "'points' must be a number"),
    ("rubric in a derivation", "derivation", KEY, 9, 1, "unknown key 'rubric'"),
    ("key without rubric", "key", GOOD, 1, 1, "an answer key needs a 'rubric:'"),
    ("unknown rubric key", "key", KEY + "  bonus: 1\n", 15, 3, "unknown rubric key 'bonus'"),
    ("fraction over 1", "key", KEY.replace("result: 0.5", "result: 2"), 10, 20,
     "'result' is a fraction between 0 and 1"),
    ("unknown policy key", "key", KEY.replace("result: 0.5", "results: 0.5"), 10, 12,
     "unknown policy key 'results'"),
    ("unknown penalty code", "key", KEY.replace("follow_through: 0.5",
                                                "penalties: {sign: 1}"), 10, 37,
     "unknown diagnosis code 'sign'"),
    ("item without points", "key", KEY.replace("      points: 2\n", ""), 12, 7,
     "rubric item without 'points'"),
    ("item without result", "key", KEY.replace("      result: d(sum(x))/d(x)\n", ""), 12, 7,
     "rubric item without 'result'"),
    ("unknown item key", "key", KEY + "      weight: 1\n", 15, 7,
     "unknown rubric item key 'weight'"),
    ("empty items", "key", GOOD + "rubric:\n  items: []\n", 10, 10,
     "'items' must be a non-empty list"),
    ("conventions in a submission", "submission", "conventions: {layout: none}\nsteps:\n"
     "  - id: a\n    claim: x = x\n", 1, 1, "comes from the answer key"),
    ("submission without steps", "submission", "title: t\n", 1, 1, "missing 'steps:'"),
]


def _reader(name: str) -> Any:
    key = load_key_text(KEY, "key.yaml").derivation
    return {"derivation": lambda text: load_text(text, "f.yaml"),
            "key": lambda text: load_key_text(text, "f.yaml"),
            "submission": lambda text: load_submission_text(text, key, "f.yaml")}[name]


@pytest.mark.parametrize(("name", "text", "line", "col", "fragment"), [c[1:] for c in INVALID],
                         ids=[c[0] for c in INVALID])
def test_invalid_case_gives_the_schema_error_at_its_place(name: str, text: str, line: int,
                                                          col: int, fragment: str) -> None:
    doc = parse(text)
    found = first_problem(doc, name)
    assert found is not None
    assert fragment in found.message + found.hint
    assert (found.line + 1, found.col + 1) == (line, col)
    if _string_keys(doc):
        assert not reference_valid(doc, name)
    with pytest.raises(InputError) as info:  # the loader reports the schema's error
        _reader(name)(text)
    assert fragment in info.value.message + info.value.hint
    assert (info.value.line, info.value.col) == (line, col)
    assert info.value.source_line == text.splitlines()[line - 1]


def test_context_names_the_step() -> None:
    found = first_problem(parse(HEAD + "  - id: dW\n    claim: 3\n"), "derivation")
    assert found is not None and found.context == "step dW"


def test_other_problems_are_counted_in_the_hint() -> None:
    text = GOOD + "    foo: 1\n    layout: rows\nextra: 2\n"
    with pytest.raises(InputError) as info:
        load_text(text, "f.yaml")
    assert "unknown step key 'foo'" in info.value.message
    assert "2 more problems on lines 10, 11" in info.value.hint


def test_a_submission_step_the_schema_refuses_is_refused_alone() -> None:
    key = load_key_text(KEY, "key.yaml").derivation
    text = "steps:\n  - id: a\n    claim: x = x\n  - id: b\n    claims: y = y\n" \
           "  - id: c\n    claim: y = y\n"
    sub = load_submission_text(text, key, "s.yaml")
    assert [s.id for s in sub.steps] == ["a", "c"]
    assert len(sub.step_errors) == 1 and "unknown step key 'claims'" in sub.step_errors[0][1]


# -- the schema never refuses what the loader alone accepts (fuzz) -------------------

VALUES = [None, True, False, 0, 1, 1.0, -1, 2, 0.5, 1e7, "", "x", "x = x", "x - x",
          "holds", "maybe", "refuted", "gradient", "rows", "vector n", "matrix n n",
          "scalar", "index n", "matrix n", "is_prob(x)", "is_magic(x)", "d(sum(x))/d(x)",
          "sign-error", [], ["x"], ["x", "x"], ["holds"], ["holds", "maybe"], {},
          {"kind": "vector n"}, {"kind": "scalar", "latex": "s"}, {"a": 1}]
KEYS = ["title", "source", "symbols", "conventions", "assume", "define", "steps", "rubric",
        "id", "claim", "chain", "latex", "expect", "note", "layout", "points", "kind",
        "policy", "items", "result", "via", "penalties", "follow_through",
        "relu_prime_at_zero", "sign-error", "z", "exp", "x", "1"]
BASE = (HEAD + "  - id: a\n    claim: x = x\n    expect: holds\n    layout: gradient\n"
        "    points: 1\n  - id: b\n    chain: [x, x - 0]\n    note: n\n"
        "conventions: {layout: gradient, relu_prime_at_zero: 0}\nassume: [is_positive(x)]\n"
        "define: {z: x + y}\nrubric:\n  policy: {result: 0.5, penalties: {sign-error: 1}}\n"
        "  items:\n    - {id: r, result: d(sum(x))/d(x), points: 2, via: x - x + 1}\n")


def _mutate(doc: Any, data: st.DataObject) -> Any:
    doc = copy.deepcopy(doc)
    node = doc
    while True:
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(list(node)))
        elif isinstance(node, list) and node:
            key = data.draw(st.integers(0, len(node) - 1))
        else:
            return doc
        if data.draw(st.booleans()) or not isinstance(node[key], (dict, list)):
            action = data.draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                node[key] = copy.deepcopy(data.draw(st.sampled_from(VALUES)))
            elif action == "delete":
                del node[key]
            elif isinstance(node, dict):
                node[data.draw(st.sampled_from(KEYS))] = data.draw(st.sampled_from(VALUES))
            return doc
        node = node[key]


def _string_keys(node: Any) -> bool:
    """Whether every key is a string (JSON's only kind of key, all jsonschema takes)."""
    if isinstance(node, dict):
        return all(isinstance(k, str) and _string_keys(v) for k, v in node.items())
    if isinstance(node, list):
        return all(_string_keys(v) for v in node)
    return True


def _dump(doc: Any) -> str:
    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(doc, out)
    return out.getvalue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(["derivation", "key"]))
def test_schema_never_refuses_what_the_loader_accepts(data: st.DataObject, name: str) -> None:
    base = plain(parse(BASE))
    if name == "derivation":
        del base["rubric"]
    text = _dump(_mutate(base, data))
    doc = parse(text)
    ours = problems(doc, name) == [] if isinstance(doc, dict) else None
    if ours is not None and _string_keys(doc):
        assert ours == reference_valid(doc, name), text  # the two validators agree
    with pytest.MonkeyPatch.context() as patch:  # the loader's own checks alone
        patch.setattr(_Loader, "check_schema", lambda self, doc: None)
        try:
            if name == "key":
                load_key_text(text, "f.yaml")
            else:
                load_text(text, "f.yaml")
        except InputError:
            return
    assert ours, f"the loader accepts, the schema refuses:\n{text}"


# -- the command ------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "name"), [(["schema"], "derivation"),
                                            (["schema", "derivation"], "derivation"),
                                            (["schema", "key"], "key"),
                                            (["schema", "submission"], "submission")])
def test_schema_command_prints_the_schema(argv: list[str], name: str, capsys: Any) -> None:
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == load_schema(name)


def test_schema_path_prints_the_installed_file(capsys: Any) -> None:
    assert main(["schema", "key", "--path"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.is_absolute() and path.name == "key.schema.json"
    assert json.loads(path.read_text(encoding="utf-8")) == load_schema("key")


def test_schema_command_refuses_an_unknown_kind(capsys: Any) -> None:
    assert main(["schema", "answers"]) == 2
    assert "invalid choice" in capsys.readouterr().err
