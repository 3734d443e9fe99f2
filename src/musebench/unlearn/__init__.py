"""Unlearning methods on the Hugging Face Trainer.

``METHODS`` is the one registry. Gradient methods are ``UnlearnTrainer`` subclasses that only define their
forget term; the retain term (none / GDR / KLR), the reference model, the NaN guard and per-epoch saving are
written once in ``trainer.py``. Each entry names its trainer and its config class (``methods/``: one module
per family); Task Vector, WHP and ULD (``edit/``) are functions with ``run_unlearning``'s signature.
Entries are import paths, loaded when a method runs, so importing this package stays cheap. Other
packages add methods through the ``musebench.methods`` entry points (``registry.py``).
"""

from musebench.unlearn.api import load_unlearned, run_unlearning
from musebench.unlearn.config import Checkpoint, UnlearnConfig, UnlearnRun, config_for
from musebench.unlearn.method import Method
from musebench.unlearn.registry import MethodRegistry

M = "musebench.unlearn.methods"
E = "musebench.unlearn.edit"

METHODS: dict[str, Method] = {
    "ga": Method(f"{M}.ga:GATrainer", "gradient ascent on the forget NLL", train_passes=3),
    "ga_gdr": Method(f"{M}.ga:GATrainer", "gradient ascent + NLL on retain text", retain="gdr", train_passes=6),
    "ga_klr": Method(
        f"{M}.ga:GATrainer",
        "gradient ascent + KL to the reference on retain text",
        retain="klr",
        needs_reference=True,
        train_passes=7,
    ),
    # beta 0.1 and retain weight 1 are MUSE's (Shi et al. 2024, its NPO / GDR / KLR runs); lr 1e-5 the MUSE recipe
    "npo": Method(
        f"{M}.npo:NPOTrainer",
        "negative preference optimization (beta 0.1)",
        f"{M}.npo:NPOConfig",
        needs_reference=True,
        train_passes=4,
    ),
    "npo_gdr": Method(
        f"{M}.npo:NPOTrainer",
        "NPO + NLL on retain text",
        f"{M}.npo:NPOConfig",
        retain="gdr",
        needs_reference=True,
        train_passes=7,
    ),
    "npo_klr": Method(
        f"{M}.npo:NPOTrainer",
        "NPO + KL to the reference on retain text",
        f"{M}.npo:NPOConfig",
        retain="klr",
        needs_reference=True,
        train_passes=8,
    ),
    "simnpo": Method(
        f"{M}.simnpo:SimNPOTrainer",
        "length-normalised NPO without a reference (beta 2.5: the authors' TOFU setting; for MUSE use simnpo_gdr)",
        f"{M}.simnpo:SimNPOConfig",
        train_passes=3,
    ),
    "simnpo_gdr": Method(
        f"{M}.simnpo:SimNPOTrainer",
        "SimNPO + NLL on retain text, the authors' MUSE setup (beta 0.7 News / 0.75 Books, retain weight 0.1)",
        f"{M}.simnpo:SimNPOGDRConfig",
        retain="gdr",
        train_passes=6,
    ),
    "rmu": Method(
        f"{M}.rmu:RMUTrainer",
        "steer a middle layer's activations on forget text to a random direction, keep them on retain text",
        f"{M}.rmu:RMUConfig",
        needs_reference=True,
        reads_retain_text=True,
    ),
    "task_vector": Method(
        f"{E}.task_vector:run_task_vector",
        "subtract alpha x (fine-tuned - target) weights",
        f"{E}.config:EditConfig",
        runner=True,
        sweeps_alphas=True,
        needs_finetuned=True,
        train_passes=3,
    ),
    "whp": Method(
        f"{E}.whp:run_whp",
        "logits of target - alpha x ReLU(fine-tuned - target)",
        f"{E}.config:EditConfig",
        runner=True,
        sweeps_alphas=True,
        needs_finetuned=True,
        combines_logits=True,
        train_passes=3,
        eval_models=2,
    ),
    "idk_nll": Method(
        f"{M}.idk:IdkNLLTrainer", "NLL of a refusal after each forget window's prompt (IdkNLL)", f"{M}.idk:IdkConfig"
    ),
    "idk_nll_gdr": Method(f"{M}.idk:IdkNLLTrainer", "IdkNLL + NLL on retain text", f"{M}.idk:IdkConfig", retain="gdr"),
    "idk_dpo": Method(
        f"{M}.idk:IdkDPOTrainer",
        "DPO preferring a refusal to the forget text (IdkDPO, beta 0.1)",
        f"{M}.idk:IdkDPOConfig",
        needs_reference=True,
    ),
    "idk_dpo_gdr": Method(
        f"{M}.idk:IdkDPOTrainer",
        "IdkDPO + NLL on retain text",
        f"{M}.idk:IdkDPOConfig",
        retain="gdr",
        needs_reference=True,
    ),
    "idk_dpo_klr": Method(
        f"{M}.idk:IdkDPOTrainer",
        "IdkDPO + KL to the reference on retain text",
        f"{M}.idk:IdkDPOConfig",
        retain="klr",
        needs_reference=True,
    ),
    "npo_sam": Method(
        f"{M}.npo_sam:NPOSAMTrainer",
        "NPO with the forget gradient at SAM-perturbed weights (NPO-SAM, rho 0.01)",
        f"{M}.npo_sam:NPOSAMConfig",
        needs_reference=True,
    ),
    "npo_sam_gdr": Method(
        f"{M}.npo_sam:NPOSAMTrainer",
        "NPO-SAM + NLL on retain text",
        f"{M}.npo_sam:NPOSAMConfig",
        retain="gdr",
        needs_reference=True,
    ),
    "npo_sam_klr": Method(
        f"{M}.npo_sam:NPOSAMTrainer",
        "NPO-SAM + KL to the reference on retain text",
        f"{M}.npo_sam:NPOSAMConfig",
        retain="klr",
        needs_reference=True,
    ),
    "undial": Method(
        f"{M}.undial:UNDIALTrainer",
        "self-distillation from the reference with the true token's logit lowered by beta (UNDIAL)",
        f"{M}.undial:UndialConfig",
        needs_reference=True,
        train_passes=4,
    ),
    "wga": Method(
        f"{M}.wga:WGATrainer",
        "gradient ascent with tokens weighted by p^beta (WGA)",
        f"{M}.wga:WGAConfig",
        train_passes=3,
    ),
    "wga_gdr": Method(
        f"{M}.wga:WGATrainer", "WGA + NLL on retain text", f"{M}.wga:WGAConfig", retain="gdr", train_passes=6
    ),
    "satimp": Method(
        f"{M}.satimp:SatImpTrainer",
        "gradient ascent with tokens weighted by p^beta1 (1-p)^beta2 (SatImp)",
        f"{M}.satimp:SatImpConfig",
        train_passes=3,
    ),
    "satimp_gdr": Method(
        f"{M}.satimp:SatImpTrainer",
        "SatImp + NLL on retain text (alpha 10: OpenUnlearning's forget 0.1 : retain 1)",
        f"{M}.satimp:SatImpGDRConfig",
        retain="gdr",
        train_passes=6,
    ),
    "finetune": Method(
        f"{E}.finetune:FinetuneTrainer",
        "plain NLL fine-tuning on the forget text (the fine-tuned model of Task Vector / WHP)",
        train_passes=3,
    ),
    # ULD (Ji et al. 2024) as its reference code runs it: alphas <= 1, retain weight 5, the relative-top
    # plausibility filter 0.1 (``ULDConfig``); plan: forget + retain forward+backward (6) of an assistant ~1/4
    "uld": Method(
        f"{E}.uld:run_uld",
        "logits of target - alpha x assistant (first layers of the target trained "
        "to remember forget text, be uniform on retain text; alphas <= 1, the reference code's "
        "plausibility filter)",
        f"{E}.uld:ULDConfig",
        runner=True,
        sweeps_alphas=True,
        combines_logits=True,
        train_passes=2,
    ),
    "uld_assistant": Method(
        f"{E}.uld_model:ULDAssistantTrainer",
        "ULD's assistant alone: NLL on forget + KL(uniform || p) on retain (run by uld)",
        f"{E}.uld:ULDConfig",
        reads_retain_text=True,
    ),
}

__all__ = [
    "METHODS",
    "Checkpoint",
    "Method",
    "UnlearnConfig",
    "UnlearnRun",
    "config_for",
    "load_unlearned",
    "run_unlearning",
]

#: From here on ``METHODS`` is the registry: the built-ins above, then the methods of installed plugins
#: (entry-point group ``musebench.methods``, discovered when first needed; ``registry.py``,
#: docs/adding_a_method.md). A read-only mapping, used like the dict.
METHODS = MethodRegistry(METHODS)
