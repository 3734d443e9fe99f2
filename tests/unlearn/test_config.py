"""``UnlearnConfig`` as a ``TrainingArguments``: HF names and the old aliases, the CLI through
``HfArgumentParser``, all problems at once, the record round trip, and the one "changes the weights" source."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from transformers import TrainingArguments

from musebench.errors import ConfigError
from musebench.unlearn import UnlearnConfig
from musebench.unlearn.config import ALIASES, changes_weights, key_fields, recipe_fields, weight_fields


def parse(*flags: str, config: str | None = None) -> UnlearnConfig:
    from musebench.cli import build_parser
    from musebench.commands.unlearn import config_from_args

    argv = ["unlearn", "--model", "m", "--data", "d", "--method", "npo_gdr", "--out", "o", *flags]
    if config:
        argv += ["--config", config]
    return config_from_args(build_parser("unlearn", all_commands=False).parse_args(argv))


def test_is_training_arguments_with_the_muse_recipe():
    c = UnlearnConfig(method="ga")
    assert isinstance(c, TrainingArguments)
    assert (c.num_train_epochs, c.per_device_train_batch_size, c.max_grad_norm, c.weight_decay, c.seed,
            c.lr_scheduler_type.value, c.optim.value, c.save_strategy.value, c.logging_steps, c.report_to,
            c.remove_unused_columns) == (10, 4, 1.0, 0.0, 0, "constant", "adamw_torch", "epoch", 1, [], False)
    assert c.learning_rate is None and c.resolved().learning_rate == 1e-5  # the method's default
    assert UnlearnConfig(method="rmu").resolved().learning_rate == 5e-5


def test_old_names_are_aliases_of_the_hf_fields():
    old = UnlearnConfig.from_dict({"method": "ga", "epochs": 3, "lr": 1e-4, "batch_size": 2, "grad_accum": 2,
                                   "lr_scheduler": "linear", "device": "cpu", "mixed_precision": "no",
                                   "checkpoint_steps": 5, "gradient_checkpointing": True})
    new = UnlearnConfig(method="ga", num_train_epochs=3, learning_rate=1e-4, per_device_train_batch_size=2,
                        gradient_accumulation_steps=2, lr_scheduler_type="linear", use_cpu=True, bf16=False,
                        fp16=False, save_strategy="steps", save_steps=5, activation_checkpointing=True)
    assert old.record() == new.record()
    assert UnlearnConfig(method="ga", checkpoint_steps=-1).save_strategy.value == "no"
    assert UnlearnConfig(method="ga", checkpoint_steps=0).save_strategy.value == "epoch"
    assert UnlearnConfig(method="ga", mixed_precision="auto").bf16 is None  # decided by the run's device
    assert {a.name for a in ALIASES.values()} >= {"epochs", "lr", "batch_size", "grad_accum", "device"}
    with pytest.raises(ConfigError, match="both set learning_rate"):
        UnlearnConfig.from_dict({"method": "ga", "lr": 1e-4, "learning_rate": 1e-3})


def test_record_round_trips_and_stays_readable():
    c = UnlearnConfig.from_dict({"method": "npo_klr", "epochs": 2, "lr": 1e-3, "adam_beta2": 0.95,
                                 "alphas": [1, 2]}).resolved()
    record = c.record()
    assert record["learning_rate"] == 1e-3 and record["adam_beta2"] == 0.95 and record["beta"] == 0.1
    assert "hub_token" not in record and "output_dir" not in record and "adam_beta1" not in record  # HF default
    again = UnlearnConfig.from_dict(record)
    assert again.record() == record and again.changed_from(record) == {}
    import json

    json.dumps(record)  # plain JSON


def test_hf_flag_and_short_flag_give_the_same_config(tmp_path):
    assert parse("--learning_rate", "1e-4").record() == parse("--lr", "1e-4").record()
    assert parse("--num_train_epochs", "3", "--per_device_train_batch_size", "2").record() == \
        parse("--epochs", "3", "--batch-size", "2").record()
    c = parse("--optim", "adamw_torch_fused", "--adam_beta2", "0.95", "--report_to", "tensorboard",
              "--max-len", "64", "--no-progress", "--device", "cpu", "--checkpoint-steps", "-1")
    assert (c.optim.value, c.adam_beta2, c.report_to, c.max_len, c.progress, c.use_cpu, c.save_strategy.value) == \
        ("adamw_torch_fused", 0.95, ["tensorboard"], 64, False, True, "no")


def test_flags_override_the_yaml_file_under_either_name(tmp_path):
    file = tmp_path / "opts.yaml"
    file.write_text("lr: 0.5\nbatch_size: 2\nbeta: 0.2\nweight_decay: 0.01\n")
    c = parse("--learning_rate", "1e-3", "--epochs", "4", config=str(file))
    assert (c.learning_rate, c.per_device_train_batch_size, c.beta, c.weight_decay, c.num_train_epochs) == \
        (1e-3, 2, 0.2, 0.01, 4)
    file.write_text("output_dir: somewhere\n")
    with pytest.raises(ConfigError, match="set by the run"):
        parse(config=str(file))


def test_every_problem_at_once_one_per_line():
    with pytest.raises(ConfigError) as err:
        UnlearnConfig.from_dict({"method": "npo", "epochs": 0, "beta": -2.0, "loss_form": "paper", "bogus": 1,
                                 "use_cpu": True, "fp16": True, "bf16": True, "device": "tpu"})
    problems = err.value.problems
    text = str(err.value)
    assert len(problems) == 6 and len(text.splitlines()) == 7
    for needle in ("bogus", "num_train_epochs", "beta", "loss_form", "device", "fp16 and bf16"):
        assert sum(needle in p for p in problems) >= 1, needle
    with pytest.raises(ConfigError) as err:  # one problem: the field and the value, no list
        UnlearnConfig(method="npo", lr=-1.0)
    assert err.value.field == "learning_rate" and err.value.value == -1.0 and not err.value.problems


def test_fields_that_do_not_change_the_weights_come_from_the_metadata():
    for name in ("progress", "keep_checkpoints", "save_strategy", "save_steps", "logging_steps", "report_to",
                 "output_dir", "use_cpu", "dataloader_num_workers", "finetuned_dir"):
        assert not changes_weights(name), name
    for name in ("learning_rate", "num_train_epochs", "seed", "optim", "adam_beta2", "bf16", "max_len", "beta",
                 "alphas", "dtype"):
        assert changes_weights(name), name
    own = [f for f in dataclasses.fields(UnlearnConfig) if f.name not in {g.name for g in
                                                                            dataclasses.fields(TrainingArguments)}]
    assert all("help" in f.metadata and "weights" in f.metadata for f in own)  # every musebench field says
    assert "alphas" not in recipe_fields() and "beta" not in recipe_fields() and "learning_rate" in recipe_fields()
    assert set(recipe_fields()) <= set(weight_fields())


def test_the_cache_key_and_the_resume_check_ignore_what_does_not_change_the_weights():
    base = {"method": "ga", "epochs": 2, "lr": 1e-3}
    quiet = {**base, "progress": False, "keep_checkpoints": True, "checkpoint_steps": -1, "device": "cuda",
             "finetuned_dir": "elsewhere", "report_to": "tensorboard"}
    assert key_fields(base) == key_fields(quiet) == {"method": "ga", "num_train_epochs": 2, "learning_rate": 1e-3}
    assert key_fields({**base, "lr": 2e-3}) != key_fields(base)
    assert key_fields(base) == key_fields({"method": "ga", "num_train_epochs": 2, "learning_rate": 1e-3})
    config = UnlearnConfig.from_dict(base)
    assert config.changed_from(UnlearnConfig.from_dict(quiet).record()) == {}
    assert config.changed_from({**config.record(), "learning_rate": 5e-3}) == {"learning_rate": (5e-3, 1e-3)}


def test_a_record_from_an_older_musebench_is_read_through_the_aliases():
    old = {"epochs": 2, "lr": 0.001, "batch_size": 4, "grad_accum": 1, "max_len": 32, "seed": 0,
           "max_grad_norm": 1.0, "weight_decay": 0.0, "lr_scheduler": "constant", "warmup_steps": 0,
           "max_steps": -1, "lora_r": 0, "lora_alpha": None, "lora_dropout": 0.0, "device": "auto",
           "dtype": "auto", "mixed_precision": "auto", "gradient_checkpointing": False, "checkpoint_steps": 0,
           "keep_checkpoints": False, "loss_form": "textbook", "progress": True, "alpha": 1.0, "beta": 0.1,
           "gamma": 0.0, "rmu_layer": None, "rmu_steering_coeff": 6.5, "rmu_train_layers": 3,
           "rmu_params": "reference", "alphas": [1.0, 2.0], "finetuned_dir": None, "method": "npo_gdr",
           "a_field_since_removed": 1}
    same = UnlearnConfig(method="npo_gdr", epochs=2, lr=1e-3, max_len=32, alphas=[1.0, 2.0]).resolved()
    assert same.changed_from(old) == {}
    assert list(UnlearnConfig(method="npo_gdr", epochs=3, lr=1e-3, max_len=32, alphas=[1.0, 2.0]).resolved()
                .changed_from(old)) == ["num_train_epochs"]


def test_building_a_config_leaves_a_running_accelerator_alone():
    """A record is compared (a config built) while a Trainer runs: accelerate's global state must survive."""
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=True)
    UnlearnConfig.from_dict({"method": "ga", "lr": 1e-3}).record()
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
        UnlearnConfig(method="ga", dtype="fp8")


def test_a_refusal_file_enters_the_stage_key_by_its_content(tmp_path):
    """Editing the refusal file in place must not reuse a cached IdkDPO run trained on the old refusals."""
    from musebench.unlearn.config import key_fields

    refusals = tmp_path / "refusals.txt"
    refusals.write_text("I cannot say.\n", encoding="utf-8")
    before = key_fields({"method": "idk_dpo", "idk_refusals": str(refusals)})
    refusals.write_text("I do not know.\n", encoding="utf-8")
    after = key_fields({"method": "idk_dpo", "idk_refusals": str(refusals)})
    assert before["idk_refusals"]["path"] == after["idk_refusals"]["path"] == str(refusals)
    assert before != after
    assert key_fields({"method": "idk_dpo"}).get("idk_refusals") is None  # the shipped default: no file named
