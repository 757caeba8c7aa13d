"""The diagnosis registry: stable codes, each with a message template.

JSON carries the code and its arguments; people read the filled template.
Codes are never renamed: tests and graders depend on them.
"""

from __future__ import annotations

from dataclasses import dataclass

CODES: dict[str, str] = {
    "shape-mismatch": "shapes do not fit: {detail}",
    "sign-error": "the claimed side has the wrong sign{where}",
    "scale-factor": "{what} is {factor} times {than}",
    "transpose": "a transpose is wrong: {detail}",
    "needs-assumption": "holds when {condition}, which is not declared ({fix})",
    "wrong-components": "some components differ: {detail}",
    "missing-term": "a term is missing: the claim lacks {term}",
    "extra-term": "an extra term: the claim adds {term}",
    "missing-factor": "a factor is missing: {detail}",
    "extra-factor": "an extra factor: {detail}",
    "wrong-factor": "a factor is wrong: {detail}",
    "wrong-dimension": "two dimensions are confused: {detail}",
    "missing-sum": "a sum is missing: the claim holds summed over `{index}`, as `{fixed}`",
    "partial-sum": "a sum leaves out terms: it runs over the positions {kept} of `{index}`; "
                   "over the whole range the step holds, with `{fixed}`",
    "missing-relu-mask": "the ReLU mask is missing: the reference multiplies by {mask}",
    "wrong-symbol": "a wrong symbol: {detail}; the claim holds as `{fixed}`",
    "wrong-index": "a wrong index: {detail}; the claim holds as `{fixed}`",
    "wrong-order": "the factors of `{product}` are in the wrong order: `{fixed}` makes the "
                   "claim hold",
    "log-base": "a logarithm has the wrong base: {detail}",
    "follows-from-error": "correct from the previous expression, which was already wrong "
                          "(link {first_wrong})",
    "residual": "the two sides differ by {residual}",
    "size-one": "fails where the dimensions have size 1: {detail}",
    "equal-sizes": "fails where the dimensions have equal sizes: {detail}",
    "size-dependent": "fails at a size the settings do not reach: {detail}",
    "tiny-difference": "the sides differ by {difference} at this point, a difference "
                       "float64 cannot see (found in {digits}-digit arithmetic)",
    "cancellation": "the sides differ by {difference} at this point (found in {digits}-digit "
                    "arithmetic); float64 cancels in this claim, so its values are not "
                    "shown and no mistake is named from them",
    "domain": "the {side} side is undefined at this point while the other is defined: the "
              "claim needs an assumption that is not declared ({fix})",
    "unreached-branch": "not decided: {detail}",
    "unsupported": "not decided: {reason}",
    "engine-crosscheck": "the engine's derivative failed its finite-difference cross-check: "
                         "{detail}",
    "no-valid-points": "no point in the domain was found: {detail}",
    "time-limit": "a time limit was reached: {detail}",
    "transcription-error": "probable transcription error ({confusion}): reading `{reading}` "
                           "for `{written}` makes it hold ({verdict}: `{repaired}`){also}; "
                           "the verdict is for what is written",
    "internal-error": "derivcheck failed on this step ({detail}); the step is not decided; "
                      "please report it",
}


@dataclass(frozen=True)
class Diagnosis:
    """A finding about a step: a stable code, its arguments and the filled message."""

    code: str
    args: tuple[tuple[str, str], ...] = ()

    @property
    def message(self) -> str:
        return CODES[self.code].format(**dict(self.args))

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "args": dict(self.args)}


def diagnosis(code: str, **args: object) -> Diagnosis:
    """Build a diagnosis; unknown codes are a programming error."""
    if code not in CODES:
        raise KeyError(code)
    return Diagnosis(code, tuple((k, str(v)) for k, v in args.items()))
