"""``derivcheck schema [derivation|key|submission] [--path]``: print a shipped schema.

The schema's text goes to stdout (``derivcheck schema > derivation.schema.json``);
``--path`` prints the installed file's path instead, for an editor's modeline
``# yaml-language-server: $schema=<path>``.  Exit code 0.
"""

from __future__ import annotations

import argparse
from typing import Any

from derivcheck.schema import NAMES, schema_path


def add_parser(sub: Any) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of derivation, key or "
                                      "submission files",
                       description="Print the JSON Schema (draft-07) of an input file kind, "
                                   "for editors and other tools.")
    p.add_argument("kind", nargs="?", choices=NAMES, default="derivation",
                   help="which file kind (default derivation)")
    p.add_argument("--path", action="store_true",
                   help="print the installed schema file's path instead of its text "
                        "(for the '# yaml-language-server: $schema=' modeline)")


def run(args: argparse.Namespace) -> int:
    path = schema_path(args.kind)
    if args.path:
        print(path.resolve())
    else:
        print(path.read_text(encoding="utf-8"), end="")
    return 0
