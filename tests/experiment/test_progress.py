from musebench.experiment.config import parse_experiment
from musebench.experiment.progress import ConsoleReporter, stage_weight
from musebench.experiment.runner import _planned_work, run_experiment


def test_weights_rank_stages_by_cost():
    assert stage_weight("build/target") > stage_weight("methods/ga/unlearn") > stage_weight("methods/ga/eval/epoch-1")
    assert stage_weight("scal/ga/fold-1/eval/epoch-2/all") == stage_weight("eval/target")


def test_console_progress_reaches_the_planned_total(tmp_path, fake_backend, capsys):
    cfg = parse_experiment(
        {
            "corpus": "news-mini",
            "methods": {"ga": {"num_train_epochs": 3}},
            "scalability": {"methods": ["ga"], "folds": [1]},
        }
    )
    planned = _planned_work(cfg)
    # corpus 1 + builds 40 + reference evals 6; ga: 4 + 3 evals; C5 fold: 4 + 3 + full 3
    assert planned == 1 + 40 + 6 + 7 + 10
    reporter = ConsoleReporter("t")
    run_experiment(cfg, tmp_path / "run", fake_backend, reporter=reporter)
    assert reporter.bar.n == reporter.bar.total == planned  # C5 stopped after epoch-2, the bar still ends full
    err = capsys.readouterr().err
    assert "✓ methods/ga/unlearn" in err and "✓ build/target" in err
    second = ConsoleReporter("t")
    run_experiment(cfg, tmp_path / "run", fake_backend, reporter=second)
    assert "· methods/ga/unlearn" in capsys.readouterr().err  # cached stages are marked as such
