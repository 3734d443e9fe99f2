"""docs/adding_a_metric.md, followed from a test module: a criterion written and registered here, and nothing
else changed, is selected, checked, evaluated, saved and listed like a built-in."""

from __future__ import annotations

from dataclasses import replace

import pytest

from musebench.criteria import Score
from musebench.data import QAPair
from musebench.errors import ConfigError, DataError
from musebench.evaluate import TASKS, EvalContext, Task, evaluate, register_task
from musebench.evaluate.bootstrap import bootstrap_ci
from musebench.evaluate.metrics import knowmem_cut, mean_x100
from musebench.evaluate.requests import GenerateRequest
from musebench.evaluate.settings import KNOWMEM_CUTS
from musebench.evaluate.tasks import decode_generation

EXACT = Score(
    "exact_f",
    "Exact-f",
    "forget questions answered exactly, zero-shot (% of questions)",
    0.0,
    100.0,
    "low",
    "%",
    "Exact-f",
    "Exact-f (lower = forgotten)",
)


class ExactAnswer(Task):
    """The share of forget questions whose zero-shot answer is exactly the reference (case aside)."""

    name = "exact_f"
    description = EXACT.description
    needs = ("knowmem_forget_qa",)
    scores = (EXACT,)
    default = False  # only when asked for by name or with 'all'

    def requests(self, ctx: EvalContext) -> list[GenerateRequest]:
        return [
            GenerateRequest(f"Question: {qa.question}\nAnswer: ", ctx.settings.knowmem_max_new_tokens, KNOWMEM_CUTS)
            for qa in ctx.corpus.knowmem_forget_qa
        ]

    def rows(self, ctx: EvalContext, requests, outputs) -> list[dict]:
        rows = []
        for i, (qa, req) in enumerate(zip(ctx.corpus.knowmem_forget_qa, requests)):
            answer = knowmem_cut(decode_generation(ctx.tokenizer, outputs[req.key()])).strip()
            rows.append(
                {
                    "criterion": self.name,
                    "index": i,
                    "input": qa.question,
                    "reference": qa.answer,
                    "output": answer,
                    "scores": {"exact": float(answer.lower() == qa.answer.lower())},
                }
            )
        return rows

    def score(self, ctx: EvalContext, rows: list[dict]) -> None:
        values = [r["scores"]["exact"] for r in rows]
        ctx.scores[self.name] = mean_x100(values)
        ctx.ci[self.name] = bootstrap_ci(mean_x100, [(values,)], name=self.name, **ctx.boot)


@pytest.fixture
def exact_task():
    task = register_task(ExactAnswer())
    try:
        yield task
    finally:
        TASKS.pop(task.name)


def test_a_registered_criterion_is_evaluated_saved_and_shown(
    exact_task, memorised_lm, tiny_corpus, small_settings, tmp_path
):
    model, tok = memorised_lm.model, memorised_lm.tokenizer
    result = evaluate(model, tok, tiny_corpus, small_settings, metrics=["knowmem_f", "exact_f"], progress=False)
    rows = [r for r in result.per_example if r["criterion"] == "exact_f"]
    assert [r["input"] for r in rows] == [qa.question for qa in tiny_corpus.knowmem_forget_qa]
    by_hand = [float(r["output"].lower() == r["reference"].lower()) for r in rows]
    assert result.scores["exact_f"] == 100 * sum(by_hand) / len(by_hand)
    lo, hi = result.ci["exact_f"]
    assert lo <= result.scores["exact_f"] <= hi
    # a built-in beside it is untouched, bit for bit
    alone = evaluate(model, tok, tiny_corpus, small_settings, metrics=["knowmem_f"], progress=False)
    assert result.scores["knowmem_f"] == alone.scores["knowmem_f"] and result.ci["knowmem_f"] == alone.ci["knowmem_f"]
    # its metadata reaches summary.json and the terminal table
    summary = result.to_dict()["metrics"]["exact_f"]
    assert summary == {"name": EXACT.description, "version": 1, "higher_is_better": False, "unit": "%"}
    from rich.console import Console

    from musebench.evaluate.result import render_table

    console = Console(record=True, width=120)
    console.print(render_table(result))
    assert "Exact-f" in console.export_text()
    result.save(tmp_path)
    assert '"exact_f"' in (tmp_path / "per_example.jsonl").read_text(encoding="utf-8")


def test_selection_needs_and_empty_texts_are_checked_before_any_model_call(exact_task, tiny_corpus, small_settings):
    from musebench.evaluate.engine import resolve_metrics

    assert "exact_f" not in resolve_metrics(tiny_corpus, None)  # not a default criterion
    assert resolve_metrics(tiny_corpus, "all")[-1] == "exact_f"
    no_questions = replace(tiny_corpus, knowmem_forget_qa=[])
    with pytest.raises(DataError, match="exact_f needs knowmem_forget_qa"):
        evaluate(None, None, no_questions, small_settings, metrics=["exact_f"], progress=False)
    blank = replace(tiny_corpus, knowmem_forget_qa=[QAPair(" ", "x"), *tiny_corpus.knowmem_forget_qa])
    with pytest.raises(DataError, match=r"knowmem_forget_qa\[0\]"):
        evaluate(None, None, blank, small_settings, metrics=["exact_f"], progress=False)


def test_a_taken_name_is_refused_and_ls_lists_the_new_one(exact_task, capsys):
    with pytest.raises(ConfigError, match="already registered"):
        register_task(ExactAnswer())
    from musebench.cli import main

    assert main(["ls", "metrics"]) == 0
    assert "exact_f" in capsys.readouterr().out


EXACT_TASK = ExactAnswer()  # what a plugin's entry point names


def test_a_plugin_package_adds_its_task_through_an_entry_point(monkeypatch, tiny_corpus):
    from importlib import metadata

    from musebench.evaluate import registry
    from musebench.evaluate.engine import resolve_metrics

    found = [metadata.EntryPoint("exact_f", f"{__name__}:EXACT_TASK", registry.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(registry.metadata, "entry_points", lambda group: found if group == "musebench.tasks" else [])
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    monkeypatch.setattr(registry, "TASKS", dict(registry.TASKS))
    monkeypatch.setattr("musebench.evaluate.engine.TASKS", registry.TASKS)
    assert resolve_metrics(tiny_corpus, ["exact_f"]) == ["exact_f"]
    assert registry.TASKS["exact_f"] is EXACT_TASK

    broken = [metadata.EntryPoint("broken", "no_such_module_anywhere:TASK", registry.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(registry.metadata, "entry_points", lambda group: broken)
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    with pytest.raises(ConfigError, match="criterion plugin 'no_such_module_anywhere:TASK' failed to load"):
        resolve_metrics(tiny_corpus, None)
