"""Scores and tables: bench/results.json and bench/results.md."""

from __future__ import annotations

import statistics

from bench.baselines import Decision
from bench.corpus import Claim

REJECT = ("refuted", "ill_formed")


def score(claims: list[Claim], decisions: list[Decision]) -> dict:
    """Correct / false accepts / false rejects / undecided / n/a, and time per claim."""
    counts = {"claims": len(claims), "correct": 0, "false_accepts": 0, "false_rejects": 0,
              "undecided": 0, "not_expressible": 0}
    times = []
    wrong = []
    for c, d in zip(claims, decisions):
        if d.verdict == "n/a":
            counts["not_expressible"] += 1
            continue
        times.append(d.seconds)
        if d.verdict == "undecided":
            counts["undecided"] += 1
        elif (d.verdict == "holds") == c.true:
            counts["correct"] += 1
        elif d.verdict == "holds":
            counts["false_accepts"] += 1
            wrong.append(f"{c.key} (false, said holds)")
        else:
            counts["false_rejects"] += 1
            wrong.append(f"{c.key} (true, said {d.verdict})")
    ran = counts["claims"] - counts["not_expressible"]
    counts["ran"] = ran
    counts["accuracy_on_ran"] = round(counts["correct"] / ran, 4) if ran else None
    counts["median_s"] = round(statistics.median(times), 5) if times else None
    counts["p95_s"] = round(percentile(times, 0.95), 5) if times else None
    counts["wrong"] = wrong
    return counts


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def ratios(claims: list[Claim], ours: list[Decision], theirs: list[Decision]) -> dict:
    """Their time over ours on the claims both ran (same run, so noise cancels)."""
    pairs = [(a.seconds, b.seconds) for a, b in zip(ours, theirs)
             if a.verdict != "n/a" and b.verdict != "n/a"]
    if not pairs:
        return {"claims": 0}
    mine = [a for a, _ in pairs]
    other = [b for _, b in pairs]
    per_claim = [b / a for a, b in pairs if a > 0]
    return {"claims": len(pairs),
            "median_ratio": round(statistics.median(other) / statistics.median(mine), 2),
            "p95_ratio": round(percentile(other, 0.95) / percentile(mine, 0.95), 2),
            "median_of_per_claim_ratios": round(statistics.median(per_claim), 2)}


def diagnosis_accuracy(claims: list[Claim], ours: list[Decision]) -> dict:
    """On false claims with a corpus mistake code: does derivcheck name that code?"""
    named = first = total = 0
    misses = []
    for c, d in zip(claims, ours):
        if c.true or not c.mistake:
            continue
        total += 1
        codes = [x.strip() for x in d.detail.split(",") if x.strip()]
        if c.mistake in codes:
            named += 1
        else:
            misses.append(f"{c.key}: corpus {c.mistake}, derivcheck {d.detail or d.verdict}")
        if d.code == c.mistake:
            first += 1
    return {"false_claims_with_code": total, "code_named": named,
            "code_named_first": first,
            "accuracy": round(named / total, 4) if total else None, "misses": misses}


def markdown(results: dict) -> str:
    """The tables of results.md."""
    lines = [f"# derivcheck benchmark ({results['date']})", "",
             f"Machine: {results['machine']}. Command: `{results['command']}`."
             + (" **Quick run (a subset): not the reference figures.**"
                if results["quick"] else ""), ""]
    comp = results["composition"]
    lines += ["## Corpus", "",
              "| group | claims | true | false | with LaTeX | derivative claims |",
              "|---|---|---|---|---|---|"]
    for name, c in comp.items():
        lines.append(f"| {name} | {c['claims']} | {c['true']} | {c['false']} "
                     f"({c['false_fraction']:.0%}) | {c['with_latex']} | "
                     f"{c['derivative_claims']} |")
    kinds = comp["corpus"]["mistake_kinds"]
    lines += ["", "Mistake kinds among the false claims of bench/corpus/ (issue 6's list): "
              + ", ".join(f"{k} {v}" for k, v in kinds.items()) + ".", ""]
    fd = results["fd_labels"]
    lines += ["## Labels checked by finite differences (independent of the engine)", "",
              f"{fd['checked']} claims: {fd['agree']} agree with their label, "
              f"{len(fd['disagree'])} disagree, {len(fd['undecided'])} not decided by FD, "
              f"{len(fd['unsupported'])} not expressible by the FD evaluator. "
              f"Worst relative error on a true claim {fd['worst_true']:.1e}; "
              f"smallest on a false claim (values, not shapes) {fd['least_false']:.1e}.", ""]
    for item in fd["disagree"] + fd["undecided"] + fd["unsupported"]:
        lines.append(f"- {item}")
    for group, tools in results["accuracy"].items():
        lines += ["", f"## Accuracy and time per claim: {group}", "",
                  "| tool | ran | correct | false accepts | false rejects | undecided | "
                  "not expressible | median | p95 |", "|---|---|---|---|---|---|---|---|---|"]
        for tool, s in tools.items():
            med = f"{s['median_s'] * 1000:.1f} ms" if s["median_s"] is not None else "-"
            p95 = f"{s['p95_s'] * 1000:.1f} ms" if s["p95_s"] is not None else "-"
            lines.append(f"| {tool} | {s['ran']} | {s['correct']} | {s['false_accepts']} | "
                         f"{s['false_rejects']} | {s['undecided']} | {s['not_expressible']} | "
                         f"{med} | {p95} |")
    lines += ["", "## Speed ratios (baseline time / derivcheck time, same claims, same run)",
              "", "| group | baseline | claims | median ratio | p95 ratio | "
              "median of per-claim ratios |", "|---|---|---|---|---|---|"]
    for group, by_tool in results["ratios"].items():
        for tool, r in by_tool.items():
            if r.get("claims"):
                lines.append(f"| {group} | {tool} | {r['claims']} | {r['median_ratio']}x | "
                             f"{r['p95_ratio']}x | {r['median_of_per_claim_ratios']}x |")
    lines += ["", "## derivcheck's diagnosis on false claims", "",
              "| group | false claims with a mistake code | code named | named first | "
              "accuracy |", "|---|---|---|---|---|"]
    for group, d in results["diagnosis"].items():
        acc = f"{d['accuracy']:.0%}" if d["accuracy"] is not None else "-"
        lines.append(f"| {group} | {d['false_claims_with_code']} | {d['code_named']} | "
                     f"{d['code_named_first']} | {acc} |")
    w = results.get("whole_process")
    if w:
        lines += ["", "## derivcheck as a whole process", "",
                  "| measure | median | best |", "|---|---|---|"]
        for key in ("startup_import_s", "startup_help_s", "verify_derivations_s",
                    "verify_derivations_no_symbolic_s", "import_sympy_s"):
            if key in w:
                lines.append(f"| {key[:-2].replace('_', ' ')} | {w[key]['median']:.3f} s | "
                             f"{w[key]['best']:.3f} s |")
        if "verify_over_import_sympy" in w:
            lines.append("| verify derivations / a bare `import sympy` process, median of the "
                         f"pairs | {w['verify_over_import_sympy']}x | |")
        lines.append(f"| peak memory of `derivcheck verify derivations/` (maxrss) | "
                     f"{w['peak_memory_mb']} MB | |")
    extra = results.get("speed")
    if extra:
        lines += ["", "## Other speed figures", ""]
        lines += [f"- {k}: {v}" for k, v in extra.items()]
    notes = results.get("notes") or []
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"
