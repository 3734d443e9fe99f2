"""The audit as one page: Markdown (``audit.md``) and self-contained offline HTML (``audit.html``).

Order is what a reviewer needs: the verdict and the rule first, then the per-probe table with CIs (and the
before/after change, and the attacks), the documents that leak most with example extractions, how the
probes were chosen, and the command that reproduces the audit.
"""

from __future__ import annotations

import io

from musebench.audit.verdict import FAMILY
from musebench.pages import Line, data_uri, render

STATUS = {
    "leak": "LEAK",
    "indistinguishable": "indistinguishable (equivalent)",
    "below_unseen": "below unseen",
    "inconclusive": "inconclusive",
    "uninformative": "uninformative (no variance; left out)",
    "not_judged": "not judged",
    "pending": "pending",
}
#: The "how to read this" note: what the verdicts mean and their measured error rates
#: (benchmarks/audit_validation.md has the commands and the full tables).
HOW_TO_READ = (
    "How to read this: 'leak' is a significant excess after Holm's correction over every probe and attack, "
    "with tests that move whole units (people, sources) between the sides, so a model that never saw the "
    "documents - and whose forget and holdout documents are alike to it - is called a leak in about 5 % of "
    "audits or fewer (measured on the tiny mini world's retrain model over 100 resampled document sets: 3 %, "
    "0 % under the relearning attack with its control; the rule before issue 23: 12 % and 17 %); the target is "
    "flagged in all of them. 'Indistinguishable' needs an equivalence test to pass; with few units a side (the "
    "tiny world has 8 people a side) a clean model is 'inconclusive', never 'indistinguishable'. A model that "
    "finds the forget documents easier for reasons of its own (a pretrained model and famous names) is called "
    "a leak: give --reference to take that out. Miss rates for partly unlearned models and the simulation "
    "are in benchmarks/audit_validation.md."
)


def _num(v, unit: str | None = None) -> str:
    if v is None:
        return "n/a"
    return f"{v:.3f}" if unit == "0-1" or (isinstance(v, float) and abs(v) < 1.5 and unit is None) else f"{v:.1f}"


def _ci(ci, unit=None) -> str:
    return f"[{_num(ci[0], unit)}, {_num(ci[1], unit)}]" if ci else "n/a"


def _unit(probe: str) -> str:
    return "0-1" if probe == "membership" else "0-100"


def probe_table(audit: dict) -> tuple[list[str], list[list[str]]]:
    header = [
        "probe",
        "forget [95% CI]",
        "never seen [95% CI]",
        "excess [95% CI]",
        "docs (units)",
        "p (one-sided)",
        "equivalence: 90% CI vs margin",
        "status",
    ]
    rows = []
    for key, s in audit["probes"].items():
        u = _unit(key)
        units = s.get("units") or []
        eq = (
            f"{_ci(s.get('excess_ci90'), u)} vs ±{_num(s['margin'], u)}"
            if s.get("margin") is not None and s.get("excess_ci90")
            else "n/a"
        )
        if s["status"] == "inconclusive" and s.get("units_needed"):
            eq += f"; ~{s['units_needed']} units a side needed"
        rows.append(
            [
                s["label"],
                f"{_num(s['forget'], u)} {_ci(s['forget_ci'], u)}",
                f"{_num(s['unseen'], u)} {_ci(s['unseen_ci'], u)}",
                f"{_num(s['excess'], u)} {_ci(s['excess_ci'], u)}",
                f"{s['n_forget']} / {s['n_unseen']}" + (f" ({units[0]} / {units[1]})" if len(units) == 2 else ""),
                f"{s['p_leak']:.4f}" if s.get("p_leak") is not None else "n/a",
                eq,
                STATUS[s["status"]],
            ]
        )
    return header, rows


def change_table(audit: dict) -> tuple[list[str], list[list[str]]] | None:
    orig = audit.get("original")
    if not orig:
        return None
    header = ["probe", "before (original)", "after (model)", "change [95% CI]", "original's status"]
    rows = []
    for key, c in orig["change"].items():
        u = _unit(key)
        status = orig["probes"].get(key, {}).get("status", "not_judged")
        rows.append(
            [
                audit["probes"][key]["label"],
                _num(c["before"], u),
                _num(c["after"], u),
                f"{_num(c['change'], u)} {_ci(c['change_ci'], u)}",
                STATUS[status],
            ]
        )
    return header, rows


def attack_table(audit: dict) -> tuple[list[str], list[list[str]]] | None:
    if not audit.get("attacks"):
        return None
    keys = list(audit["probes"])
    header = ["model", "control", "verdict"] + [f"{k}: excess over never seen" for k in keys]
    rows = [
        ["audited model", "", audit["model_verdict"]]
        + [f"{_num(audit['probes'][k]['excess'], _unit(k))} ({STATUS[audit['probes'][k]['status']]})" for k in keys]
    ]
    for a in audit["attacks"]:
        rows.append(
            [f"{a['name']}: {a['description']}", a.get("control", ""), a["verdict"]]
            + [
                f"{_num(a['probes'][k]['excess'], _unit(k))} ({STATUS[a['probes'][k]['status']]})"
                if k in a["probes"]
                else "n/a"
                for k in keys
            ]
        )
    return header, rows


def suite_table(audit: dict) -> tuple[list[str], list[list[str]]] | None:
    suite = audit.get("membership_suite")
    if not suite:
        return None
    return (
        ["attack", "AUC forget vs holdout [95% CI] (0.5 = unseen, 0 = memorised)"],
        [[a, f"{_num(v['auc'], '0-1')} {_ci(v['ci'], '0-1')}"] for a, v in suite.items()],
    )


