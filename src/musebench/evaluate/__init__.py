"""musebench.evaluate: the six-way MUSE evaluation, exact to the paper's scorer and batched.

Never imports ``musebench.unlearn``: an unlearned model is anything satisfying the evaluation model
contract (see ``model_io``).
"""

from musebench.evaluate.engine import evaluate, measure_retrain_auc
from musebench.evaluate.metrics import METRICS, Metric
from musebench.evaluate.result import EvalResult
from musebench.evaluate.settings import RELEASE_RETRAIN_AUC, EvalSettings

__all__ = [
           "METRICS",
           "RELEASE_RETRAIN_AUC",
           "EvalResult",
           "EvalSettings",
           "Metric",
           "evaluate",
           "measure_retrain_auc",
]
