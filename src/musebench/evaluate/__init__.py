"""musebench.evaluate: the six-way MUSE evaluation, batched, with the original MUSE scorer's numbers.

Per example: texts, ROUGE and AUCs equal, log-prob statistics within 1e-5 relative
(``tests/evaluate/test_golden.py``, against the original scorer's outputs on a fixture).
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
