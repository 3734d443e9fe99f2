"""The one place the experiment touches data, models, unlearning, evaluation and the report.

The runner only calls a ``Backend``; ``LibraryBackend`` forwards to the musebench modules (imported lazily,
so ``musebench run --help`` stays fast), and tests pass a fake with the same methods. Every method takes and
returns plain JSON-able values or paths, which is what the stage markers store.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

from musebench.experiment.config import CorpusSpec
from musebench.models.recipe import BuildRecipe

logger = logging.getLogger(__name__)


class Backend(Protocol):
    def prepare_corpus(self, spec: CorpusSpec, out_dir: Path) -> Path: ...

    def load_corpus(self, data_dir: Path): ...

    def validate_method(self, method: str, fields: dict[str, Any]) -> list[str]: ...

    def build_model(
        self, data_dir: Path, role: str, out_dir: Path, recipe: BuildRecipe, seed: int, base: str | None = None
    ) -> Path: ...

    def evaluate(
        self,
        model_path: str,
        corpus,
        settings: dict[str, Any],
        metrics: list[str] | None,
        retrain_auc: float | None,
        checkpoint: bool,
        save_dir: Path | None = None,
    ) -> dict[str, Any]: ...

    def unlearn(
        self,
        model_path: str,
        corpus,
        fields: dict[str, Any],
        out_dir: Path,
        forget_split: str,
        reference_path: str | None,
        resume: bool,
    ) -> list[dict[str, str]]: ...

    def count_tokens(self, model_path: str, texts: list[str]) -> int: ...

    def check_attack(self, name: str, value: Any) -> None: ...

    def evaluate_attacked(
        self,
        name: str,
        model_path: str,
        value: Any,
        corpus,
        settings: dict[str, Any],
        metrics: list[str] | None,
        retrain_auc: float | None,
        checkpoint: bool,
    ) -> dict[str, Any]: ...

    def build_report(self, run_dir: Path) -> Path | None: ...

    def versions(self) -> dict[str, str]: ...


class LibraryBackend:
    """The real pieces: ``musebench.data``, ``.models``, ``.unlearn``, ``.evaluate``, ``.report``."""

    def __init__(self, device: str = "auto", dtype: str = "auto", progress: bool = True):
        from musebench.models.device import resolve_device, resolve_dtype

        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.progress = progress

    # data -----------------------------------------------------------------------------------------------
    def prepare_corpus(self, spec: CorpusSpec, out_dir: Path) -> Path:
        """Materialise the corpus as a release directory (building models needs one on disk)."""
        if spec.path:
            return Path(spec.path)
        if spec.generate:
            from musebench.models.mini_corpus import write_mini_corpus

            g = spec.generate
            return Path(write_mini_corpus(g.kind, g.size, g.seed, out_dir))
        from musebench.data import load_corpus
        from musebench.data.layout import save_corpus

        return Path(save_corpus(load_corpus(spec.hub), out_dir))

    def load_corpus(self, data_dir: Path):
        from musebench.data import load_corpus

        return load_corpus(data_dir)

    # models ----------------------------------------------------------------------------------------------
    def build_model(
        self, data_dir: Path, role: str, out_dir: Path, recipe: BuildRecipe, seed: int, base: str | None = None
    ) -> Path:
        from musebench.models.build import build_model

        return Path(
            build_model(data_dir, role, out_dir, recipe, seed, device=self.device, progress=self.progress, base=base)
        )

    def _load(self, model_path: str, checkpoint: bool):
        if checkpoint:
            from musebench.unlearn import load_unlearned

            return load_unlearned(model_path, self.device, self.dtype)
        from musebench.models.loading import load_model

        return load_model(model_path, self.device, self.dtype)

    def count_tokens(self, model_path: str, texts: list[str]) -> int:
        from musebench.models.loading import load_tokenizer

        tok = load_tokenizer(model_path)
        return sum(len(ids) for ids in tok(list(texts), add_special_tokens=False)["input_ids"])

    # evaluate / unlearn ----------------------------------------------------------------------------------
    def evaluate(
        self,
        model_path: str,
        corpus,
        settings: dict[str, Any],
        metrics: list[str] | None,
        retrain_auc: float | None,
        checkpoint: bool,
        save_dir: Path | None = None,
    ) -> dict[str, Any]:
        import torch

        from musebench.evaluate import EvalSettings, evaluate

        loaded = self._load(model_path, checkpoint)
        try:
            result = evaluate(
                loaded.model,
                loaded.tokenizer,
                corpus,
                EvalSettings(**settings),
                metrics=metrics,
                retrain_auc=retrain_auc,
                progress=self.progress,
            )
        finally:
            del loaded
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        if save_dir is not None:
            result.save(save_dir)  # per-example outputs, for the report and for reading what models said
        out = {
            "scores": {k: float(v) for k, v in result.scores.items() if v is not None},
            "ci": {k: [float(v[0]), float(v[1])] for k, v in (result.ci or {}).items() if v is not None},
        }
        if result.privacy:
            out["privacy"] = result.privacy
        from musebench.robustness.attacks import item_scores

        out["items"] = item_scores(result.per_example)  # per question: C7's paired bootstrap
        from musebench.evaluate.engine import retrain_reference

        measured = retrain_reference(result)
        if measured is not None:  # per text: a retrain model's scores enter PrivLeak's CI (MeasuredAUC)
            out["privleak_scores"] = {"forget": list(measured.forget), "holdout": list(measured.holdout)}
        return out

    def validate_method(self, method: str, fields: dict[str, Any]) -> list[str]:
        return validate_method(method, fields)

    # robustness (C7) ------------------------------------------------------------------------------------
    def check_attack(self, name: str, value: Any) -> None:
        from musebench.robustness.registry import ATTACKS

        if ATTACKS[name].check is not None:
            ATTACKS[name].check(value, self.device)

    def evaluate_attacked(
        self,
        name: str,
        model_path: str,
        value: Any,
        corpus,
        settings: dict[str, Any],
        metrics: list[str] | None,
        retrain_auc: float | None,
        checkpoint: bool,
    ) -> dict[str, Any]:
        """The model scored under the attack ``name`` of ``robustness.registry.ATTACKS``."""
        from musebench.robustness.registry import ATTACKS

        return ATTACKS[name].evaluate(
            model_path,
            corpus,
            settings,
            value,
            metrics=metrics,
            retrain_auc=retrain_auc,
            device=self.device,
            dtype=self.dtype,
            progress=self.progress,
        )

    def unlearn(
        self,
        model_path: str,
        corpus,
        fields: dict[str, Any],
        out_dir: Path,
        forget_split: str,
        reference_path: str | None,
        resume: bool,
    ) -> list[dict[str, str]]:
        from musebench.unlearn import run_unlearning
        from musebench.unlearn.config import config_from_mapping

        run = run_unlearning(
            model_path,
            corpus,
            config_from_mapping(fields),
            out_dir,
            forget_split=forget_split,
            reference_dir=reference_path,
            resume=resume,
        )
        return [{"label": c.label, "path": str(c.path)} for c in run.checkpoints]

    # report ----------------------------------------------------------------------------------------------
    def build_report(self, run_dir: Path) -> Path | None:
        try:
            from musebench.report import build_report
        except ImportError:
            logger.warning("the report builder is not available; results.json is written, no report")
            return None
        return Path(build_report(run_dir))

    def versions(self) -> dict[str, str | None]:
        """Python and the recorded packages (``musebench.versions``), then the device and dtype run on."""
        from musebench.versions import environment_versions

        return {**environment_versions(), "device": self.device, "dtype": str(self.dtype).replace("torch.", "")}


def validate_method(method: str, fields: dict[str, Any]) -> list[str]:
    """Problems of one method's hyperparameters, checked by building its config class (no device); a field's
    problem is ``"<field>: <message>"``."""

    from musebench.errors import MusebenchError, shown_value
    from musebench.unlearn import METHODS
    from musebench.unlearn.config import config_from_mapping

    if method not in METHODS:
        return [f"unknown method '{method}'; expected one of {sorted(METHODS)}"]
    if fields.get("push_to_hub"):
        return ["push_to_hub: an experiment never uploads its models (musebench unlearn --allow-hub-push does)"]
    try:
        config_from_mapping(fields)
    except TypeError as err:
        return [f"invalid hyperparameters: {err}"]
    except MusebenchError as err:
        if err.problems:  # every problem of the method, one per line
            return list(err.problems)
        return [
            err.message
            if err.field is None
            else f"{err.field}: {err.message}" + ("" if err.value is None else f" (got {shown_value(err.value)})")
        ]
    return []
