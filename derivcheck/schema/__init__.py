"""JSON Schemas (draft-07) of derivcheck's input files, shipped with the package.

``derivation.schema.json``, ``key.schema.json`` (a derivation with a
``rubric:``) and ``submission.schema.json`` describe what the loader accepts;
editors use them through the ``# yaml-language-server: $schema=<path>``
modeline, and the loader validates every file against them before its own
checks (``derivcheck.schema.validate``).  ``derivcheck schema`` prints them.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["NAMES", "load_schema", "schema_path"]

NAMES = ("derivation", "key", "submission")
_HERE = Path(__file__).parent


def schema_path(name: str = "derivation") -> Path:
    """The installed file of the schema ``name`` (derivation, key or submission).

    Raises:
        KeyError: an unknown schema name.
    """
    if name not in NAMES:
        raise KeyError(name)
    return _HERE / f"{name}.schema.json"


@cache
def load_schema(name: str = "derivation") -> dict[str, Any]:
    """The schema ``name`` as a dict (read once; do not modify it).

    Raises:
        KeyError: an unknown schema name.
    """
    with open(schema_path(name), encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema
