"""What one training step of a mini recipe's model costs on this machine, with and without the usual speed knobs.

    python benchmarks/step_cost.py --threads 2

For the ``tiny`` and ``default`` recipes (``musebench.models.recipe.RECIPES``, their world's vocabulary size), times
a bare PyTorch step (forward, backward, gradient clipping, AdamW) on one batch of ``batch_size x block_size``
tokens, with SDPA or eager attention and fused or foreach AdamW. It answers whether a build is bound by the model's
arithmetic (every variant alike) or by overhead a switch would remove. Prints a Markdown table.

``--bf16`` adds rows under bfloat16 autocast, which the mini recipes used before they trained in fp32: on a CPU
without bfloat16 units it is emulated, and this is the row that says how much slower that is here.
"""

from __future__ import annotations

import argparse
import time


class _Vocabulary:
    """What ``build_tiny_llama`` reads of a tokenizer: its size and special-token ids (no text is encoded here)."""

    def __init__(self, size: int):
        self.size, self.bos_token_id, self.eos_token_id, self.pad_token_id = size, 1, 2, 0

    def __len__(self) -> int:
        return self.size


def step_ms(recipe, vocab: int, attention: str, fused: bool, steps: int, bf16: bool = False) -> float:
    import torch

    from musebench.models.tiny import build_tiny_llama

    model = build_tiny_llama(_Vocabulary(vocab), recipe.spec())  # the model a build of this recipe trains
    model.set_attn_implementation(attention)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=fused, foreach=None if fused else True)
    batch = torch.randint(0, vocab, (recipe.batch_size, recipe.block_size))

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad()

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=20, help="timed steps per variant")
    p.add_argument("--bf16", action="store_true", help="also time SDPA + foreach AdamW under bfloat16 autocast")
    args = p.parse_args()

    import torch

    from musebench.data.synthetic.sizes import size_spec
    from musebench.models.recipe import RECIPES

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, {args.steps} timed steps per variant")
    print("| recipe | tokens per step | precision | attention | AdamW | ms per step |\n|---|---|---|---|---|---|")
    for size in ("tiny", "default"):
        recipe, vocab = RECIPES[size], size_spec(size).vocab_size
        tokens = recipe.batch_size * recipe.block_size
        variants = [("fp32", a, f) for a in ("sdpa", "eager") for f in (False, True)]
        variants += [("bf16 autocast", "sdpa", False)] if args.bf16 else []
        for precision, attention, fused in variants:
            ms = step_ms(recipe, vocab, attention, fused, args.steps, bf16=precision != "fp32")
            adamw = "fused" if fused else "foreach"
            print(f"| {size} | {tokens} | {precision} | {attention} | {adamw} | {ms:.1f} |")


if __name__ == "__main__":
    main()
