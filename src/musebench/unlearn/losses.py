"""The unlearning losses as pure functions of tensors (log-probabilities, logits, hidden states).

The trainers run the forward passes; everything here is differentiable math checked by hand in
``tests/unlearn/test_losses.py``. Conventions: ``logits`` are ``[B, T, V]``, ``labels`` are ``[B, T]`` with
``-100`` on padding and are the inputs themselves (the functions shift: position t predicts token t+1).
Log-softmax runs in float32 whatever the model's dtype.

Normalisers: every mean here is a sum divided by a count. By default the count is that of the tensors
given (a mean over this batch); ``normaliser=`` replaces it, so a trainer can divide by the count of the
whole optimizer step (all micro-batches of gradient accumulation, all processes) and make the mean exact
whatever the batch is split into.

Two forms exist for NPO and the KL retain term (``UnlearnConfig.loss_form``):

- ``textbook`` (MUSE-SPEC): NPO on sequence log-likelihoods ``log pi(x) = sum_t log pi(x_t | x_<t)``;
  KL between the next-token *distributions* (log-softmax of both models).
- ``original``: what the original MUSE code computed, kept to reproduce its numbers. Its NPO applies
  ``log sigmoid`` to the element-wise difference of the raw ``[B, T, V]`` logits and averages over every
  vocabulary entry, so the "log-ratio" is a difference of unnormalised scores of all tokens, not of the
  text's likelihood. Its KL is ``F.kl_div(logits, ref_logits, reduction="batchmean", log_target=True)`` on
  raw logits, i.e. ``sum exp(z_ref) * (z_ref - z) / B``: neither argument is a distribution, so it is not
  a KL divergence (it can be negative, and is not zero when the two next-token distributions agree). The
  two NPO forms agree only at the start, where both equal (2/beta) log 2.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def token_logprobs(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probability of each next token, ``[B, T-1]``, and the mask of real (non-padding) targets."""
    logits = logits[:, :-1].float()
    targets = labels[:, 1:]
    mask = targets != IGNORE_INDEX
    logp = torch.log_softmax(logits, dim=-1)
    picked = logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return picked * mask, mask


