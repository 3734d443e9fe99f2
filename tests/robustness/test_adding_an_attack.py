"""docs/adding_a_metric.md ("Adding an attack"), followed from a test module: an attack written and registered
here, and nothing else changed, runs in ``musebench attack`` and in the audit."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from musebench.robustness.registry import ATTACKS, Attack, register_attack

SMALL = [
    "--set",
    "verbmem_max_new_tokens=8",
    "--set",
    "knowmem_max_new_tokens=4",
    "--set",
    "privleak_max_length=32",
    "--set",
    "bootstrap_samples=20",
    "--threads",
    "1",
    "--no-progress",
]


def noisy_copy(model, tokenizer, source, scale, texts, device, seed):
    """A copy with seeded Gaussian noise of standard deviation ``scale`` added to every weight."""
    twin = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in twin.parameters():
            p.add_(torch.randn(p.shape, generator=generator, dtype=p.dtype) * scale)
    return twin, tokenizer, f"{source} (noise {scale:g})"


def noisy_scores(
    model_path,
    corpus,
    settings,
    scale,
    *,
    metrics=None,
    retrain_auc=None,
    device="cpu",
    dtype=None,
    progress=False,
) -> dict:
    from musebench.evaluate import EvalSettings, evaluate
    from musebench.models.loading import load_model
    from musebench.robustness.attacks import scores_of

    loaded = load_model(model_path, device)
    model, tokenizer, _ = noisy_copy(loaded.model, loaded.tokenizer, model_path, scale, [], device, 0)
    settings = EvalSettings(**settings) if isinstance(settings, dict) else settings
    return scores_of(
        evaluate(model, tokenizer, corpus, settings, metrics=metrics, retrain_auc=retrain_auc, progress=progress)
    )


NOISE = Attack(
    "noise",
    "Gaussian noise added to every weight",
    "the target model with the same noise",
    noisy_scores,
    noisy_copy,
    option="a noise scale",
    default="0.01",
    parse=float,
)


@pytest.fixture
def noise_attack():
    register_attack(NOISE)
    try:
        yield NOISE
    finally:
        ATTACKS.pop("noise")


def test_the_cli_runs_a_registered_attack_beside_its_control(noise_attack, tiny_model_dir, tiny_data_dir, tmp_path):
    from musebench.cli import main

    out = tmp_path / "noise"
    rc = main(
        [
            "attack",
            "noise",
            "--model",
            str(tiny_model_dir),
            "--data",
            str(tiny_data_dir),
            "--option",
            "0",
            "--target",
            str(tiny_model_dir),
            "--metrics",
            "knowmem_f,verbmem_f",
            "--out",
            str(out),
            *SMALL,
        ]
    )
    assert rc == 0
    doc = json.loads((out / "robustness.json").read_text(encoding="utf-8"))
    assert doc["attack"] == "noise" and doc["option"] == 0.0 and set(doc["attacked"]) == {"target", "unlearned"}
    # noise of scale 0 changes no weight: every attacked score is the plain one, bit for bit
    for role in ("target", "unlearned"):
        assert doc["attacked"][role]["scores"] == doc["plain"][role]["scores"]
        assert set(doc["attacked"][role]["scores"]) == {"knowmem_f", "verbmem_f"}


def test_a_bad_option_is_one_error_before_any_model_loads(noise_attack, tiny_data_dir, tmp_path, capsys):
    from musebench.cli import main

    rc = main(
        [
            "attack",
            "noise",
            "--model",
            "no/such/model",
            "--data",
            str(tiny_data_dir),
            "--option",
            "loud",
            "--out",
            str(tmp_path / "x"),
            *SMALL,
        ]
    )
    assert rc == 2 and "noise takes a noise scale" in capsys.readouterr().err
    assert not (tmp_path / "x" / "robustness.json").exists()


def test_the_audit_probes_a_noisy_copy_and_leaves_the_model_alone(noise_attack, tiny_model_dir):
    from musebench.audit.api import AuditModel
    from musebench.audit.attacks import parse_attacks
    from musebench.models.loading import load_model

    loaded = load_model(tiny_model_dir)
    model = AuditModel(loaded.model, loaded.tokenizer, str(tiny_model_dir))
    (attack,) = parse_attacks(["noise:0.5"], "cpu")
    assert attack.name == "noise:0.5" and attack.trains_on is None
    before = {k: v.clone() for k, v in loaded.model.state_dict().items()}
    twin = attack.make(model, [])
    assert twin.source.endswith("(noise 0.5)") and twin.model is not loaded.model
    assert all(torch.equal(before[k], v) for k, v in loaded.model.state_dict().items())
    assert all(not torch.equal(before[k], v) for k, v in twin.model.state_dict().items())


def test_an_attacks_title_names_it_on_the_report(noise_attack):
    from musebench.robustness.registry import stage_title

    assert stage_title("quantize-nf4") == "NF4 (4-bit)" and stage_title("paraphrase") == "rephrased questions"
    assert stage_title("relearn-retain") == "relearn on retain"
    # an attack that gives no title, or a stage no attack stands for, is named by its stage
    assert stage_title("noise-0.5") == "noise-0.5" and stage_title("nothing-known") == "nothing-known"
    titled = Attack("blur", "s", "c", noisy_scores, option="a scale", default="1", titles={"1": "blurred once"})
    register_attack(titled)
    try:
        assert stage_title("blur-1") == "blurred once" and stage_title("blur-2") == "blur-2"
    finally:
        ATTACKS.pop("blur")
