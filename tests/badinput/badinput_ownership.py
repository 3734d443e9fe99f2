"""Bad-input cases of output ownership, incomplete runs and the input failures that were tracebacks, hangs or
plausible-but-wrong answers (appended to ``badinput_cases.CASES``).

Ownership: each command is aimed at another command's directory (marked the way musebench marked them before
the mark recorded a kind: a format-1 mark, or none), at a user's file under a name it writes, or at a
directory another live process holds. The expected outcome is the usual one: exit 2, one line naming the path
and what was found, nothing written or changed. ``rc=0`` cases (an incomplete run's report) must write, and
say so on their first line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from badinput_cases import (
    CASES,
    EXP,
    Case,
    Ws,
    _eval,
    _experiment,
    _generate,
    _json,
    _unlearn,
    _write,
    _yaml,
    nothing,
)

SAMPLE_RESULTS = Path(__file__).parents[1] / "report" / "data" / "results.json"
#: The mark musebench wrote before it recorded a kind (format 1).
V1_MARK = {"written_by": "musebench", "pid": 1, "not_ours": []}
AUDIT_SMALL = [
    "--continuation-tokens",
    "12",
    "--prefix-tokens",
    "10",
    "--min-prefix-tokens",
    "4",
    "--chunks-per-doc",
    "2",
    "--cloze-per-doc",
    "2",
    "--cloze-shots",
    "2",
    "--cloze-max-new-tokens",
    "6",
    "--membership-max-length",
    "96",
    "--bootstrap-samples",
    "50",
    "--min-documents",
    "4",
    "--probes",
    "verbatim,membership",
    "--threads",
    "1",
    "--no-progress",
    "--device",
    "cpu",
]


def alias_bomb(key: str) -> str:
    """Under 600 bytes of YAML whose ``key`` expands to 9^9 (387 million) strings: "billion laughs"."""
    levels = ",\n  ".join(
        f"&{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 9 if i else ['"lol"'] * 9) + "]" for i in range(9)
    )
    return f"{key}: [\n  {levels}\n]\n"


ALIAS_BOMB = alias_bomb("name")


#: The cases of this module (``badinput_table.py --new`` measures only these).
NEW: list[Case] = []


def _case(name: str, category: str, damage, argv, expect, rc: int = 2, isolated: bool = False) -> None:
    NEW.append(
        Case(
            name,
            category,
            damage,
            argv,
            expect if callable(expect) else (lambda ws, e=expect: e),
            rc=rc,
            isolated=isolated,
        )
    )
    CASES.append(NEW[-1])


def _out(argv: list[str], out: str) -> list[str]:
    """``argv`` with ``--out``'s value replaced."""
    i = argv.index("--out")
    return [*argv[: i + 1], out, *argv[i + 2 :]]


def _dir(path: Path, files: dict[str, object], mark: bool = True) -> None:
    for rel, content in files.items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            target.mkdir(exist_ok=True)
        else:
            target.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    if mark:
        (path / ".musebench").write_text(json.dumps(V1_MARK), encoding="utf-8")


def _experiment_dir(path: Path) -> None:
    _dir(
        path,
        {
            "results.json": SAMPLE_RESULTS.read_text(encoding="utf-8"),
            "stages": None,
            "stages/methods__ga.json": {"done": True},
            "experiment.yaml": "name: x\n",
            "report/index.html": "<html>the report</html>",
            "models/target/weights.bin": "weights",
        },
    )


def _eval_dir(path: Path) -> None:
    _dir(path, {"summary.json": {"schema_version": 1, "scores": {}}, "per_example.jsonl": "{}\n"})


def _model_dir(ws: Ws, path: Path) -> None:
    shutil.copytree(ws["model"], path)
    _dir(path, {"build.json": {"role": "target", "key": "abc"}})


def _run_dir(ws: Ws, *, finished: bool = True, expected: tuple[str, ...] = ()) -> Path:
    run = ws["tmp"] / "run"
    doc = json.loads(SAMPLE_RESULTS.read_text(encoding="utf-8"))
    if expected:
        doc["provenance"]["experiment"] = {"methods": {m: {} for m in expected}}
    if not finished:
        doc["timing_s"].pop("total", None)
    _dir(run, {"results.json": doc, "stages": None})
    return run