def sequence_logprob(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``log pi(x)``: the sum of next-token log-probabilities of each sequence, ``[B]``."""
    logp, _ = token_logprobs(logits, labels)
    return logp.sum(-1)


def average_logprob(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``log pi(x) / |x|``: the per-token mean log-probability of each sequence, ``[B]`` (SimNPO)."""
    logp, mask = token_logprobs(logits, labels)
    return logp.sum(-1) / mask.sum(-1).clamp(min=1)


Normaliser = float | torch.Tensor | None


def _divide(total: torch.Tensor, count: torch.Tensor, normaliser: Normaliser) -> torch.Tensor:
    """``total / normaliser``, or ``total / count`` (the local count, at least 1) when no normaliser is given."""
    if normaliser is None:
        return total / count.clamp(min=1)
    return total / normaliser


def batch_mean(per_example: torch.Tensor, normaliser: Normaliser = None) -> torch.Tensor:
    """Mean of per-sequence losses ``[B]`` (NPO, SimNPO): their sum over ``normaliser`` sequences (default B)."""
    return _divide(per_example.sum(), torch.tensor(per_example.numel(), device=per_example.device), normaliser)


def target_count(labels: torch.Tensor) -> torch.Tensor:
    """Number of next-token targets of a batch (the denominator of ``nll``): non-padding labels after the first."""
    return (labels[:, 1:] != IGNORE_INDEX).sum()


def nll(logits: torch.Tensor, labels: torch.Tensor, normaliser: Normaliser = None) -> torch.Tensor:
    """Mean next-token cross-entropy over every real token of the batch (L_f / L_r of MUSE-SPEC).

    ``normaliser``: the number of targets to divide by (default ``target_count(labels)``)."""
    logp, mask = token_logprobs(logits, labels)
    return _divide(-logp.sum(), mask.sum(), normaliser)


def npo_loss(logp: torch.Tensor, ref_logp: torch.Tensor, beta: float) -> torch.Tensor:
    """NPO, per example (Zhang et al. 2024, Eq. 3): ``-(2/beta) log sigmoid(-beta (log pi - log pi_ref))``.

    ``logp``/``ref_logp`` are sequence log-likelihoods ``[B]``. At the start (pi = pi_ref) every example
    costs (2/beta) log 2; the loss falls towards 0 as pi(x) drops below pi_ref(x), and its gradient
    vanishes then, which is what keeps NPO from GA's collapse.
    """
    return -(2.0 / beta) * F.logsigmoid(-beta * (logp - ref_logp))


def npo_loss_original(
    logits: torch.Tensor,
    ref_logits: torch.Tensor,
    beta: float,
    mask: torch.Tensor | None = None,
    normaliser: Normaliser = None,
) -> torch.Tensor:
    """The original MUSE code's NPO: ``-(2/beta) mean log sigmoid(beta (z_ref - z))`` over raw logits.

    The mean runs over every (example, position, vocabulary entry); ``mask`` ``[B, T]`` drops padding
    positions (the original had none: its windows were full). A scalar. ``normaliser`` counts positions
    (the vocabulary factor is applied here).
    """
    per_element = -(2.0 / beta) * F.logsigmoid(beta * (ref_logits.float() - logits.float()))
    vocab = per_element.shape[-1]
    if mask is None:
        mask = torch.ones(per_element.shape[:-1], device=per_element.device)
    weights = mask.unsqueeze(-1).to(per_element.dtype)
    if normaliser is not None:
        normaliser = normaliser * vocab
    return _divide((per_element * weights).sum(), weights.sum() * vocab, normaliser)


def kl_retain(
    logits_ref: torch.Tensor, logits: torch.Tensor, mask: torch.Tensor | None = None, normaliser: Normaliser = None
) -> torch.Tensor:
    """``KL(p_ref || p_theta)`` of the next-token distributions, averaged over real positions.

    ``sum_v p_ref(v) (log p_ref(v) - log p_theta(v))`` at each position (log-softmax of both models);
    ``mask`` ``[B, T]`` (the attention mask) selects the positions; ``normaliser`` counts positions.
    Zero iff the distributions agree.
    """
    logq = torch.log_softmax(logits.float(), dim=-1)
    logp_ref = torch.log_softmax(logits_ref.float(), dim=-1)
    per_position = (logp_ref.exp() * (logp_ref - logq)).sum(-1)
    return _masked_mean(per_position, mask, normaliser)


def kl_retain_original(
    logits_ref: torch.Tensor, logits: torch.Tensor, mask: torch.Tensor | None = None, normaliser: Normaliser = None
) -> torch.Tensor:
    """The original MUSE code's KL term: ``F.kl_div(z, z_ref, "batchmean", log_target=True)`` on raw logits.

    Equals ``sum exp(z_ref) (z_ref - z) / B`` over positions and vocabulary; ``mask`` drops padding;
    ``normaliser`` replaces B (it counts sequences).
    """
    z, z_ref = logits.float(), logits_ref.float()
    per_element = z_ref.exp() * (z_ref - z)
    if mask is not None:
        per_element = per_element * mask.unsqueeze(-1).to(per_element.dtype)
    return _divide(per_element.sum(), torch.tensor(logits.shape[0], device=logits.device), normaliser)


def simnpo_loss(avg_logp: torch.Tensor, beta: float, gamma: float = 0.0) -> torch.Tensor:
    """SimNPO, per example (Fan et al. 2024, Eq. 4): ``-(2/beta) log sigmoid(-beta avg_logp - gamma)``.

    ``avg_logp`` is ``log pi(x) / |x|`` ``[B]``: NPO with the reference replaced by a length normalisation,
    so long and short forget texts are pushed equally and no reference model is needed.
    """
    return -(2.0 / beta) * F.logsigmoid(-beta * avg_logp - gamma)


def _masked_mean(per_position: torch.Tensor, mask: torch.Tensor | None, normaliser: Normaliser) -> torch.Tensor:
    """Mean of ``[B, T]`` values over the positions where ``mask`` is 1 (all when None)."""
    if mask is None:
        mask = torch.ones_like(per_position)
    mask = mask.to(per_position.dtype)
    return _divide((per_position * mask).sum(), mask.sum(), normaliser)


def _masked_mse(
    a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None, normaliser: Normaliser = None
) -> torch.Tensor:
    return _masked_mean((a.float() - b.float()).pow(2).mean(-1), mask, normaliser)


def rmu_loss(
    h_forget: torch.Tensor,
    control_vec: torch.Tensor,
    h_retain: torch.Tensor,
    h_retain_frozen: torch.Tensor,
    alpha: float,
    forget_mask: torch.Tensor | None = None,
    retain_mask: torch.Tensor | None = None,
    forget_normaliser: Normaliser = None,
    retain_normaliser: Normaliser = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """RMU (Li et al. 2024, WMDP Eq. 1-2): ``||h_f - c u||^2 + alpha ||h_r - h_r_frozen||^2``.

    Hidden states ``[B, T, D]`` of the steered layer; ``control_vec`` ``[D]`` is ``c u`` (a random unit
    vector scaled by the steering coefficient); squared errors are means over D, then over real positions
    (the normalisers count positions). Returns (total, forget term, retain term).
    """
    forget = _masked_mse(h_forget, control_vec.expand_as(h_forget), forget_mask, forget_normaliser)
    retain = _masked_mse(h_retain, h_retain_frozen, retain_mask, retain_normaliser)
    return forget + alpha * retain, forget, retain


# ----- IdkDPO (methods-b) ------------------------------------------------------------------------------------
# IdkNLL needs no function of its own: it is ``nll`` on the refusal tokens of prompt + refusal sequences (the
# prompt's labels are -100), see ``unlearn/idk.py``.


def idk_dpo_loss(
    logp_chosen: torch.Tensor,
    ref_logp_chosen: torch.Tensor,
    logp_rejected: torch.Tensor,
    ref_logp_rejected: torch.Tensor,
    beta: float,
) -> torch.Tensor:
    """IdkDPO, per example: DPO (Rafailov et al. 2023, arXiv 2305.18290, Eq. 7) with a refusal as the preferred
    answer and the forget text as the rejected one (Maini et al. 2024, TOFU, arXiv 2401.06121):

    ``-(2/beta) log sigmoid(beta ((log pi(y_w|x) - log pi_ref(y_w|x)) - (log pi(y_l|x) - log pi_ref(y_l|x))))``

    Arguments are sequence log-likelihoods of the answers ``[B]``. The ``2/beta`` factor (DPO's Eq. 7 has 1) is
    OpenUnlearning's scale: without the chosen term the loss is exactly NPO (``npo_loss``), so the two methods'
    learning rates are comparable. At the start (pi = pi_ref) every example costs (2/beta) log 2.
    """
    margin = (logp_chosen - ref_logp_chosen) - (logp_rejected - ref_logp_rejected)
    return -(2.0 / beta) * F.logsigmoid(beta * margin)


# ----- NPO-SAM (methods-b) -----------------------------------------------------------------------------------


def sam_perturbation(grads: list[torch.Tensor], rho: float, eps: float = 1e-12) -> list[torch.Tensor]:
    """SAM's first-order worst-case weight offset (Foret et al. 2021, arXiv 2010.01412, Eq. 2), as NPO-SAM uses it
    on the forget loss (Fan et al. 2025, arXiv 2502.05374): ``delta = rho g / ||g||_2``.

    ``grads`` are the gradient's tensors (one per trained parameter); ``||g||`` is the norm of all of them
    together, so ``delta`` has norm ``rho`` (0 when ``g`` is 0). New tensors; ``grads`` is not changed.
    """
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.float()) for g in grads]))
    scale = rho / (norm + eps)
    return [g * scale.to(g.dtype) for g in grads]


