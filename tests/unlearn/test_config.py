"""Method configs in TRL's shape: ``UnlearnConfig(TrainingArguments)`` with the MUSE recipe, one subclass per
family with its own unprefixed fields; flags and YAML through ``HfArgumentParser`` with unknown keys refused;
all problems at once; the record round trip; old records through the one rename map; the one list of fields
that never change the weights."""

from __future__ import annotations

import dataclasses
import warnings

import pytest
import torch
from transformers import TrainingArguments

from musebench.errors import ConfigError
from musebench.unlearn import METHODS, UnlearnConfig, config_for
from musebench.unlearn.config import WEIGHTLESS, changes_weights, key_fields, recipe_fields, weight_fields


def parse(*flags: str, config: str | None = None, method: str = "npo_gdr") -> UnlearnConfig:
    from musebench.cli import build_parser
    from musebench.commands.unlearn import config_from_args

    argv = ["unlearn", "--model", "m", "--data", "d", "--method", method, "--out", "o", *flags]
    if config:
        argv += ["--config", config]
    args, options = build_parser("unlearn", all_commands=False).parse_known_args(argv)
    args.options = options
    return config_from_args(args)


def test_is_training_arguments_with_the_muse_recipe():
    c = config_for("ga")
    assert type(c) is UnlearnConfig and isinstance(c, TrainingArguments)
    assert (
        c.num_train_epochs,
        c.per_device_train_batch_size,
        c.max_grad_norm,
        c.weight_decay,
        c.seed,
        c.lr_scheduler_type.value,
        c.optim.value,
        c.save_strategy.value,
        c.logging_steps,
        c.report_to,
        c.remove_unused_columns,
        c.learning_rate,
    ) == (10, 4, 1.0, 0.0, 0, "constant", "adamw_torch", "epoch", 1, [], False, 1e-5)


def test_each_family_has_its_own_class_with_its_defaults_and_unprefixed_fields():
    from musebench.unlearn.methods.npo import NPOConfig
    from musebench.unlearn.methods.rmu import RMUConfig

    assert METHODS["npo_gdr"].config_class is NPOConfig and METHODS["npo_gdr"].load().__name__ == "NPOTrainer"
    npo = config_for("npo_gdr")
    assert (type(npo), npo.beta, npo.alpha) == (NPOConfig, 0.1, 1.0)
    rmu = config_for("rmu")
    assert (type(rmu), rmu.learning_rate, rmu.alpha, rmu.steering_coeff, rmu.layer) == (
        RMUConfig,
        5e-5,
        1200.0,
        6.5,
        None,
    )
    assert (config_for("simnpo").beta, config_for("simnpo_gdr").beta, config_for("simnpo_gdr").alpha) == (2.5, 0.7, 0.1)
    assert config_for("satimp_gdr").alpha == 10.0 and config_for("undial").learning_rate == 1e-4
    assert config_for("uld").alphas == [0.2, 0.4, 0.6, 0.8, 1.0] and config_for("whp").alphas[-1] == 512.0
    assert not hasattr(config_for("ga"), "beta")  # a field belongs to the family that reads it
    for name in METHODS:  # no name prefixes: the class says whose field it is
        cls = METHODS[name].config_class
        own = set(cls.__dataclass_fields__) - set(UnlearnConfig.__dataclass_fields__)
        assert not any(f.startswith(("rmu_", "uld_", "idk_", "sam_", "wga_", "satimp_", "undial_")) for f in own)
    with pytest.raises(ConfigError, match="its config is NPOConfig"):
        RMUConfig(method="npo")


def test_record_round_trips_and_stays_readable():
    import json

    c = config_for("npo_klr", num_train_epochs=2, learning_rate=1e-3, adam_beta2=0.95)
    record = c.record()
    assert record["learning_rate"] == 1e-3 and record["adam_beta2"] == 0.95 and record["beta"] == 0.1
    assert "hub_token" not in record and "output_dir" not in record and "adam_beta1" not in record  # HF default
    assert "alphas" not in record and "layer" not in record  # only the family's own fields
    again = UnlearnConfig.from_dict(record)
    assert type(again) is type(c) and again.record() == record and again.changed_from(record) == {}
    json.dumps(record)  # plain JSON


def test_flags_are_the_method_config_fields_and_override_the_yaml_file(tmp_path):
    c = parse(
        "--optim",
        "adamw_torch_fused",
        "--adam_beta2",
        "0.95",
        "--report_to",
        "tensorboard",
        "--max_len",
        "64",
        "--no_progress",
        "--use_cpu",
        "--save_strategy",
        "no",
        "--beta",
        "0.3",
    )
    assert (
        c.optim.value,
        c.adam_beta2,
        c.report_to,
        c.max_len,
        c.progress,
        c.use_cpu,
        c.save_strategy.value,
        c.beta,
    ) == ("adamw_torch_fused", 0.95, ["tensorboard"], 64, False, True, "no", 0.3)
    file = tmp_path / "opts.yaml"
    file.write_text("learning_rate: 0.5\nper_device_train_batch_size: 2\nbeta: 0.2\nweight_decay: 0.01\n")
    c = parse("--learning_rate", "1e-3", "--num_train_epochs", "4", config=str(file))
    assert (c.learning_rate, c.per_device_train_batch_size, c.beta, c.weight_decay, c.num_train_epochs) == (
        1e-3,
        2,
        0.2,
        0.01,
        4,
    )
    assert parse("--alphas", "1", "2", method="task_vector").alphas == [1.0, 2.0]


