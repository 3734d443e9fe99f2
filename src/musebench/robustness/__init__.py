"""musebench.robustness: criterion C7, does the forgetting survive quantization, relearning and rephrasing?

- ``quantize``: load a model through transformers' ``BitsAndBytesConfig`` (int8, NF4, FP4).
- ``split`` / ``relearn``: fine-tune briefly on a slice of the forget set (or on retain text) and measure
  the rest.
- ``attacks``: evaluate a model under each attack with the ordinary evaluation engine.
- ``registry``: ``ATTACKS``, every attack by name (what it needs, how it runs, its control), read by the
  experiment, ``musebench attack`` and the audit.
- ``recovery``: recovery ratios, pure functions of saved scores.

Sits beside ``experiment``: it uses ``evaluate`` and loads unlearning checkpoints, and ``experiment`` runs it.
"""

from musebench.robustness.quantize import SCHEMES, check_scheme, quantization_config
from musebench.robustness.recovery import excess, kept, paraphrase_recovery, recoveries, recovery_ratio
from musebench.robustness.relearn import RelearnAttack, RelearnBudget
from musebench.robustness.split import RELEARN_ON, ForgetTags, RelearnSplit, load_tags, split_forget

__all__ = [
    "RELEARN_ON",
    "SCHEMES",
    "ForgetTags",
    "RelearnAttack",
    "RelearnBudget",
    "RelearnSplit",
    "check_scheme",
    "excess",
    "kept",
    "load_tags",
    "paraphrase_recovery",
    "quantization_config",
    "recoveries",
    "recovery_ratio",
    "split_forget",
]