# ----- UNDIAL (Dong et al. 2024, arXiv:2402.10052) ------------------------------------------------------------


def undial_loss(
    logits: torch.Tensor, ref_logits: torch.Tensor, labels: torch.Tensor, beta: float, normaliser: Normaliser = None
) -> torch.Tensor:
    """UNDIAL: self-distillation on adjusted logits (Dong et al. 2024, "UNDIAL", NAACL 2025, arXiv:2402.10052).

    The teacher at each position is the frozen reference with the true next token's logit lowered by
    ``beta``: ``q = softmax(z_ref - beta * onehot(x_{t+1}))``; the student minimises the cross-entropy
    ``-sum_v q(v) log p_theta(v)``, averaged over real targets (``normaliser`` counts targets). Its gradient
    is that of ``KL(q || p_theta)`` (the teacher is fixed), so the student moves the mass of the forgotten
    token onto the reference's other candidates, and the loss is bounded below by the teacher's entropy:
    unlike gradient ascent it cannot run away.
    """
    logits, ref_logits = logits[:, :-1].float(), ref_logits[:, :-1].float()
    targets = labels[:, 1:]
    mask = targets != IGNORE_INDEX
    index = targets.clamp(min=0).unsqueeze(-1)
    adjusted = ref_logits.scatter_add(-1, index, torch.full(index.shape, -float(beta), device=ref_logits.device))
    teacher = torch.softmax(adjusted, dim=-1)
    per_target = -(teacher * torch.log_softmax(logits, dim=-1)).sum(-1)
    return _divide((per_target * mask).sum(), mask.sum(), normaliser)


# ----- WGA and SatImp: token-reweighted gradient ascent ----------------------------------------------------------


def weighted_ascent(
    logp: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor, normaliser: Normaliser = None
) -> torch.Tensor:
    """``-mean_t w_t * (-log p_t)`` over real targets: gradient ascent with each token's NLL weighted.

    ``logp``/``mask``/``weights`` are ``[B, T-1]`` (``token_logprobs``); the weights are detached, so they
    scale each token's ascent step without being optimised themselves. ``normaliser`` counts targets.
    """
    weights = weights.detach() * mask
    return _divide((weights * logp).sum(), mask.sum(), normaliser)


