import pytest

from musebench.errors import ConfigError
from musebench.experiment.config import GenerateSpec, load_experiment, parse_experiment

GOOD = {
    "name": "news-mini-test",
    "corpus": {"generate": {"kind": "news-mini", "size": "tiny"}},
    "method_defaults": {"num_train_epochs": 3, "learning_rate": 1e-3},
    "methods": {"ga": {}, "npo": {"learning_rate": 5e-4}, "tv_small": {"method": "tv", "alphas": [1, 2]}},
    "selection": {"utility_floor": 0.5},
    "scalability": {"methods": ["ga"], "folds": [1, 2]},
    "sustainability": True,
}


def test_good_config_merges_the_method_defaults(fake_backend):
    cfg = parse_experiment(GOOD, method_validator=fake_backend.validate_method)
    assert [m.name for m in cfg.methods] == ["ga", "npo", "tv_small"]
    assert cfg.method("npo").params == {"num_train_epochs": 3, "learning_rate": 5e-4}
    assert cfg.method("tv_small").method == "tv"
    assert cfg.unlearn_fields(cfg.method("ga")) == {
        "seed": 0,
        "use_cpu": False,
        "dtype": "auto",
        "num_train_epochs": 3,
        "learning_rate": 1e-3,
        "method": "ga",
    }
    assert cfg.corpus.generate == GenerateSpec(kind="news-mini", size="tiny", seed=0)
    assert [m.name for m in cfg.follow_up_methods(cfg.scalability)] == ["ga"]
    assert [m.name for m in cfg.follow_up_methods(cfg.sustainability)] == ["ga", "npo", "tv_small"]
    assert cfg.scalability.folds == [1, 2] and cfg.sustainability.folds is None
    assert cfg.selection.utility_floor == 0.5


def test_every_problem_is_reported_at_once(fake_backend):
    bad = {
        **GOOD,
        "colour": "red",
        "corpus": {"path": "x", "hub": "y"},
        "methods": {"ga": {}, "mystery": {}},
        "selection": {"utility_floor": 2},
        "scalability": {"methods": ["npo"], "folds": [2, 1]},
        "eval": {"retrain_auc": 1.5},
    }
    with pytest.raises(ConfigError) as err:
        parse_experiment(bad, source_file="exp.yaml", method_validator=fake_backend.validate_method)
    text = str(err.value)
    assert text.startswith("exp.yaml: 7 problems")
    for needle in (
        "colour: unknown key",
        "corpus: give exactly one",
        "methods.mystery: unknown method",
        "selection.utility_floor",
        "scalability.methods: 'npo'",
        "scalability.folds",
        "eval.retrain_auc",
    ):
        assert needle in text


def test_corpus_shorthands(tmp_path):
    assert parse_experiment({"corpus": "books-mini"}).corpus.generate.kind == "books-mini"
    assert parse_experiment({"corpus": "muse-bench/MUSE-News"}).corpus.hub == "muse-bench/MUSE-News"
    assert parse_experiment({"corpus": str(tmp_path)}).corpus.path == str(tmp_path)
    with pytest.raises(ConfigError, match="corpus.path: directory does not exist"):
        parse_experiment({"corpus": {"path": str(tmp_path / "missing")}})


def test_load_experiment_reads_yaml_and_names_the_file(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("corpus: news-mini\nmethods: [ga, npo]\n")
    cfg = load_experiment(path)
    assert cfg.name == "exp" and [m.method for m in cfg.methods] == ["ga", "npo"]
    path.write_text("corpus: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_experiment(path)
    with pytest.raises(ConfigError, match="experiment file not found"):
        load_experiment(tmp_path / "nope.yaml")


def test_whp_cannot_be_chained_in_c6():
    raw = {"corpus": "news-mini", "methods": {"ga": {}, "whp": {}}}
    assert parse_experiment({**raw, "sustainability": {"methods": ["ga"]}}).sustainability.methods == ["ga"]
    with pytest.raises(ConfigError, match="sustainability.methods: 'whp' is WHP"):
        parse_experiment({**raw, "sustainability": True})


def test_to_dict_round_trips(fake_backend):
    cfg = parse_experiment(GOOD, method_validator=fake_backend.validate_method)
    again = parse_experiment(cfg.to_dict(), method_validator=fake_backend.validate_method)
    assert again == cfg


def test_a_mini_corpus_named_by_path_gets_its_size_budgets(tmp_path):
    """An experiment naming a generated mini corpus by ``path:`` evaluates it as ``musebench eval`` does, with
    the mini size's budgets, not the release defaults (which made its target row differ from ``eval``'s)."""
    import json

    from musebench.data.synthetic import MINI_EVAL_SETTINGS
    from musebench.evaluate.settings import EvalSettings

    (tmp_path / "synthetic.json").write_text(json.dumps({"size": "tiny"}), encoding="utf-8")
    by_path = parse_experiment({"corpus": {"path": str(tmp_path)}}).eval.settings
    generated = parse_experiment({"corpus": {"generate": {"kind": "news-mini", "size": "tiny"}}}).eval.settings
    assert by_path == generated
    assert all(getattr(by_path, k) == v for k, v in MINI_EVAL_SETTINGS["tiny"].items())
    (tmp_path / "elsewhere").mkdir()
    release = parse_experiment({"corpus": {"path": str(tmp_path / "elsewhere")}}).eval.settings
    assert release == EvalSettings()  # no generation record: the paper's budgets


def test_models_base_names_the_pretrained_model_both_builds_start_from(fake_backend):
    cfg = parse_experiment(
        {**GOOD, "models": {"base": "models/smollm2-135m"}}, method_validator=fake_backend.validate_method
    )
    assert cfg.models.base == "models/smollm2-135m" and cfg.models.target == cfg.models.retrain == "build"
    assert parse_experiment(GOOD, method_validator=fake_backend.validate_method).models.base is None
    with pytest.raises(ConfigError, match="models.base"):
        parse_experiment({**GOOD, "models": {"base": 3}}, method_validator=fake_backend.validate_method)


def test_a_misspelt_method_key_is_named_by_its_yaml_path():
    from musebench.experiment.adapters import validate_method

    raw = {"corpus": "news-mini", "methods": {"ga": {"learning_rate": 1e-3}, "npo": {"lerning_rate": 1e-3, "beta": -1}}}
    with pytest.raises(ConfigError) as err:
        parse_experiment(raw, method_validator=validate_method)
    assert "methods.npo.lerning_rate: unknown option of NPOConfig; did you mean learning_rate" in str(err.value)
    raw["methods"]["npo"] = {"beta": -1}
    with pytest.raises(ConfigError, match=r"methods\.npo\.beta: must be a finite number > 0"):
        parse_experiment(raw, method_validator=validate_method)
    config = parse_experiment({"corpus": "news-mini", "methods": {"npo": {"beta": 0.3}}}).methods[0].config(seed=2)
    assert (type(config).__name__, config.beta, config.seed) == ("NPOConfig", 0.3, 2)


def test_a_method_whose_checkpoints_combine_logits_cannot_chain():
    """The fact on ``Method`` decides, not the method's name."""
    raw = {
        "corpus": "news-mini",
        "methods": {"ga": {}, "whp": {}, "uld": {}, "task_vector": {}},
        "sustainability": True,
    }
    with pytest.raises(ConfigError) as err:
        parse_experiment(raw)
    text = str(err.value)
    assert "'whp'" in text and "'uld'" in text and "'ga'" not in text and "'task_vector'" not in text
