"""IR -> the project's expression syntax, with as few parentheses as are needed.

The output parses back to the same tree (tests check the round trip).
"""

from __future__ import annotations

from fractions import Fraction

from derivcheck.ir import E, tree_size

# precedence: higher binds tighter
_PREC = {"add": 1, "sub": 1, "mul": 2, "div": 2, "matmul": 2, "neg": 3, "pow": 4}
_SYM = {"add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@", "pow": "**"}
_ATOM = 9


def to_text(node: E) -> str:
    """Render ``node`` in the expression syntax."""
    return _render(node)[0]


MAX_SHOWN_NODES = 2000  # a formula in a message: beyond this many nodes, a summary


def to_text_bounded(node: E, max_nodes: int = MAX_SHOWN_NODES) -> str:
    """``to_text(node)``, or a summary when the printed tree would pass ``max_nodes``
    nodes (the text of a shared DAG grows exponentially with its depth)."""
    size = tree_size(node, cap=max_nodes + 1)
    if size > max_nodes:
        return f"<an expression of more than {max_nodes} nodes, not printed>"
    return to_text(node)


def _num(value: object) -> str:
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        decimal = _decimal(value)
        if decimal is not None:  # a literal such as 0.5 prints back as it was written
            return decimal
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _decimal(value: Fraction) -> str | None:
    """``value`` as an exact finite decimal, if its denominator is 2^a 5^b."""
    d = value.denominator
    twos = fives = 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d != 1:
        return None
    places = max(twos, fives)
    if places > 30:
        return None
    scaled = abs(value.numerator) * 10 ** places // value.denominator
    digits = str(scaled).rjust(places + 1, "0")
    text = f"{digits[:-places]}.{digits[-places:]}".rstrip("0").rstrip(".")
    return ("-" if value < 0 else "") + text


def _render(node: E) -> tuple[str, int]:
    op = node.op
    if op == "num":
        text = _num(node.val)
        if text.startswith("-"):
            return text, _PREC["neg"]
        if "/" in text:
            return text, _PREC["div"]
        if text.startswith("-"):
            return text, _PREC["neg"]
        return text, _ATOM
    if op in ("sym", "ref", "dim", "idx"):
        return str(node.val), _ATOM
    if op == "int":
        return str(node.val), _ATOM
    if op in ("add", "sub", "mul", "div", "matmul"):
        prec = _PREC[op]
        # `*` and `@` bind alike in Python; a mix of them is parenthesised for the reader.
        mixed = {"mul": "matmul", "matmul": "mul", "div": "matmul"}.get(op)
        left = _wrap(node.args[0], prec, strict=node.args[0].op == mixed)
        right = _wrap(node.args[1], prec, strict=True)
        return f"{left} {_SYM[op]} {right}", prec
    if op == "pow":
        prec = _PREC[op]
        left = _wrap(node.args[0], prec, strict=True)
        right = _wrap(node.args[1], prec, strict=True)
        return f"{left} ** {right}", prec
    if op == "neg":
        inner = _wrap(node.args[0], _PREC["neg"], strict=False)
        return f"-{inner}", _PREC["neg"]
    if op == "T":
        operand = node.args[0]
        text = _wrap(operand, _ATOM, strict=False)
        if operand.op == "num":  # 0.T would read as a malformed number
            text = f"({text})"
        return f"{text}.T", _ATOM
    if op == "elem":
        base = _wrap(node.args[0], _ATOM, strict=False)
        if node.args[0].op == "num":
            base = f"({base})"
        return f"{base}[{', '.join(to_text(a) for a in node.args[1:])}]", _ATOM
    if op == "fn":
        return f"{node.val}({', '.join(to_text(a) for a in node.args)})", _ATOM
    if op in ("sum", "mean"):
        axis = "" if node.val is None else f", {node.val}"
        return f"{op}({to_text(node.args[0])}{axis})", _ATOM
    if op == "Sum":
        return f"Sum({node.val}, {to_text(node.args[0])})", _ATOM
    if op == "delta":
        return f"delta({to_text(node.args[0])}, {to_text(node.args[1])})", _ATOM
    if op == "span":
        first, dropped, dim = node.val  # type: ignore[misc]
        return f"span({to_text(node.args[0])}, {first}, {dim} - {dropped + 1})", _ATOM
    if op == "onehot":
        return f"onehot({to_text(node.args[0])}, {node.val})", _ATOM
    if op == "eye":
        return f"eye({node.val})", _ATOM
    if op == "ones":
        return f"ones({', '.join(str(d) for d in node.val)})", _ATOM  # type: ignore[union-attr]
    if op == "d":
        return f"d({to_text(node.args[0])})/d({to_text(node.args[1])})", _PREC["div"]
    if op == "jac":
        return f"jacobian({to_text(node.args[0])})", _ATOM
    if op == "seed":
        return "e_j", _ATOM
    return f"<{op}>", _ATOM


def _wrap(node: E, prec: int, *, strict: bool) -> str:
    text, inner = _render(node)
    if inner < prec or (strict and inner == prec):
        return f"({text})"
    return text