def wga_loss(logits: torch.Tensor, labels: torch.Tensor, beta: float, normaliser: Normaliser = None) -> torch.Tensor:
    """WGA, weighted gradient ascent (Wang et al. 2025, "Rethinking LLM Unlearning Objectives: A Gradient
    Perspective and Go Beyond", ICLR 2025, arXiv:2502.19301).

    ``L = -mean_t p_t^beta * (-log p_t)`` with ``p_t = pi(x_t | x_<t)`` detached: tokens the model still
    predicts confidently are pushed hardest, and a token already forgotten (p_t -> 0) stops contributing,
    so the ascent does not diverge on it as plain GA's ``-log p_t`` does. ``beta = 0`` is GA.
    """
    logp, mask = token_logprobs(logits, labels)
    return weighted_ascent(logp, mask, logp.detach().exp().pow(beta), normaliser)


def satimp_loss(
    logits: torch.Tensor, labels: torch.Tensor, beta1: float, beta2: float, normaliser: Normaliser = None
) -> torch.Tensor:
    """SatImp (Yang et al. 2025, "Exploring Criteria of Loss Reweighting to Enhance LLM Unlearning",
    ICML 2025, arXiv:2505.11953).

    ``L = -mean_t w_t * (-log p_t)`` with the detached weight ``w_t = p_t^beta1 * (1 - p_t)^beta2``: the
    saturation factor ``p^beta1`` (as WGA) stops pushing tokens already forgotten, the importance factor
    ``(1 - p)^beta2`` damps tokens the model is sure of, so the ascent concentrates on tokens in between.
    ``beta2 = 0`` is WGA with ``beta = beta1``.
    """
    logp, mask = token_logprobs(logits, labels)
    p = logp.detach().exp()
    return weighted_ascent(logp, mask, p.pow(beta1) * (1.0 - p).pow(beta2), normaliser)


# ULD (Ji et al. 2024) -------------------------------------------------------------------------------------


def uniform_kl(logits: torch.Tensor, mask: torch.Tensor | None = None, normaliser: Normaliser = None) -> torch.Tensor:
    """``KL(U || p)`` of each position's next-token distribution from the uniform one, averaged over positions.

    ``sum_v (1/V) (log(1/V) - log p(v)) = -log V - mean_v log p(v)``: zero iff ``p`` is uniform. The ULD
    assistant's retain objective (Ji et al. 2024, "Reversing the forget-retain objectives", arXiv 2406.08607:
    the assistant *forgets* retain text by predicting a flat distribution on it, the cross-entropy to the
    uniform distribution up to the constant log V). ``mask`` ``[B, T]`` selects positions; ``normaliser``
    counts positions.
    """
    logp = torch.log_softmax(logits.float(), dim=-1)
    log_vocab = torch.tensor(float(logp.shape[-1]), device=logp.device).log()
    per_position = -log_vocab - logp.mean(-1)
    return _masked_mean(per_position, mask, normaliser)


def relative_top_mask(z_target: torch.Tensor, relative_top: float) -> torch.Tensor:
    """True where a token is implausible under the target: its log-probability is below both the top
    token's + log(``relative_top``) and the ``int(relative_top x vocab)``-th largest (so at least that
    many tokens always stay plausible), as ULD's reference filter (after DoLa's relative-top rule)."""
    logp = torch.log_softmax(z_target.float(), dim=-1)
    keep = max(1, int(relative_top * logp.shape[-1]))
    kth = torch.topk(logp, keep, dim=-1).values[..., -1:]
    relative = logp.max(dim=-1, keepdim=True).values + math.log(relative_top)
    return logp < torch.minimum(kth, relative)


def uld_logits(
    z_target: torch.Tensor, z_assistant: torch.Tensor, alpha: float, top_logit_filter: float = 0.0
) -> torch.Tensor:
    """ULD's unlearned logits ``z_target - alpha * z_assistant`` (Ji et al. 2024, arXiv 2406.08607), float32.

    The assistant remembers the forget text, so its logits there peak on the remembered tokens and the
    subtraction lowers them; on retain text it is flat, which shifts every logit alike (no change). With
    ``top_logit_filter`` > 0 the assistant's logit is zeroed on tokens the target finds implausible
    (``relative_top_mask``): subtracting it there only reorders the tail, which can push a junk token to the
    top once the plausible ones are lowered (the collapse the reference code's filter prevents).
    """
    z_t = z_target.float()
    z_a = z_assistant.to(device=z_t.device, dtype=torch.float32)
    if top_logit_filter > 0:
        z_a = z_a.masked_fill(relative_top_mask(z_t, top_logit_filter), 0.0)
    return z_t - alpha * z_a
