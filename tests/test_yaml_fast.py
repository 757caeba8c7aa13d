"""The fast YAML path (``derivcheck/yaml_fast.py``) gives ruamel.yaml's tree and positions.

Every case is read both ways: where the fast path reads a text, the values (types
included) and every position (``lc.key``, ``lc.value``, ``lc.item``, ``lc.line``,
``lc.col``) must be those of ruamel.yaml's round-trip loader; what it does not read
(``None``) goes to ruamel.yaml, which owns every error.  A text ruamel.yaml refuses
is never read by the fast path.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from derivcheck import yaml_fast
from derivcheck.errors import InputError
from derivcheck.load import MAX_YAML_DEPTH, load_text
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(yaml_fast._CLoader is None, reason="PyYAML without libyaml")


def _ruamel(text: str) -> Any:
    return YAML(typ="rt", pure=True).load(text)


def _differences(a: Any, b: Any, path: str = "$") -> str | None:
    """Where ruamel.yaml's tree ``a`` and the fast tree ``b`` differ (None: nowhere)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} vs {list(b)}"
        if (a.lc.line, a.lc.col) != (b.lc.line, b.lc.col):
            return f"{path}: at {a.lc.line, a.lc.col} vs {b.lc.line, b.lc.col}"
        for k in a:
            if tuple(a.lc.key(k)) != b.lc.key(k) or tuple(a.lc.value(k)) != b.lc.value(k):
                return f"{path}.{k}: {a.lc.key(k)} {a.lc.value(k)} vs {b.lc.key(k)} {b.lc.value(k)}"
            found = _differences(a[k], b[k], f"{path}.{k}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b) or (a.lc.line, a.lc.col) != (b.lc.line, b.lc.col):
            return f"{path}: length or position"
        for i, (x, y) in enumerate(zip(a, b)):
            if tuple(a.lc.item(i)) != b.lc.item(i):
                return f"{path}[{i}]: {a.lc.item(i)} vs {b.lc.item(i)}"
            found = _differences(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    if type(a) is not type(b) or a != b or repr(a) != repr(b):
        return f"{path}: {a!r} ({type(a).__name__}) vs {b!r} ({type(b).__name__})"
    return None


def _agrees(text: str) -> str | None:
    """None if the fast path agrees with ruamel.yaml on ``text``, else how it does not."""
    fast = yaml_fast.load(text, MAX_YAML_DEPTH)
    try:
        slow = _ruamel(text)
    except Exception as exc:  # ruamel.yaml refuses it: so must the fast path
        return None if fast is None else f"ruamel.yaml refuses it ({exc!r}), fast read it"
    return None if fast is None else _differences(slow, fast)


READ = [  # (name, text): read by the fast path, exactly as ruamel.yaml reads it
    ("submission", 'steps:\n  - id: s1\n    claim: "d(L)/d(z) = a - y"\n'),
    ("flow", "steps: [{id: s1, claim: 'd(L)/d(z) = a - y'}, {id: s2, chain: [x, y]}]\n"),
    ("scalars", "a: 1\nb: 1.50\nc: true\nd: null\ne: ~\nf: 0x1F\ng: 1e3\nh: .inf\n"
                "j: yes\nk: 010\nl: -0\n"),
    ("number keys", "1: a\n2.5: b\nfalse: c\n"),
    ("block scalars", "a: |\n  line one\n  line two\nb: >\n  folded\n  text\nc: |-\n  x\n"
                      "d: >+\n  y\n\n"),
    ("quotes and escapes", "a: \"tab\\there \\u00e9 \\\"q\\\"\"\nb: 'it''s'\nc: \"\\\\\"\n"),
    ("comments", "# top\nsteps:  # the steps\n  - id: s1 # one\n    claim: x = x\n"),
    ("multi-line plain", "a: one\n  two\n  three\nb: x\n"),
    ("unicode letters", "title: Иван 张伟 é\nsteps:\n  - {id: é, claim: 'x = x'}\n"),
    ("explicit document", "---\na: 1\n...\n"),
    ("nested", "a:\n  b:\n    - c: [1, 2, {d: e}]\n      f: g\n"),
    ("scalar document", "just text\n"),
    ("indentless sequence", "a:\n- 1\n- 2\nb: c\n"),
]

LEFT_TO_RUAMEL = [  # (name, text): the fast path gives None (ruamel.yaml decides)
    ("anchor and alias", "a: &x 1\nb: *x\n"),
    ("tag", "a: !!python/object:os.system x\n"),
    ("local tag", "a: !foo x\n"),
    ("directive", "%YAML 1.2\n---\na: 1\n"),
    ("two documents", "a: 1\n---\nb: 2\n"),
    ("repeated key", "a: 1\na: 2\n"),
    ("merge key", "a: {x: 1}\n<<: {y: 2}\n"),
    ("timestamp", "a: 2001-12-14\n"),
    ("complex key", "? [a, b]\n: c\n"),
    ("empty value", "a:\nb: 1\n"),
    ("empty document", ""),
    ("tab", "a:\tb\n"),
    ("carriage return", "a: 1\r\nb: 2\r\n"),
    ("line separator", "a: x\u2028y\n"),
    ("next line", "a: x\x85y\n"),
    ("byte order mark", "\ufeffa: 1\n"),
    ("control", "a: x\x07\n"),
    ("lone surrogate escape", 'a: "\\ud800"\n'),
    ("syntax error", "a: [1, 2\n"),
    ("bad indentation", "a:\n  b: 1\n c: 2\n"),
    ("too deep", "a: " + "- " * (MAX_YAML_DEPTH + 5) + "x\n"),
]


@pytest.mark.parametrize("name,text", READ, ids=[c[0] for c in READ])
def test_read_as_ruamel_reads_it(name: str, text: str) -> None:
    assert yaml_fast.load(text, MAX_YAML_DEPTH) is not None, "not read by the fast path"
    assert _agrees(text) is None, _agrees(text)


@pytest.mark.parametrize("name,text", LEFT_TO_RUAMEL, ids=[c[0] for c in LEFT_TO_RUAMEL])
def test_left_to_ruamel(name: str, text: str) -> None:
    assert yaml_fast.load(text, MAX_YAML_DEPTH) is None


def _corpus() -> list[Path]:
    return sorted([*ROOT.glob("derivations/*.yaml"), *ROOT.glob("examples/**/*.yaml"),
                   *ROOT.glob("bench/**/*.yaml"), *ROOT.glob("docs/**/*.yaml")])


def test_every_shipped_file_is_read_as_ruamel_reads_it() -> None:
    files = _corpus()
    assert len(files) > 30
    read = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert _agrees(text) is None, f"{path}: {_agrees(text)}"
        read += yaml_fast.load(text, MAX_YAML_DEPTH) is not None
    assert read >= len(files) - 5  # a few examples are unreadable on purpose


MUTATIONS = list(":- \n\"'|>#[]{},&*!?%\\@`~012.eE+_xyz\té\u2028\r") + [
    "yes", "null", "~", "1.0", "0x1F", "2001-12-14", ".inf", "<<", "---", "...",
    "\\u00e9", "\\ud800", "|-", ">+", "  ", "\n  ", "- ", ": "]


def test_mutated_files_agree_or_go_to_ruamel() -> None:
    """Random edits of shipped files (seeded): wherever the fast path reads the result,
    ruamel.yaml reads the same tree at the same positions, and it never reads a text
    ruamel.yaml refuses.  (500 cases here; 13,000 were run when it was written.)"""
    rng = random.Random(12)
    # the project's own files (not folders that grow, such as outside testers' probes)
    own = sorted([*ROOT.glob("derivations/*.yaml"), *ROOT.glob("bench/corpus/*.yaml"),
                  *ROOT.glob("examples/**/*.yaml")])
    texts = [p.read_text(encoding="utf-8") for p in own[:25]]
    read = 0
    for case in range(500):
        text = rng.choice(texts)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(text) + 1)
            edit = rng.random()
            if edit < 0.4:
                text = text[:i] + rng.choice(MUTATIONS) + text[i:]
            elif edit < 0.7:
                text = text[:i] + text[i + rng.randint(1, 5):]
            else:
                text = text[:i] + rng.choice(MUTATIONS) + text[i + 1:]
        found = _agrees(text)
        assert found is None, f"case {case}: {found}\n{text}"
        read += yaml_fast.load(text, MAX_YAML_DEPTH) is not None
    assert read > 250  # most edited files are still plain YAML, read fast


ERRORS = [  # (name, text, message part, line, column): positions from the ruamel path
    ("repeated key", "title: t\ntitle: u\nsymbols: {x: scalar}\nsteps: [{id: s, claim: x = x}]\n",
     "", 2, 1),
    ("alias", "title: &t t\nsymbols: {x: scalar}\nsteps: [{id: s, claim: '*t'}]\n",
     "anchors and aliases", 1, 8),
    ("tag", "title: !!str t\nsymbols: {x: scalar}\nsteps: [{id: s, claim: x = x}]\n",
     "tag", 1, 8),
    ("unknown symbol in a claim", "title: t\nsymbols: {x: scalar}\nsteps:\n"
     "  - {id: s, claim: 'x = y'}\n", "unknown", 4, 25),
]


@pytest.mark.parametrize("name,text,part,line,col", ERRORS, ids=[c[0] for c in ERRORS])
def test_input_errors_still_name_file_line_and_column(name: str, text: str, part: str,
                                                      line: int, col: int) -> None:
    with pytest.raises(InputError) as info:
        load_text(text, "f.yaml")
    err = info.value
    assert (err.path, err.line, err.col) == ("f.yaml", line, col), err.format()
    assert part in err.message
