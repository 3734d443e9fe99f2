"""musebench.evaluate: the six-way MUSE evaluation, batched, with the original MUSE scorer's numbers.

Per example: texts, ROUGE and AUCs equal, log-prob statistics within 1e-5 relative
(``tests/evaluate/test_golden.py``, against the original scorer's outputs on a fixture).
Never imports ``musebench.unlearn``: an unlearned model is anything satisfying the evaluation model
contract (see ``model_io``).
"""

import importlib

#: name -> its module; imported on first use, so the settings (``musebench.evaluate.settings``, read by the
#: command line's flags and the experiment file) come without torch
_EXPORTS = {
    "evaluate": "engine",
    "measure_retrain_auc": "engine",
    "TASKS": "registry",
    "register_task": "registry",
    "EvalResult": "result",
    "RELEASE_RETRAIN_AUC": "settings",
    "EvalSettings": "settings",
    "EvalContext": "task",
    "Task": "task",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"musebench.evaluate.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'musebench.evaluate' has no attribute {name!r}")


__all__ = [
    "RELEASE_RETRAIN_AUC",
    "TASKS",
    "EvalContext",
    "EvalResult",
    "EvalSettings",
    "Task",
    "evaluate",
    "measure_retrain_auc",
    "register_task",
]