def test_unknown_flags_and_keys_are_one_error_naming_them(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown option --lerning_rate of NPOConfig; did you mean --learning_rate"):
        parse("--lerning_rate", "1e-3")
    with pytest.raises(ConfigError, match="unknown option --steering_coeff"):  # RMU's, not NPO's
        parse("--steering_coeff", "2")
    with pytest.raises(ConfigError, match=r"unknown option --lr "):  # the old short names are gone
        parse("--lr", "1e-3")
    file = tmp_path / "opts.yaml"
    file.write_text("lr: 0.5\n")
    with pytest.raises(ConfigError) as err:
        parse(config=str(file))
    assert "lr: unknown option of NPOConfig; it is called 'learning_rate' now" in str(err.value)
    assert str(file) in str(err.value) and len(str(err.value).splitlines()) == 1
    file.write_text("output_dir: somewhere\n")
    with pytest.raises(ConfigError, match="set by the run"):
        parse(config=str(file))
    with pytest.raises(ConfigError, match="set by the run"):
        parse("--output_dir", "x")
    with pytest.raises(ConfigError, match="learning_rate"):  # a bad value: one line, not argparse's usage
        parse("--learning_rate", "fast")


def test_help_of_a_method_shows_its_own_flags_first(capsys):
    from musebench.cli import main

    with pytest.raises(SystemExit):
        main(["unlearn", "--method", "rmu", "--help"])
    out = capsys.readouterr().out
    own = out[out.index("rmu options (RMUConfig):") : out.index("shared options")]
    assert "--steering_coeff" in own and "--train_layers" in own and "(default: 1200.0)" in own
    options = out[out.index("rmu options") :]
    assert "--beta" not in options and "--max_len" in options[options.index("shared options") :]


def test_every_problem_at_once_one_per_line():
    with pytest.raises(ConfigError) as err:
        config_for("npo", num_train_epochs=0, beta=-2.0, loss_form="paper", use_cpu=True, fp16=True, bf16=True)
    problems = err.value.problems
    assert len(problems) == 4 and len(str(err.value).splitlines()) == 5
    for needle in ("num_train_epochs", "beta", "loss_form", "fp16 and bf16"):
        assert sum(needle in p for p in problems) == 1, needle
    with pytest.raises(ConfigError) as err:  # one problem: the field and the value, no list
        config_for("npo", learning_rate=-1.0)
    assert err.value.field == "learning_rate" and err.value.value == -1.0 and not err.value.problems
    with pytest.raises(ConfigError, match="2 unknown unlearning options"):
        config_for("npo", bogus=1, lr=1e-3)


def test_one_list_says_which_fields_never_change_the_weights():
    for name in (
        "progress",
        "keep_checkpoints",
        "save_strategy",
        "save_steps",
        "logging_steps",
        "report_to",
        "output_dir",
        "use_cpu",
        "dataloader_num_workers",
        "finetuned_dir",
    ):
        assert not changes_weights(name) and name in WEIGHTLESS, name
    for name in (
        "learning_rate",
        "num_train_epochs",
        "seed",
        "optim",
        "adam_beta2",
        "bf16",
        "max_len",
        "beta",
        "alphas",
        "dtype",
        "steering_coeff",
    ):
        assert changes_weights(name), name
    assert "alphas" not in recipe_fields() and "alpha" not in recipe_fields() and "learning_rate" in recipe_fields()
    assert set(recipe_fields()) <= set(weight_fields())
    own = [
        f
        for f in dataclasses.fields(UnlearnConfig)
        if f.name not in {g.name for g in dataclasses.fields(TrainingArguments)}
    ]
    assert all(set(f.metadata) == {"help"} for f in own)  # metadata is argparse's: HfArgumentParser passes it on


def test_the_cache_key_and_the_resume_check_ignore_what_does_not_change_the_weights():
    base = {"method": "ga", "num_train_epochs": 2, "learning_rate": 1e-3}
    quiet = {
        **base,
        "progress": False,
        "keep_checkpoints": True,
        "save_strategy": "no",
        "use_cpu": True,
        "report_to": "tensorboard",
    }
    assert key_fields(base) == key_fields(quiet) == base
    assert key_fields({**base, "learning_rate": 2e-3}) != key_fields(base)
    config = config_for(**base)
    assert config.changed_from(config_for(**quiet).record()) == {}
    assert config.changed_from({**config.record(), "learning_rate": 5e-3}) == {"learning_rate": (5e-3, 1e-3)}


def test_a_record_from_an_older_musebench_is_read_through_the_rename_map():
    old = {
        "epochs": 2,
        "lr": 0.001,
        "batch_size": 4,
        "grad_accum": 1,
        "max_len": 32,
        "seed": 0,
        "max_grad_norm": 1.0,
        "weight_decay": 0.0,
        "lr_scheduler": "constant",
        "warmup_steps": 0,
        "max_steps": -1,
        "lora_r": 0,
        "lora_alpha": None,
        "lora_dropout": 0.0,
        "dtype": "auto",
        "keep_checkpoints": False,
        "loss_form": "textbook",
        "progress": True,
        "alpha": 1.0,
        "beta": 0.1,
        "gamma": 0.0,
        "rmu_layer": None,
        "rmu_steering_coeff": 6.5,
        "rmu_train_layers": 3,
        "rmu_params": "reference",
        "alphas": [1.0, 2.0],
        "finetuned_dir": None,
        "method": "npo_gdr",
        "undial_beta": 10.0,
        "wga_beta": 1.0,
        "a_field_since_removed": 1,
    }
    same = config_for("npo_gdr", num_train_epochs=2, learning_rate=1e-3, max_len=32)
    with pytest.warns(FutureWarning, match="earlier musebench"):
        assert same.changed_from(old) == {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        assert list(config_for("npo_gdr", num_train_epochs=3, learning_rate=1e-3, max_len=32).changed_from(old)) == [
            "num_train_epochs"
        ]
        # a family's old prefixed name is read as its field, another family's is ignored
        rmu = UnlearnConfig.from_record({**old, "method": "rmu", "alpha": 1200.0, "rmu_steering_coeff": 2.0})
        assert rmu.steering_coeff == 2.0 and rmu.learning_rate == 1e-3
        wga = UnlearnConfig.from_record({**old, "method": "wga", "beta": None, "wga_beta": 0.5})
        assert wga.beta == 0.5  # not UNDIAL's undial_beta, nor the null every old record wrote
        ga = UnlearnConfig.from_record({**old, "method": "ga", "alpha": None})
        assert ga.alpha == 1.0  # an old null meant "the method's default"


def test_building_a_config_leaves_a_running_accelerator_alone():
    """A record is compared (a config built) while a Trainer runs: accelerate's global state must survive."""
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=True)
    config_for("ga", learning_rate=1e-3).record()
    assert accelerator.state.distributed_type is not None


def test_dtype_vocabulary_is_one_and_auto_depends_on_the_use():
    from musebench.commands.common import DTYPES
    from musebench.models.dtypes import DTYPE_NAMES, resolve_dtype
    from musebench.unlearn.config import WEIGHT_DTYPES

    assert DTYPES is DTYPE_NAMES and WEIGHT_DTYPES is DTYPE_NAMES
    assert resolve_dtype("auto", "cuda", "inference") is torch.bfloat16
    assert resolve_dtype("auto", "cpu", "inference") is torch.float32
    assert resolve_dtype("auto", "cuda", "training") is torch.float32  # fp32 master weights, bf16 autocast
    assert resolve_dtype("auto", "cuda", "edit") == "auto"  # each checkpoint's stored dtype
    assert resolve_dtype("bfloat16", "cpu", "training") is torch.bfloat16
    with pytest.raises(ConfigError, match="dtype"):
        resolve_dtype("fp8")
    with pytest.raises(ConfigError, match="dtype"):
        config_for("ga", dtype="fp8")


def test_a_refusal_file_enters_the_stage_key_by_its_content(tmp_path):
    """Editing the refusal file in place must not reuse a cached IdkDPO run trained on the old refusals."""
    refusals = tmp_path / "refusals.txt"
    refusals.write_text("I cannot say.\n", encoding="utf-8")
    before = key_fields({"method": "idk_dpo", "refusals": str(refusals)})
    refusals.write_text("I do not know.\n", encoding="utf-8")
    after = key_fields({"method": "idk_dpo", "refusals": str(refusals)})
    assert before["refusals"]["path"] == after["refusals"]["path"] == str(refusals)
    assert before != after
    assert key_fields({"method": "idk_dpo"}).get("refusals") is None  # the shipped default: no file named


def test_method_facts_replace_name_checks():
    facts = {n: (m.sweeps_alphas, m.needs_finetuned, m.combines_logits, m.can_chain) for n, m in METHODS.items()}
    assert facts["task_vector"] == (True, True, False, True)
    assert facts["whp"] == (True, True, True, False)
    assert facts["uld"] == (True, False, True, False)
    assert all(f == (False, False, False, True) for n, f in facts.items() if n not in ("task_vector", "whp", "uld"))
