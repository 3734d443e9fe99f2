"""Damaged inputs, one per case: what is broken, the command that meets it, and what its one error line names.

Each case damages a fresh copy of the pristine inputs (``ws`` holds their paths): a corpus, a model
directory, a config or experiment file, a flag or an output path. The test runs the command and asserts exit
2, exactly one ``error:`` line naming ``expect``, no traceback, and nothing written anywhere.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: The workspace: data, model, other (another tokenizer's model), out (absent), tmp (scratch).
Ws = dict[str, Path]


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    damage: Callable[[Ws], None]
    argv: Callable[[Ws], list[str]]
    expect: Callable[[Ws], str]
    rc: int = 2  # 0: the command must succeed, write, and say ``expect`` on its first line
    isolated: bool = False  # run in a subprocess with a time and memory limit (a case that once hung)


def _eval(ws: Ws, *extra: str, out: Path | None = None) -> list[str]:
    return [
        "eval",
        "--model",
        str(ws["model"]),
        "--data",
        str(ws["data"]),
        "--retrain-auc",
        "news",
        "--out",
        str(out or ws["out"]),
        "--threads",
        "1",
        "--no-progress",
        "--device",
        "cpu",
        *extra,
    ]


def _unlearn(ws: Ws, *extra: str) -> list[str]:
    return [
        "unlearn",
        "--model",
        str(ws["model"]),
        "--data",
        str(ws["data"]),
        "--method",
        "ga",
        "--out",
        str(ws["out"]),
        "--threads",
        "1",
        "--num_train_epochs",
        "1",
        "--max_len",
        "16",
        "--no_progress",
        "--use_cpu",
        *extra,
    ]


def _generate(ws: Ws, *extra: str) -> list[str]:
    return ["data", "generate", "--corpus", "news-mini", "--size", "tiny", "--out", str(ws["out"]), *extra]


def _write(path: Path, text: str | bytes) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def _json(path: Path, obj) -> None:
    _write(path, json.dumps(obj))


def _records(ws: Ws, rel: str) -> list:
    return json.loads((ws["data"] / rel).read_text(encoding="utf-8"))


def _tensors(ws: Ws, fn) -> None:
    from safetensors.torch import load_file, save_file

    path = ws["model"] / "model.safetensors"
    tensors = load_file(path)
    fn(tensors)
    save_file(tensors, path, metadata={"format": "pt"})


def _config(ws: Ws, **changes) -> None:
    path = ws["model"] / "config.json"
    cfg = json.loads(path.read_text(encoding="utf-8"))
    cfg.update(changes)
    _json(path, cfg)


def _yaml(ws: Ws, text: str) -> Path:
    path = ws["tmp"] / "options.yaml"
    _write(path, text)
    return path


def _experiment(ws: Ws, text: str) -> Path:
    path = ws["tmp"] / "experiment.yaml"
    _write(path, text.format(data=ws["data"], model=ws["model"]))
    return path


def nothing(ws: Ws) -> None:
    return None


def _s(text: str) -> Callable[[Ws], str]:
    return lambda ws: text


CASES: list[Case] = []


def case(name: str, category: str, damage, argv, expect) -> None:
    CASES.append(Case(name, category, damage, argv, expect if callable(expect) else _s(expect)))


# ---------------------------------------------------------------- corpora (met by eval, before any model)
C = "corpus"
case("required split missing", C, lambda ws: (ws["data"] / "raw/forget.json").unlink(), _eval, "raw/forget")
case("required split empty", C, lambda ws: _json(ws["data"] / "raw/forget.json", []), _eval, "raw/forget.json")
case("split not JSON", C, lambda ws: _write(ws["data"] / "raw/retain1.json", '["a", '), _eval, "raw/retain1.json")
case(
    "split not UTF-8", C, lambda ws: _write(ws["data"] / "raw/holdout.json", b'["\xff\xfe"]'), _eval, "raw/holdout.json"
)
case("split is an object", C, lambda ws: _json(ws["data"] / "raw/forget.json", {"text": "x"}), _eval, "raw/forget.json")
case("split is a number", C, lambda ws: _write(ws["data"] / "raw/retain2.json", "42"), _eval, "raw/retain2.json")
case("document is a number", C, lambda ws: _json(ws["data"] / "raw/forget.json", ["text", 7]), _eval, "raw/forget.json")
case(
    "QA record lacks answer",
    C,
    lambda ws: _json(ws["data"] / "knowmem/forget_qa.json", [{"question": "Who?"}]),
    _eval,
    "knowmem/forget_qa.json",
)
case(
    "QA question is a number",
    C,
    lambda ws: _json(ws["data"] / "knowmem/retain_qa.json", [{"question": 3, "answer": "x"}]),
    _eval,
    "knowmem/retain_qa.json",
)
case(
    "QA record is a string",
    C,
    lambda ws: _json(ws["data"] / "knowmem/forget_qa.json", ["just text"]),
    _eval,
    "knowmem/forget_qa.json",
)
case(
    "QA split as .txt",
    C,
    lambda ws: (
        _write(ws["data"] / "knowmem/forget_qa.txt", "Who?\nHim"),
        (ws["data"] / "knowmem/forget_qa.json").unlink(),
    ),
    _eval,
    "knowmem/forget_qa.txt",
)
case(
    "verbmem record lacks gt",
    C,
    lambda ws: _json(ws["data"] / "verbmem/forget.json", [{"prompt": "The"}]),
    _eval,
    "verbmem/forget.json",
)
case(
    "verbmem prompt empty",
    C,
    lambda ws: _json(
        ws["data"] / "verbmem/forget.json", [{"prompt": "  ", "gt": "x"}] + _records(ws, "verbmem/forget.json")
    ),
    _eval,
    "verbmem/forget.json",
)
case(
    "QA question empty",
    C,
    lambda ws: _json(
        ws["data"] / "knowmem/forget_qa.json",
        [{"question": "", "answer": "x"}] + _records(ws, "knowmem/forget_qa.json"),
    ),
    _eval,
    "knowmem/forget_qa.json",
)
case(
    "forget text copied into holdout",
    C,
    lambda ws: _json(
        ws["data"] / "privleak/holdout.json",
        _records(ws, "privleak/holdout.json") + _records(ws, "privleak/forget.json")[:1],
    ),
    _eval,
    "privleak/holdout.json",
)
case(
    "split path is a directory",
    C,
    lambda ws: ((ws["data"] / "knowmem/forget_qa.json").unlink(), (ws["data"] / "knowmem/forget_qa.json").mkdir()),
    _eval,
    "knowmem/forget_qa.json",
)
case(
    "required split is a directory",
    C,
    lambda ws: ((ws["data"] / "raw/retain1.json").unlink(), (ws["data"] / "raw/retain1").mkdir()),
    _eval,
    "raw/retain1",
)
case(
    "scal folds not nested",
    C,
    lambda ws: _json(ws["data"] / "scal/forget_2.json", _records(ws, "scal/forget_2.json")[1:]),
    _eval,
    "scal/forget_2",
)
case(
    "sust folds overlap",
    C,
    lambda ws: _json(
        ws["data"] / "sust/forget_2.json", _records(ws, "sust/forget_1.json")[:1] + _records(ws, "sust/forget_2.json")
    ),
    _eval,
    "sust/forget_2",
)
case(
    "lone surrogate",
    C,
    lambda ws: _write(ws["data"] / "raw/forget.json", '["abc \\ud800 def"]'),
    _eval,
    "raw/forget.json",
)
case(
    "jsonl line broken",
    C,
    lambda ws: (
        (ws["data"] / "raw/retain2.json").unlink(),
        _write(ws["data"] / "raw/retain2.jsonl", '"one"\n{"text": \n'),
    ),
    _eval,
    "raw/retain2.jsonl",
)
case("split stored twice", C, lambda ws: _write(ws["data"] / "raw/holdout.jsonl", '"extra"\n'), _eval, "raw/holdout")
case("corpus directory missing", C, lambda ws: shutil.rmtree(ws["data"]), _eval, lambda ws: str(ws["data"]))
case(
    "corpus path is a file",
    C,
    lambda ws: (shutil.rmtree(ws["data"]), _write(ws["data"], "x")),
    _eval,
    lambda ws: str(ws["data"]),
)
case(
    "null document",
    C,
    lambda ws: _json(ws["data"] / "privleak/forget.json", [None, "text"]),
    _eval,
    "privleak/forget.json",
)

# ---------------------------------------------------------------- model directories (met by eval)
M = "model"
W = "model.safetensors"
case("model directory missing", M, lambda ws: shutil.rmtree(ws["model"]), _eval, lambda ws: str(ws["model"]))
case("config.json missing", M, lambda ws: (ws["model"] / "config.json").unlink(), _eval, "config.json")
case(
    "only pickle weights",
    M,
    lambda ws: (ws["model"] / W).rename(ws["model"] / "pytorch_model.bin"),
    _eval,
    "safetensors",
)
case(
    "weights truncated",
    M,
    lambda ws: _write(ws["model"] / W, (ws["model"] / W).read_bytes()[:4000]),
    _eval,
    lambda ws: str(ws["model"]),
)
case("weights 0 bytes", M, lambda ws: _write(ws["model"] / W, b""), _eval, lambda ws: str(ws["model"]))
case("weights garbage", M, lambda ws: _write(ws["model"] / W, b"\x00" * 64), _eval, lambda ws: str(ws["model"]))
case(
    "tensor missing",
    M,
    lambda ws: _tensors(ws, lambda t: t.pop("model.layers.0.mlp.up_proj.weight")),
    _eval,
    "missing_keys",
)
case(
    "unexpected tensor",
    M,
    lambda ws: _tensors(ws, lambda t: t.update(extra=t["model.norm.weight"].clone())),
    _eval,
    "unexpected_keys",
)
case("config hidden size wrong", M, lambda ws: _config(ws, hidden_size=16), _eval, lambda ws: str(ws["model"]))
case("config layers a string", M, lambda ws: _config(ws, num_hidden_layers="two"), _eval, lambda ws: str(ws["model"]))
case("config more layers than weights", M, lambda ws: _config(ws, num_hidden_layers=3), _eval, "missing_keys")
case("config is a list", M, lambda ws: _json(ws["model"] / "config.json", [1, 2]), _eval, lambda ws: str(ws["model"]))
case("config not JSON", M, lambda ws: _write(ws["model"] / "config.json", "{"), _eval, lambda ws: str(ws["model"]))
case(
    "config unknown model type",
    M,
    lambda ws: _config(ws, model_type="no-such-arch"),
    _eval,
    lambda ws: str(ws["model"]),
)
case(
    "tokenizer missing",
    M,
    lambda ws: [(ws["model"] / f).unlink() for f in ("tokenizer.json", "tokenizer_config.json")],
    _eval,
    lambda ws: str(ws["model"]),
)
case(
    "tokenizer not JSON",
    M,
    lambda ws: _write(ws["model"] / "tokenizer.json", "{nope"),
    _eval,
    lambda ws: str(ws["model"]),
)
case(
    "NaN weights",
    M,
    lambda ws: _tensors(ws, lambda t: t["model.norm.weight"].fill_(float("nan"))),
    lambda ws: _eval(ws, "--metrics", "knowmem_f"),
    "logits",
)
case(
    "context shorter than prompts",
    M,
    lambda ws: _config(ws, max_position_embeddings=4),
    lambda ws: _eval(ws, "--metrics", "knowmem_f"),
    "knowmem",
)
case(
    "reference with another tokenizer",
    M,
    nothing,
    lambda ws: _eval(ws, "--reference", str(ws["other"]), "--metrics", "privleak"),
    "--reference",
)

# ---------------------------------------------------------------- config and experiment files
F = "config"
case("options file missing", F, nothing, lambda ws: _unlearn(ws, "--config", str(ws["tmp"] / "none.yaml")), "none.yaml")
case(
    "options not YAML",
    F,
    lambda ws: _yaml(ws, "num_train_epochs: [1,\n"),
    lambda ws: _unlearn(ws, "--config", str(ws["tmp"] / "options.yaml")),
    "options.yaml",
)
case(
    "options not UTF-8",
    F,
    lambda ws: _write(ws["tmp"] / "options.yaml", b"num_train_epochs: \xed\xa0\x80\n"),
    lambda ws: _unlearn(ws, "--config", str(ws["tmp"] / "options.yaml")),
    "options.yaml",
)
case(
    "experiment not UTF-8",
    F,
    lambda ws: _write(ws["tmp"] / "experiment.yaml", b"name: \xff\n"),
    lambda ws: ["run", str(ws["tmp"] / "experiment.yaml"), "--out", str(ws["out"])],
    "experiment.yaml",
)
case(
    "options a list",
    F,
    lambda ws: _yaml(ws, "- 1\n- 2\n"),
    lambda ws: _unlearn(ws, "--config", str(ws["tmp"] / "options.yaml")),
    "options.yaml",
)
case(
    "options unknown key",
    F,
    lambda ws: _yaml(ws, "epocks: 2\n"),
    lambda ws: _unlearn(ws, "--config", str(ws["tmp"] / "options.yaml")),
    "epocks",
)
case(
    "lr_scheduler bogus",
    F,
    lambda ws: _yaml(ws, "lr_scheduler: bogus\n"),
    lambda ws: _unlearn(ws, "--config", str(ws["tmp"] / "options.yaml")),
    "lr_scheduler",
)
case(
    "seed negative in options",
    F,
    lambda ws: _yaml(ws, "seed: -3\n"),
    lambda ws: _unlearn(ws, "--config", str(ws["tmp"] / "options.yaml")),
    "seed",
)
case(
    "grad_accum a string",
    F,
    lambda ws: _yaml(ws, "grad_accum: three\n"),
    lambda ws: _unlearn(ws, "--config", str(ws["tmp"] / "options.yaml")),
    "grad_accum",
)
case(
    "alphas a number",
    F,
    lambda ws: _yaml(ws, "alphas: 4\n"),
    lambda ws: _unlearn(ws, "--config", str(ws["tmp"] / "options.yaml")),
    "alphas",
)
case(
    "beta a list",
    F,
    lambda ws: _yaml(ws, "beta: [1]\n"),
    lambda ws: _unlearn(ws, "--config", str(ws["tmp"] / "options.yaml")),
    "beta",
)
EXP = "name: bad\ndevice: cpu\ncorpus: {{path: {data}}}\nmodels: {{target: {model}, retrain: {model}}}\n"
case(
    "experiment file missing",
    F,
    nothing,
    lambda ws: ["run", str(ws["tmp"] / "nope.yaml"), "--out", str(ws["out"])],
    "nope.yaml",
)
case(
    "experiment not YAML",
    F,
    lambda ws: _experiment(ws, "name: [\n"),
    lambda ws: ["run", str(ws["tmp"] / "experiment.yaml"), "--out", str(ws["out"])],
    "experiment.yaml",
)
case(
    "experiment unknown key",
    F,
    lambda ws: _experiment(ws, EXP + "methodz: {{ga: {{}}}}\n"),
    lambda ws: ["run", str(ws["tmp"] / "experiment.yaml"), "--out", str(ws["out"])],
    "methodz",
)
case(
    "experiment unknown method",
    F,
    lambda ws: _experiment(ws, EXP + "methods: {{gaa: {{}}}}\n"),
    lambda ws: ["run", str(ws["tmp"] / "experiment.yaml"), "--out", str(ws["out"])],
    "gaa",
)
case(
    "experiment seed a string",
    F,
    lambda ws: _experiment(ws, EXP + "seed: zero\nmethods: {{ga: {{}}}}\n"),
    lambda ws: ["run", str(ws["tmp"] / "experiment.yaml"), "--out", str(ws["out"])],
    "seed",
)
case(
    "experiment lr negative",
    F,
    lambda ws: _experiment(ws, EXP + "methods: {{ga: {{learning_rate: -1}}}}\n"),
    lambda ws: ["run", str(ws["tmp"] / "experiment.yaml"), "--out", str(ws["out"])],
    "learning_rate",
)

# ---------------------------------------------------------------- flags
G = "flag"
case("seed negative", G, nothing, lambda ws: _eval(ws, "--seed", "-1"), "--seed")
case("seed not a number", G, nothing, lambda ws: _generate(ws, "--seed", "abc"), "--seed")
case("threads zero", G, nothing, lambda ws: _eval(ws, "--threads", "0"), "--threads")
case("device mps where it is not built", G, nothing, lambda ws: _eval(ws, "--device", "mps"), "--device")
case("device unknown", G, nothing, lambda ws: _eval(ws, "--device", "tpu"), "--device")
case("metric unknown", G, nothing, lambda ws: _eval(ws, "--metrics", "verbmem_x"), "metrics")
case("--set unknown field", G, nothing, lambda ws: _eval(ws, "--set", "nope=1"), "--set")
case(
    "settings flag value not a number",
    G,
    nothing,
    lambda ws: _eval(ws, "--verbmem-max-new-tokens", "lots"),
    "verbmem_max_new_tokens",
)
case("retrain AUC out of range", G, nothing, lambda ws: _eval(ws, "--retrain-auc", "1.5"), "retrain")
case(
    "method unknown",
    G,
    nothing,
    lambda ws: [
        "unlearn",
        "--model",
        str(ws["model"]),
        "--data",
        str(ws["data"]),
        "--method",
        "forgetall",
        "--out",
        str(ws["out"]),
    ],
    "--method",
)
case("forget split unknown", G, nothing, lambda ws: _unlearn(ws, "--forget-split", "scal/forget_9"), "forget")
case("lr negative flag", G, nothing, lambda ws: _unlearn(ws, "--learning_rate", "-0.1"), "learning_rate")
case("show -n negative", G, nothing, lambda ws: ["data", "show", str(ws["data"]), "-n", "-2"], "-n")
case(
    "build float16",
    G,
    nothing,
    lambda ws: ["build", "target", "--data", str(ws["data"]), "--out", str(ws["out"]), "--dtype", "float16"],
    "--dtype",
)

# ---------------------------------------------------------------- output paths
O = "output"


def _foreign(ws: Ws) -> None:
    ws["out"].mkdir()
    (ws["out"] / "thesis.tex").write_text("my own work")


def _file(ws: Ws) -> None:
    ws["out"].write_text("a file, not a directory")


def _held(ws: Ws) -> None:
    """Another (live) writer holds the output directory's lock."""
    from musebench.io import output_dir

    ws["out"].mkdir()
    claim = output_dir(ws["out"])
    claim.__enter__()
    ws["_release"] = claim  # type: ignore[assignment]