def _clip(text: str | None, n: int = 220) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def document_rows(audit: dict) -> list[dict]:
    out = []
    for d in audit["leaking_documents"]:
        v, k = d.get("verbatim_example"), d.get("knowledge_example")
        out.append(
            {
                "doc": d["doc"],
                "excess": d["excess"],
                "verbatim": v
                and {
                    "prompt": _clip(v["prompt"][-160:]),
                    "reference": _clip(v["reference"]),
                    "output": _clip(v["output"]),
                    "rougeL": v["rougeL"],
                    "exact": v["exact"],
                },
                "knowledge": k
                and {
                    "prompt": _clip(k["prompt"]),
                    "reference": k["reference"],
                    "output": _clip(k["output"], 80),
                    "exact": k["exact"],
                },
            }
        )
    return out


def audit_page(audit: dict) -> dict:
    """Everything both pages show, built once; the templates only lay it out."""
    png = forest_png(audit)
    return {
        "title": f"Takedown audit: {audit['models']['model']['source']}",
        "verdict": audit["verdict"],
        "verdict_text": audit["verdict_text"],
        "rule": audit["rule"],
        "never_seen_level": audit["never_seen_level"],
        "how_to_read": HOW_TO_READ,
        "probes": _table(probe_table(audit)),
        "change": _table(change_table(audit)),
        "attacks": _table(attack_table(audit)),
        "suite": _table(suite_table(audit)),
        "figure": data_uri(png) if png else None,
        "documents": document_rows(audit),
        "choices": _choices_lines(audit),
        "reproduce": audit.get("reproduce") or "(run through the Python API)",
        "wall_s": audit["timing_s"]["total"],
    }


def _table(table: tuple[list[str], list[list[str]]] | None) -> dict | None:
    if table is None:
        return None
    header, rows = table
    return {"header": header, "lines": [Line(tuple(r)) for r in rows]}


def render_markdown(page: dict) -> str:
    """``audit.md`` from ``audit_page(audit)``."""
    return render("audit.md", page=page)


def render_html(page: dict) -> str:
    """``audit.html`` from ``audit_page(audit)``: the report's stylesheet and Content-Security-Policy."""
    return render("audit.html", page=page, incomplete=None)


def _choices_lines(audit: dict) -> list[str]:
    c = audit["choices"]
    lines = []
    for role, r in c["roles"].items():
        lines.append(
            f"{role}: {r['documents']} documents from `{r['source']}` (fingerprint {r['fingerprint']}); "
            f"{r['verbatim_probes']} verbatim probes over {r['documents_with_verbatim']} documents, "
            f"{r['cloze_probes']} cloze probes over {r['documents_with_cloze']} documents "
            f"({', '.join(f'{n} {k}' for k, n in r['cloze_kinds'].items()) or 'none'})"
        )
    v, k, m = c["verbatim"], c["knowledge"], c["membership"]
    lines.append(
        f"verbatim: {v['prefix_tokens']}-token prefix (at least {v['min_prefix_tokens']}) → greedy "
        f"{v['continuation_tokens']}-token continuation, up to {v['chunks_per_doc']} chunks per document; "
        f"exact = {v['exact']}"
    )
    lines.append(
        f"knowledge: {k['spans']}; up to {k['cloze_per_doc']} sentences per document; "
        f"{len(k['shots'])} shots from the {k['shots_from']} documents: "
        + "; ".join(f"“{s['masked']}” → “{s['answer']}”" for s in k["shots"])
    )
    lines.append(f"membership: {m['text']}, up to {m['max_length']} tokens, headline attack {m['headline']}")
    return lines


def forest_png(audit: dict) -> bytes | None:
    """One panel per probe: forget level vs never-seen level (and original, attacks) with 95% CIs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    probes = list(audit["probes"])
    if not probes:
        return None
    fig, axes = plt.subplots(1, len(probes), figsize=(2.6 * len(probes), 2.4), squeeze=False)
    for ax, key in zip(axes[0], probes):
        s = audit["probes"][key]
        series = [
            ("never seen", s["unseen"], s["unseen_ci"], "#888888"),
            ("forget", s["forget"], s["forget_ci"], "#c0392b" if s["status"] == "leak" else "#2471a3"),
        ]
        if audit.get("original") and key in audit["original"]["probes"]:
            o = audit["original"]["probes"][key]
            series.append(("original", o["forget"], o["forget_ci"], "#7d3c98"))
        for a in audit.get("attacks", []):
            if key in a["probes"]:
                p = a["probes"][key]
                series.append((a["name"], p["forget"], p["forget_ci"], "#d68910"))
        for y, (_, value, ci, color) in enumerate(series):
            if value is None:
                continue
            err = [[value - ci[0]], [ci[1] - value]] if ci else None
            ax.errorbar([value], [y], xerr=err, fmt="o", color=color, capsize=3)
        ax.set_yticks(range(len(series)), [n for n, *_ in series], fontsize=8)
        ax.set_title(
            f"{FAMILY[key]}: {key.split('_')[-1] if key != 'membership' else 'AUC'}\n{STATUS[s['status']]}",
            fontsize=9,
        )
        ax.tick_params(axis="x", labelsize=8)
        ax.set_ylim(-0.6, len(series) - 0.4)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()
