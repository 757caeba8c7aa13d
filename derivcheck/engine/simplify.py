"""Shape-aware simplification of engine formulas, for display (placeholder pass)."""

from __future__ import annotations

from derivcheck.ir import E


def simplify(node: E, engine: object) -> E:
    return node
