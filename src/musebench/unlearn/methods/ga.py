"""Gradient ascent (GA, GA_GDR, GA_KLR): maximise the forget NLL, i.e. minimise -L_f (MUSE-SPEC)."""

from __future__ import annotations

from musebench.unlearn import losses
from musebench.unlearn.trainer import UnlearnTrainer


class GATrainer(UnlearnTrainer):
    """Forget term ``-L_f``: unbounded below, so GA alone collapses the model; the retain term slows that."""

    def forget_loss(self, model, forget, retain=None):
        return -losses.nll(self.logits(model, forget), forget["labels"], self.normaliser("forget", "targets"))
