"""``derivcheck extract``: the derivation file a document was read as, to correct and keep."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from derivcheck.escape import term_lines, term_text


def add_parser(sub: Any) -> None:
    p = sub.add_parser("extract", help="write the derivation file (YAML) that a Markdown or "
                       "LaTeX document is read as")
    p.add_argument("document", help="a Markdown (.md) or LaTeX (.tex) document")
    p.add_argument("-o", "--output", help="write the YAML to this file (default: print it)")


def run(args: argparse.Namespace) -> int:
    """0 written; 2 the document cannot be read (one line on stderr)."""
    from derivcheck.errors import InputError
    from derivcheck.load import read_text
    from derivcheck.notes.build import read_document
    from derivcheck.notes.document import kind_of

    kind = kind_of(args.document)
    if kind is None:
        print(f"derivcheck: {term_text(args.document)}: not a document (.md, .markdown, "
              ".tex, or a .txt file with display math)", file=sys.stderr)
        return 2
    try:
        found = read_document(read_text(args.document), args.document, kind)
    except InputError as exc:
        print(term_lines(exc.format()), file=sys.stderr)
        return 2
    if found.error is not None:
        print(term_lines(found.error.format()), file=sys.stderr)
        return 2
    text = extracted_yaml(found)
    if args.output:
        from derivcheck.atomic import write_text

        write_text(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


def extracted_yaml(found: Any) -> str:
    """The YAML with comments: where it came from, what was inferred, what was not read."""
    head = [f"# read by 'derivcheck extract' from {found.path}: check the inferred "
            "declarations, then keep and correct this file"]
    head.extend(f"# {x}" for x in found.inferred)
    tail = []
    for e in found.unread:
        first, *rest = e.reason.splitlines() or [""]
        tail.append(f"# not read, line {e.line}: {first}")
        tail.extend(f"#   {x}" for x in rest)
    return "\n".join(head) + "\n" + found.yaml + ("\n".join(tail) + "\n" if tail else "")