case("eval --out is a file", O, _file, _eval, "--out")
case("eval --out holds foreign files", O, _foreign, _eval, "thesis.tex")
case(
    "eval --out parent is a file",
    O,
    lambda ws: _write(ws["tmp"] / "plain", "x"),
    lambda ws: _eval(ws, out=ws["tmp"] / "plain" / "sub"),
    "--out",
)
case(
    "eval --cache-dir is a file",
    O,
    lambda ws: _write(ws["tmp"] / "cachefile", "x"),
    lambda ws: _eval(ws, "--cache-dir", str(ws["tmp"] / "cachefile")),
    "--cache-dir",
)
case("eval --out locked by a live writer", O, _held, _eval, "another musebench process")
case("unlearn --out is a file", O, _file, _unlearn, "--out")
case(
    "unlearn --out holds foreign checkpoints",
    O,
    lambda ws: (ws["out"].mkdir(), (ws["out"] / "checkpoints").mkdir(), (ws["out"] / "epoch-1").mkdir()),
    _unlearn,
    "checkpoints",
)
case("unlearn --out locked by a live writer", O, _held, _unlearn, "another musebench process")
case("generate --out is a file", O, _file, _generate, "--out")
case("generate --out holds foreign files", O, _foreign, _generate, "thesis.tex")
case(
    "build --out/target is a user's model",
    O,
    lambda ws: (ws["out"].mkdir(), shutil.copytree(ws["model"], ws["out"] / "target")),
    lambda ws: ["build", "target", "--data", str(ws["data"]), "--out", str(ws["out"]), "--threads", "1"],
    "target",
)
case(
    "build --out is a file",
    O,
    _file,
    lambda ws: ["build", "target", "--data", str(ws["data"]), "--out", str(ws["out"]), "--threads", "1"],
    "--out",
)
case(
    "run --out is a file",
    O,
    lambda ws: (_file(ws), _experiment(ws, EXP + "methods: {{ga: {{}}}}\n")),
    lambda ws: ["run", str(ws["tmp"] / "experiment.yaml"), "--out", str(ws["out"])],
    "--out",
)
case(
    "run --out holds foreign files",
    O,
    lambda ws: (_foreign(ws), _experiment(ws, EXP + "methods: {{ga: {{}}}}\n")),
    lambda ws: ["run", str(ws["tmp"] / "experiment.yaml"), "--out", str(ws["out"])],
    "thesis.tex",
)
case(
    "report --out holds foreign files",
    O,
    _foreign,
    lambda ws: ["report", str(ws["tmp"]), "--out", str(ws["out"])],
    "thesis.tex",
)

import badinput_ownership  # noqa: F401  (appends its cases to CASES)