def _audit_docs(ws: Ws) -> None:
    raw = ws["data"] / "raw"
    _json(ws["tmp"] / "forget.json", json.loads((raw / "forget.json").read_text(encoding="utf-8"))[:6])
    _json(ws["tmp"] / "holdout.json", json.loads((raw / "holdout.json").read_text(encoding="utf-8"))[:6])


def _audit(ws: Ws) -> list[str]:
    return [
        "audit",
        "--model",
        str(ws["model"]),
        "--forget",
        str(ws["tmp"] / "forget.json"),
        "--holdout",
        str(ws["tmp"] / "holdout.json"),
        *AUDIT_SMALL,
        "--out",
        str(ws["out"]),
    ]


def _attack(ws: Ws) -> list[str]:
    return [
        "attack",
        "paraphrase",
        "--model",
        str(ws["model"]),
        "--data",
        str(ws["data"]),
        "--out",
        str(ws["out"]),
        "--knowmem-max-new-tokens",
        "4",
        "--knowmem-num-shots",
        "1",
        "--no-progress",
        "--threads",
        "1",
        "--device",
        "cpu",
    ]


def _held(ws: Ws) -> None:
    """Another live writer holds --out's lock (claimed as the old musebench did: a mark, the lock)."""
    from musebench.io import output_dir

    ws["out"].mkdir()
    claim = output_dir(ws["out"])
    claim.__enter__()
    ws["_release"] = claim  # type: ignore[assignment]


def _build(ws: Ws) -> list[str]:
    return ["build", "target", "--data", str(ws["data"]), "--out", str(ws["out"]), "--threads", "1"]


def _dry(ws: Ws) -> list[str]:
    return ["run", str(ws["tmp"] / "experiment.yaml"), "--out", str(ws["out"]), "--dry-run"]


# ---------------------------------------------------------------- ownership: whose directory is this?
OWN = "ownership"
_case(
    "generate --out is a finished experiment",
    OWN,
    lambda ws: _experiment_dir(ws["out"]),
    _generate,
    "holds a musebench experiment",
)
_case(
    "generate --out is a built model", OWN, lambda ws: _model_dir(ws, ws["out"]), _generate, "holds a musebench model"
)
_case(
    "generate --out is an evaluation", OWN, lambda ws: _eval_dir(ws["out"]), _generate, "holds a musebench evaluation"
)
_case(
    "build --out/target is an evaluation",
    OWN,
    lambda ws: _eval_dir(ws["out"] / "target"),
    _build,
    "holds a musebench evaluation",
)
_case(
    "unlearn --out is the corpus",
    OWN,
    nothing,
    lambda ws: _out(_unlearn(ws), str(ws["data"])),
    "holds a musebench corpus",
)
_case(
    "eval --out is a finished experiment",
    OWN,
    lambda ws: _experiment_dir(ws["out"]),
    _eval,
    "holds a musebench experiment",
)
_case(
    "run --out is an evaluation",
    OWN,
    lambda ws: (_eval_dir(ws["out"]), _experiment(ws, EXP + "methods: {{ga: {{}}}}\n")),
    lambda ws: ["run", str(ws["tmp"] / "experiment.yaml"), "--out", str(ws["out"])],
    "holds a musebench evaluation",
)
_case(
    "report --out is the run itself",
    OWN,
    nothing,
    lambda ws: ["report", str(_run_dir(ws)), "--out", str(ws["tmp"] / "run")],
    "holds a musebench experiment",
)
_case(
    "report --out holds the user's index.html",
    OWN,
    lambda ws: _dir(ws["out"], {"index.html": "<html>my own site</html>"}, mark=False),
    lambda ws: ["report", str(_run_dir(ws)), "--out", str(ws["out"])],
    "index.html",
)
_case(
    "report --force over the user's index.html",
    OWN,
    lambda ws: _dir(ws["out"], {"index.html": "<html>my own site</html>"}, mark=False),
    lambda ws: ["report", str(_run_dir(ws)), "--out", str(ws["out"]), "--force"],
    "index.html",
)
_case(
    "attack --out holds the user's robustness.json",
    OWN,
    lambda ws: _dir(ws["out"], {"robustness.json": {"my": "numbers"}}, mark=False),
    _attack,
    "robustness.json",
)
_case(
    "attack --out is an unlearning run",
    OWN,
    lambda ws: _dir(ws["out"], {"run.json": {"status": "complete"}, "epoch-1": None}),
    _attack,
    "holds a musebench unlearning run",
)
_case("attack --out locked by a live writer", OWN, _held, _attack, "another musebench process")
_case(
    "audit --out locked by a live writer",
    OWN,
    lambda ws: (_audit_docs(ws), _held(ws)),
    _audit,
    "another musebench process",
)
_case(
    "audit re-run over a note the user added",
    OWN,
    lambda ws: (
        _audit_docs(ws),
        _dir(
            ws["out"],
            {
                "audit.json": {"kind": "musebench-audit", "verdict": "leak"},
                "audit.md": "# audit",
                "audit.html": "<html>",
                "probes.jsonl": "",
                "outputs.jsonl": "",
                "notes.txt": "what I told legal",
            },
            mark=False,
        ),
    ),
    _audit,
    "notes.txt",
)
_case(
    "audit --out is a built model",
    OWN,
    lambda ws: (_audit_docs(ws), _model_dir(ws, ws["out"])),
    _audit,
    "holds a musebench model",
)

