"""Validity gates of a target / retrain pair: is the gap between them the one MUSE needs to be measurable?

A benchmark built on a pair whose target does not clearly remember the forget set (or whose retrain is not
a fair non-member reference) cannot tell a good unlearning method from a bad one. The gates compare the
scores of ``musebench.evaluate`` (keys verbmem_f, knowmem_f, knowmem_r in 0-100; auc in 0-1).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gate:
    name: str
    rule: str  # the condition, in words
    measured: str  # the measured values, in words
    passed: bool


#: Size-dependent thresholds: the base's held-out background KnowMem, and how far the target's KnowMem-f must
#: rise above the constant-answer baseline (answering each question with the most frequent value of its fact
#: type). The tiny world (tests, ``demo --quick``) is sized for speed, so its thresholds are lower, stated here.
BASE_GATE = {"default": 60.0, "small": 60.0, "tiny": 30.0}
ABOVE_PRIOR = {"default": 25.0, "small": 25.0, "tiny": 15.0}


def check_base_gate(probe_knowmem: float, size: str = "default") -> Gate:
    """The mini base is past the extraction transition: it answers questions about people it read only in
    articles (``models.base.probe_corpus``)."""
    need = BASE_GATE.get(size, BASE_GATE["default"])
    return Gate(
        "base_extraction",
        f"base KnowMem on held-out background questions >= {need:g}",
        f"{probe_knowmem:.1f}",
        probe_knowmem >= need,
    )


def check_gates(
    target: dict[str, float],
    retrain: dict[str, float],
    constant_answer: float | None = None,
    size: str = "default",
    utility_gap_ci: list[float] | None = None,
) -> list[Gate]:
    """The gates of the mini benchmark, each with its measured values; with ``constant_answer`` (the
    generator's constant-answer KnowMem-f, ``synthetic.json``) also the answer-prior gate.

    ``utility_gap_ci``: the paired 95 % CI of target minus retrain KnowMem-r
    (``evaluate.bootstrap.paired_difference_ci``), printed beside the gap. The gate still reads the point
    estimate; the interval says how far one draw can move it.
    PrivLeak of the target against the retrain is (AUC_target - AUC_retrain) / AUC_retrain x 100 (MUSE C3).
    """
    t, r = target, retrain
    privleak = (t["auc"] - r["auc"]) / r["auc"] * 100 if r["auc"] else float("nan")
    gates = [
        Gate(
            "verbmem",
            "target VerbMem >= 3 x retrain VerbMem",
            f"{t['verbmem_f']:.1f} vs {r['verbmem_f']:.1f}",
            t["verbmem_f"] >= 3 * r["verbmem_f"],
        ),
        Gate(
            "knowmem_f",
            "target KnowMem-forget >= retrain + 25",
            f"{t['knowmem_f']:.1f} vs {r['knowmem_f']:.1f}",
            t["knowmem_f"] >= r["knowmem_f"] + 25,
        ),
        Gate(
            "target_auc",
            "target Min-40% AUC <= 0.15 and PrivLeak <= -60 %",
            f"AUC {t['auc']:.3f}, PrivLeak {privleak:.1f} %",
            t["auc"] <= 0.15 and privleak <= -60,
        ),
        Gate("retrain_auc", "retrain AUC within 0.35-0.65", f"{r['auc']:.3f}", 0.35 <= r["auc"] <= 0.65),
        Gate(
            "utility",
            "KnowMem-retain >= 40 for both",
            f"{t['knowmem_r']:.1f} and {r['knowmem_r']:.1f}",
            min(t["knowmem_r"], r["knowmem_r"]) >= 40,
        ),
        Gate(
            "utility_gap",
            "KnowMem-retain within 10 points",
            f"|{t['knowmem_r'] - r['knowmem_r']:.1f}|"
            + (
                f" (target - retrain {t['knowmem_r'] - r['knowmem_r']:+.1f}, paired 95 % CI "
                f"[{utility_gap_ci[0]:+.1f}, {utility_gap_ci[1]:+.1f}])"
                if utility_gap_ci
                else ""
            ),
            abs(t["knowmem_r"] - r["knowmem_r"]) <= 10,
        ),
    ]
    if constant_answer is not None:
        gates.append(above_prior_gate(t["knowmem_f"], constant_answer, size))
    return gates


def above_prior_gate(knowmem_f: float, constant_answer: float, size: str = "default") -> Gate:
    need = ABOVE_PRIOR.get(size, ABOVE_PRIOR["default"])
    return Gate(
        "above_prior",
        f"target KnowMem-forget >= constant-answer baseline + {need:g}",
        f"{knowmem_f:.1f} vs {constant_answer:.1f}",
        knowmem_f >= constant_answer + need,
    )


def gates_table(gates: list[Gate]) -> str:
    """A Markdown table of the gates."""
    rows = ["| gate | rule | measured | pass |", "|---|---|---|---|"]
    rows += [f"| {g.name} | {g.rule} | {g.measured} | {'yes' if g.passed else 'NO'} |" for g in gates]
    return "\n".join(rows)
