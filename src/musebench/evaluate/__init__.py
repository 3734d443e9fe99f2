"""musebench.evaluate: the six-way MUSE evaluation, batched, with the original MUSE scorer's numbers.

Per example: texts, ROUGE and AUCs equal, log-prob statistics within 1e-5 relative
(``tests/evaluate/test_golden.py``, against the original scorer's outputs on a fixture).
Never imports ``musebench.unlearn``: an unlearned model is anything satisfying the evaluation model
contract (see ``model_io``).
"""

from musebench.evaluate.engine import evaluate, measure_retrain_auc
from musebench.evaluate.registry import TASKS, register_task
from musebench.evaluate.result import EvalResult
from musebench.evaluate.settings import RELEASE_RETRAIN_AUC, EvalSettings
from musebench.evaluate.task import EvalContext, Task

__all__ = ["RELEASE_RETRAIN_AUC", "TASKS", "EvalContext", "EvalResult", "EvalSettings", "Task", "evaluate",
           "measure_retrain_auc", "register_task"]
