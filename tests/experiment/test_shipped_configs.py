"""Every example file and built-in demo experiment parses against the real method registry."""

from pathlib import Path

import pytest
import yaml

from musebench.experiment.adapters import validate_method
from musebench.experiment.config import parse_experiment
from musebench.experiment.demo import REAL_SMALL, builtin_config, builtin_names, demo_names, real_small_config

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_open_with_their_command_and_validate(path, tmp_path):
    text = path.read_text()
    assert text.startswith(f"# musebench run examples/{path.name}")
    raw = yaml.safe_load(text)
    if "path" in raw["corpus"]:
        raw["corpus"] = {"path": str(tmp_path)}  # the user's directory does not exist here
    cfg = parse_experiment(raw, source_file=str(path), method_validator=validate_method)
    assert cfg.methods


def test_demo_experiments_exist_and_cover_the_muse_baselines_plus_simnpo_and_rmu():
    assert demo_names(quick=True, all_corpora=True) == ["news-mini-quick", "books-mini-quick"]
    assert demo_names(True, False, all_methods=True) == ["news-mini-quick-all"]
    every = demo_names(False, True) + demo_names(True, True, all_methods=True)
    assert set(every + demo_names(True, True) + [REAL_SMALL]) == set(builtin_names())
    for name in every:
        cfg = builtin_config(name)
        assert {m.method for m in cfg.methods} >= {
            "ga",
            "ga_gdr",
            "ga_klr",
            "npo",
            "npo_gdr",
            "npo_klr",
            "task_vector",
            "whp",
            "simnpo_gdr",
            "rmu",
        }
        assert cfg.corpus.generate.kind == name.removesuffix("-all").removesuffix("-quick")
        # SimNPO as its authors ran MUSE (simnpo_gdr, beta 0.7 News / 0.75 Books, retain weight 0.1); ULD <= 1
        simnpo = next(m for m in cfg.methods if m.method == "simnpo_gdr")
        assert simnpo.params["beta"] == (0.7 if name.startswith("news") else 0.75) and simnpo.params["alpha"] == 0.1
        uld = next(m for m in cfg.methods if m.method == "uld")
        assert max(uld.params["alphas"]) <= 1 and "retain_weight" not in uld.params  # the default, 5
        assert cfg.follow_up_methods(cfg.scalability) and cfg.follow_up_methods(cfg.sustainability)


def test_quick_demo_is_a_handful_of_methods_with_every_criterion_on_one():
    """The first look stays small: five methods, one of them newer than MUSE, C5/C6/C7 on NPO_GDR only."""
    for name in demo_names(quick=True, all_corpora=True):
        cfg = builtin_config(name)
        assert [m.method for m in cfg.methods] == ["ga", "ga_gdr", "npo_gdr", "task_vector", "undial"]
        assert [m.name for m in cfg.follow_up_methods(cfg.scalability)] == ["npo_gdr"]
        assert [m.name for m in cfg.follow_up_methods(cfg.sustainability)] == ["npo_gdr"]
    news = builtin_config("news-mini-quick")
    assert [m.name for m in news.robustness_methods()] == ["npo_gdr"] and news.robustness.quantize == ["nf4"]
    full = builtin_config("news-mini-quick-all")
    assert len(full.methods) > 15 and full.corpus.generate == news.corpus.generate


def test_real_small_fine_tunes_the_given_base_and_scores_knowmem_without_the_lone_space(tmp_path):
    """``demo --base DIR``: the pipeline on fine-tunes of a pretrained model; a missing directory fails first."""
    from musebench.errors import ModelError

    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"")
    cfg = real_small_config(str(tmp_path))
    assert cfg.models.base == str(tmp_path) and cfg.models.target == cfg.models.retrain == "build"
    assert cfg.eval.settings.knowmem_prompt == "no_trailing_space"
    assert [m.method for m in cfg.methods] == ["ga", "npo_gdr", "simnpo_gdr"]
    assert [m.name for m in cfg.robustness_methods()] == ["npo_gdr"]
    assert builtin_config(REAL_SMALL).models.base == "HuggingFaceTB/SmolLM2-135M"
    with pytest.raises(ModelError, match="config.json is missing"):
        real_small_config(str(tmp_path.parent))


def test_unknown_hyperparameter_is_reported_with_the_method():
    from musebench.errors import ConfigError

    with pytest.raises(ConfigError, match=r"methods\.npo\.learn_rate: .*did you mean.*learning_rate"):
        parse_experiment(
            {"corpus": "news-mini", "methods": {"npo": {"learn_rate": 1}}}, method_validator=validate_method
        )
    with pytest.raises(ConfigError, match=r"methods\.ga\.num_train_epochs: must be an integer >= 1"):
        parse_experiment(
            {"corpus": "news-mini", "methods": {"ga": {"num_train_epochs": 0}}}, method_validator=validate_method
        )