# ---------------------------------------------------------------- incomplete runs: the first line says so
INC = "incomplete run"
_case(
    "report of a run still missing methods",
    INC,
    nothing,
    lambda ws: [
        "report",
        str(_run_dir(ws, finished=False, expected=("ga_gdr", "npo_gdr", "npo_klr", "task_vector", "rmu", "simnpo"))),
        "--out",
        str(ws["out"]),
    ],
    "INCOMPLETE",
    rc=0,
)
_case(
    "report of an interrupted run",
    INC,
    nothing,
    lambda ws: ["report", str(_run_dir(ws, finished=False)), "--out", str(ws["out"])],
    "INCOMPLETE",
    rc=0,
)
_case(
    "compare with an interrupted run",
    INC,
    nothing,
    lambda ws: ["compare", str(_run_dir(ws, finished=False, expected=("ga_gdr", "rmu"))), str(SAMPLE_RESULTS)],
    "INCOMPLETE",
    rc=0,
)

# ---------------------------------------------------------------- output paths
O = "output"
_case("eval --out empty", O, nothing, lambda ws: _out(_eval(ws), ""), "--out")
_case("generate --out .", O, nothing, lambda ws: _out(_generate(ws), "."), "--out")
_case("unlearn --out .", O, nothing, lambda ws: _out(_unlearn(ws), "."), "--out")

# ---------------------------------------------------------------- configs and experiment files
F = "config"
_case(
    "experiment YAML alias bomb (dry run)",
    F,
    lambda ws: _write(ws["tmp"] / "experiment.yaml", ALIAS_BOMB),
    _dry,
    "expands",
    isolated=True,
)
_case(
    "options YAML alias bomb",
    F,
    lambda ws: _yaml(ws, alias_bomb("num_train_epochs")),
    lambda ws: _unlearn(ws, "--config", str(ws["tmp"] / "options.yaml")),
    "expands",
    isolated=True,
)
_case(
    "experiment method named twice",
    F,
    lambda ws: _experiment(ws, EXP + "methods: {{ga: {{}}, ga: {{learning_rate: 1.0e-4}}}}\n"),
    _dry,
    "given twice",
)
_case(
    "experiment method listed twice",
    F,
    lambda ws: _experiment(ws, EXP + "methods: [ga, npo, ga]\n"),
    _dry,
    "listed twice",
)
_case(
    "experiment eval settings typo",
    F,
    lambda ws: _experiment(ws, EXP + "eval: {{settings: {{knowmem_max_new_token: 8}}}}\nmethods: {{ga: {{}}}}\n"),
    _dry,
    "knowmem_max_new_token",
)
_case(
    "experiment eval settings bad value",
    F,
    lambda ws: _experiment(ws, EXP + "eval: {{settings: {{mink_k: 400}}}}\nmethods: {{ga: {{}}}}\n"),
    _dry,
    "mink_k",
)
_case(
    "experiment recipe typo",
    F,
    lambda ws: _experiment(
        ws,
        EXP.replace(
            "models: {{target: {model}, retrain: {model}}}",
            "models: {{target: build, retrain: build, recipe: {{epoch: 3}}}}",
        )
        + "methods: {{ga: {{}}}}\n",
    ),
    _dry,
    "epoch",
)
_case(
    "experiment recipe learning rate overflows",
    F,
    lambda ws: _experiment(
        ws,
        EXP.replace(
            "models: {{target: {model}, retrain: {model}}}",
            "models: {{target: build, retrain: build, recipe: {{lr: 1.0e+400}}}}",
        )
        + "methods: {{ga: {{}}}}\n",
    ),
    _dry,
    "models.recipe.lr",
)
_case(
    "experiment method pushes to the hub",
    F,
    lambda ws: _experiment(ws, EXP + "methods: {{ga: {{push_to_hub: true}}}}\n"),
    _dry,
    "push_to_hub",
)
_case("unlearn --push_to_hub", F, nothing, lambda ws: _unlearn(ws, "--push_to_hub", "true"), "push_to_hub")
_case(
    "unlearn learning rate overflows", F, nothing, lambda ws: _unlearn(ws, "--learning_rate", "1e400"), "learning_rate"
)
_case(
    "attack relearn learning rate overflows",
    F,
    nothing,
    lambda ws: [
        "attack",
        "relearn",
        "--model",
        str(ws["model"]),
        "--data",
        str(ws["data"]),
        "--learning-rate",
        "1e400",
        "--steps",
        "1",
        "--out",
        str(ws["out"]),
        "--no-progress",
        "--threads",
        "1",
        "--device",
        "cpu",
    ],
    "--learning-rate",
)

