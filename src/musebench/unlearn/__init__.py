"""Unlearning methods on the Hugging Face Trainer.

``METHODS`` is the one registry. Gradient methods are ``UnlearnTrainer`` subclasses that only define their
forget term; the retain term (none / GDR / KLR), the reference model, the NaN guard and per-epoch saving are
written once in ``trainer.py``. Task Vector and WHP are functions with ``run_unlearning``'s signature.
Entries are import paths, loaded when a method runs, so importing this package stays cheap. Other
packages add methods through the ``musebench.methods`` entry points (``registry.py``).
"""

from musebench.unlearn.api import load_unlearned, run_unlearning
from musebench.unlearn.config import Checkpoint, Method, UnlearnConfig, UnlearnRun
from musebench.unlearn.registry import MethodRegistry

METHODS: dict[str, Method] = {
    "ga": Method("musebench.unlearn.ga:GATrainer", "gradient ascent on the forget NLL"),
    "ga_gdr": Method("musebench.unlearn.ga:GATrainer", "gradient ascent + NLL on retain text",
                     retain="gdr", default_alpha=1.0),
    "ga_klr": Method("musebench.unlearn.ga:GATrainer", "gradient ascent + KL to the reference on retain text",
                     retain="klr", needs_reference=True, default_alpha=1.0),
    # sources of the defaults: beta 0.1 and retain weight 1 are MUSE's (Shi et al. 2024, its NPO / GDR / KLR
    # runs); lr 1e-5 the MUSE recipe
    "npo": Method("musebench.unlearn.npo:NPOTrainer", "negative preference optimization (beta 0.1)",
                  needs_reference=True, default_beta=0.1),
    "npo_gdr": Method("musebench.unlearn.npo:NPOTrainer", "NPO + NLL on retain text",
                      retain="gdr", needs_reference=True, default_beta=0.1, default_alpha=1.0),
    "npo_klr": Method("musebench.unlearn.npo:NPOTrainer", "NPO + KL to the reference on retain text",
                      retain="klr", needs_reference=True, default_beta=0.1, default_alpha=1.0),
    # SimNPO (Fan et al. 2024): its authors' MUSE runs are simnpo_gdr with beta 0.7 (News; 0.75 on Books) and
    # retain weight 0.1 (the SimNPO repository's MUSE configs); beta 2.5 without a retain term is their TOFU setup
    "simnpo": Method("musebench.unlearn.simnpo:SimNPOTrainer", "length-normalised NPO without a reference "
                     "(beta 2.5: the authors' TOFU setting; for MUSE use simnpo_gdr)", default_beta=2.5),
    "simnpo_gdr": Method("musebench.unlearn.simnpo:SimNPOTrainer", "SimNPO + NLL on retain text, the authors' "
                         "MUSE setup (beta 0.7 News / 0.75 Books, retain weight 0.1)",
                         retain="gdr", default_beta=0.7, default_alpha=0.1),
    "rmu": Method("musebench.unlearn.rmu:RMUTrainer", "steer a middle layer's activations on forget text "
                  "to a random direction, keep them on retain text", needs_reference=True, reads_retain_text=True,
                  default_alpha=1200.0, default_lr=5e-5),
    "task_vector": Method("musebench.unlearn.task_vector:run_task_vector",
                          "subtract alpha x (fine-tuned - target) weights", runner=True),
    "whp": Method("musebench.unlearn.whp:run_whp", "logits of target - alpha x ReLU(fine-tuned - target)",
                  runner=True),
    "idk_nll": Method("musebench.unlearn.idk:IdkNLLTrainer", "NLL of a refusal after each forget window's prompt "
                      "(IdkNLL)"),
    "idk_nll_gdr": Method("musebench.unlearn.idk:IdkNLLTrainer", "IdkNLL + NLL on retain text", retain="gdr",
                          default_alpha=1.0),
    "idk_dpo": Method("musebench.unlearn.idk:IdkDPOTrainer", "DPO preferring a refusal to the forget text "
                      "(IdkDPO, beta 0.1)", needs_reference=True, default_beta=0.1),
    "idk_dpo_gdr": Method("musebench.unlearn.idk:IdkDPOTrainer", "IdkDPO + NLL on retain text", retain="gdr",
                          needs_reference=True, default_beta=0.1, default_alpha=1.0),
    "idk_dpo_klr": Method("musebench.unlearn.idk:IdkDPOTrainer", "IdkDPO + KL to the reference on retain text",
                          retain="klr", needs_reference=True, default_beta=0.1, default_alpha=1.0),
    "npo_sam": Method("musebench.unlearn.npo_sam:NPOSAMTrainer", "NPO with the forget gradient at SAM-perturbed "
                      "weights (NPO-SAM, rho 0.01)", needs_reference=True, default_beta=0.1),
    "npo_sam_gdr": Method("musebench.unlearn.npo_sam:NPOSAMTrainer", "NPO-SAM + NLL on retain text", retain="gdr",
                          needs_reference=True, default_beta=0.1, default_alpha=1.0),
    "npo_sam_klr": Method("musebench.unlearn.npo_sam:NPOSAMTrainer", "NPO-SAM + KL to the reference on retain text",
                          retain="klr", needs_reference=True, default_beta=0.1, default_alpha=1.0),
    "undial": Method("musebench.unlearn.undial:UNDIALTrainer", "self-distillation from the reference with the "
                     "true token's logit lowered by undial_beta (UNDIAL)", needs_reference=True,
                     default_lr=1e-4),  # OpenUnlearning's UNDIAL.yaml (the paper: 1e-4 with LoRA)
    "wga": Method("musebench.unlearn.wga:WGATrainer", "gradient ascent with tokens weighted by p^wga_beta (WGA)"),
    "wga_gdr": Method("musebench.unlearn.wga:WGATrainer", "WGA + NLL on retain text", retain="gdr",
                      default_alpha=1.0),
    "satimp": Method("musebench.unlearn.satimp:SatImpTrainer",
                     "gradient ascent with tokens weighted by p^beta1 (1-p)^beta2 (SatImp)"),
    "satimp_gdr": Method("musebench.unlearn.satimp:SatImpTrainer", "SatImp + NLL on retain text (alpha 10: "
                         "OpenUnlearning's forget 0.1 : retain 1)", retain="gdr", default_alpha=10.0),
    "finetune": Method("musebench.unlearn.finetune:FinetuneTrainer",
                       "plain NLL fine-tuning on the forget text (the fine-tuned model of Task Vector / WHP)"),
    # ULD (Ji et al. 2024) as its reference code runs it: alphas <= 1, retain weight 5, the relative-top
    # plausibility filter 0.1 (uld_options.py names the files)
    "uld": Method("musebench.unlearn.uld:run_uld", "logits of target - alpha x assistant (first layers of the "
                  "target trained to remember forget text, be uniform on retain text; alphas <= 1, the "
                  "reference code's plausibility filter)", runner=True),
    "uld_assistant": Method("musebench.unlearn.uld_model:ULDAssistantTrainer", "ULD's assistant alone: NLL on "
                            "forget + KL(uniform || p) on retain (run by uld)", reads_retain_text=True),
}

__all__ = ["METHODS", "Checkpoint", "Method", "UnlearnConfig", "UnlearnRun", "load_unlearned", "run_unlearning"]

#: From here on ``METHODS`` is the registry: the built-ins above, then the methods of installed plugins
#: (entry-point group ``musebench.methods``, discovered when first needed; ``registry.py``,
#: docs/adding_a_method.md). A read-only mapping, used like the dict.
METHODS = MethodRegistry(METHODS)
