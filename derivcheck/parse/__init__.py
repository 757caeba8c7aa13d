"""Text -> IR: the expression syntax (and, later, LaTeX). No eval anywhere."""

from derivcheck.parse.expr import Scope, parse_expression, split_claim

__all__ = ["Scope", "parse_expression", "split_claim"]
