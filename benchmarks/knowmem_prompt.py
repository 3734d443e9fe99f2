"""KnowMem under both prompt endings (``EvalSettings.knowmem_prompt``) for one model on one corpus.

    python benchmarks/knowmem_prompt.py --model MODEL_DIR --data CORPUS_DIR --threads 1

``faithful`` ends the prompt with "Answer: " as MUSE's scorer does (the published MUSE numbers);
``no_trailing_space`` with "Answer:". A mini corpus is scored with its size's evaluation budgets
(``MINI_EVAL_SETTINGS``), any other corpus with the defaults. Prints one Markdown row per setting, with
whether the tokenizer encodes the trailing space as a lone token.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--label", default=None)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    import torch

    from musebench.data import load_corpus
    from musebench.data.synthetic import MINI_EVAL_SETTINGS, read_synthetic_meta
    from musebench.evaluate import EvalSettings, evaluate
    from musebench.models.loading import load_model

    torch.set_num_threads(args.threads)
    meta = read_synthetic_meta(args.data)
    base = dict(MINI_EVAL_SETTINGS[meta["size"]]) if meta else {}
    corpus = load_corpus(args.data)
    lm = load_model(args.model)
    print("| model | corpus | prompt ending | lone space token | KnowMem-f [95 % CI] | KnowMem-r [95 % CI] | s |")
    print("|---|---|---|---|---|---|---|")
    for ending in ("faithful", "no_trailing_space"):
        start = time.perf_counter()
        r = evaluate(
            lm.model,
            lm.tokenizer,
            corpus,
            EvalSettings(**base, knowmem_prompt=ending),
            metrics=["knowmem_f", "knowmem_r"],
            progress=False,
        )
        cells = [
            f"{r.scores[c]:.1f} [{r.ci[c][0]:.1f}, {r.ci[c][1]:.1f}]" if r.ci.get(c) else f"{r.scores[c]:.1f}"
            for c in ("knowmem_f", "knowmem_r")
        ]
        print(
            f"| {args.label or args.model} | {corpus.name} | {ending} | "
            f"{r.provenance['knowmem_prompt']['lone_space_token']} | {cells[0]} | {cells[1]} | "
            f"{time.perf_counter() - start:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