# ---------------------------------------------------------------- corpora
C = "corpus"
_DEEP = "[" * 100_000 + "]" * 100_000
_case(
    "nested JSON split (validate)",
    C,
    lambda ws: _write(ws["data"] / "knowmem/forget_qa.json", _DEEP),
    lambda ws: ["data", "validate", str(ws["data"])],
    "knowmem/forget_qa.json",
)
_case(
    "nested JSON split (eval)", C, lambda ws: _write(ws["data"] / "raw/retain1.json", _DEEP), _eval, "raw/retain1.json"
)
_case(
    "nested JSONL line (show)",
    C,
    lambda ws: ((ws["data"] / "raw/retain2.json").unlink(), _write(ws["data"] / "raw/retain2.jsonl", _DEEP + "\n")),
    lambda ws: ["data", "show", str(ws["data"]), "--split", "raw/retain2"],
    "raw/retain2.jsonl",
)


def _copy_forget_into(ws: Ws, rel: str) -> None:
    forget = json.loads((ws["data"] / "raw/forget.json").read_text(encoding="utf-8"))
    target = json.loads((ws["data"] / rel).read_text(encoding="utf-8"))
    _json(ws["data"] / rel, target + [forget[0]])


def _copy_question(ws: Ws, transform) -> None:
    forget = json.loads((ws["data"] / "knowmem/forget_qa.json").read_text(encoding="utf-8"))
    retain = json.loads((ws["data"] / "knowmem/retain_qa.json").read_text(encoding="utf-8"))
    retain[0] = {"question": transform(forget[0]["question"]), "answer": retain[0]["answer"]}
    _json(ws["data"] / "knowmem/retain_qa.json", retain)


_case(
    "forget document copied into retain1 (validate)",
    C,
    lambda ws: _copy_forget_into(ws, "raw/retain1.json"),
    lambda ws: ["data", "validate", str(ws["data"])],
    "raw/retain1.json",
)
_case(
    "forget document copied into retain2 (eval)",
    C,
    lambda ws: _copy_forget_into(ws, "raw/retain2.json"),
    _eval,
    "raw/retain2.json",
)
_case(
    "forget question asked in retain (validate)",
    C,
    lambda ws: _copy_question(ws, lambda q: q),
    lambda ws: ["data", "validate", str(ws["data"])],
    "knowmem/retain_qa.json",
)
_case(
    "forget question in retain, case and spaces changed",
    C,
    lambda ws: _copy_question(ws, lambda q: "  " + q.upper().replace(" ", "   ")),
    lambda ws: ["data", "validate", str(ws["data"])],
    "knowmem/retain_qa.json",
)

# ---------------------------------------------------------------- model directories
M = "model"


def _pickle_index(ws: Ws) -> None:
    import torch

    (ws["model"] / "model.safetensors").unlink()
    torch.save({}, ws["model"] / "pytorch_model-00001-of-00001.bin")
    _json(
        ws["model"] / "model.safetensors.index.json",
        {"metadata": {}, "weight_map": {"model.norm.weight": "pytorch_model-00001-of-00001.bin"}},
    )


_case("shard index names a pickle file", M, _pickle_index, _eval, "model.safetensors.index.json")
