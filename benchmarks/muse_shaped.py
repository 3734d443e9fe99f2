"""A MUSE-News-shaped evaluation workload, generated locally (nothing downloaded), and Llama-shaped models.

The shapes are the release's (MUSE-SPEC): a byte-level BPE tokenizer of 32,000 ids (as Llama-2's);
VerbMem 100 prompts of ~1,024 tokens with 128-token references; KnowMem 2 x 100 questions with 10 shots;
privacy 3 x 100 texts of ~2,048 tokens. The text is pseudo-English: words drawn from a Zipf-distributed
lexicon of made-up words (enough distinct words that BPE really reaches 32,000 ids), in sentences.
Lengths are cut on token ids, so a prompt is within a few tokens of its target after re-tokenisation.

Models (random weights): ``small`` (hidden 256, 4 layers, MLP 688, fp32; for CPU) and ``7b`` (Llama-2-7B:
hidden 4,096, 32 layers, 32 heads, MLP 11,008, bf16; for a GPU).

    python benchmarks/muse_shaped.py --out bench/muse-shaped     # writes OUT/data (+ tokenizer), OUT/model-small
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VOCAB_SIZE = 32000
ONSETS = [
    "",
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "w",
    "z",
    "br",
    "ch",
    "dr",
    "fl",
    "gr",
    "kl",
    "pr",
    "sh",
    "st",
    "th",
    "tr",
]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "y"]
CODAS = ["", "", "", "n", "r", "s", "t", "l", "m", "nd", "rk", "st", "x"]


@dataclass(frozen=True)
class WorkloadShape:
    """Counts and token lengths of the workload (the release's by default)."""

    records: int = 100  # per split / criterion
    prompt_tokens: int = 1024
    reference_tokens: int = 128
    privacy_tokens: int = 2048
    shots: int = 10


#: Llama-shaped model sizes: LlamaConfig fields (vocabulary from the tokenizer) and the dtype.
MODEL_SIZES = {
    "small": (
        dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=4, intermediate_size=688),
        "float32",
    ),
    "7b": (
        dict(
            hidden_size=4096,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=32,
            intermediate_size=11008,
        ),
        "bfloat16",
    ),
    # the GPU script's dry run on CPU: the 7B shape's code path at a size that runs in seconds
    "tiny": (
        dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4, intermediate_size=172),
        "float32",
    ),
}


class TextSource:
    """Deterministic pseudo-English: Zipf-distributed made-up words (short ones frequent), in sentences."""

    def __init__(self, seed: int = 0, lexicon_size: int = 60000):
        self.rng = np.random.default_rng(seed)
        n = 4 * lexicon_size
        syllables = self.rng.integers(1, 4, size=n)
        parts = [np.array(a)[self.rng.integers(0, len(a), size=(n, 3))] for a in (ONSETS, VOWELS, CODAS)]
        drawn = [
            "".join(parts[0][i, j] + parts[1][i, j] + parts[2][i, j] for j in range(syllables[i])) for i in range(n)
        ]
        words = list(dict.fromkeys(w for w in drawn if len(w) > 1))[:lexicon_size]
        self.words = np.array(sorted(words, key=lambda w: (len(w), w)))  # rank 1 = shortest, as in English
        self.rng.shuffle(self.words[:200])
        weights = 1.0 / np.arange(1, len(self.words) + 1)
        self.cdf = np.cumsum(weights / weights.sum())

    def text(self, words: int) -> str:
        """About ``words`` words: sentences of 6-24, some with a number or a comma."""
        picked = self.words[np.minimum(np.searchsorted(self.cdf, self.rng.random(words)), len(self.words) - 1)]
        out, i = [], 0
        while i < words:
            n = int(self.rng.integers(6, 25))
            sentence = list(picked[i : i + n])
            i += n
            if self.rng.random() < 0.2:
                sentence.insert(int(self.rng.integers(0, len(sentence))), str(int(self.rng.integers(1, 2030))))
            if len(sentence) > 10 and self.rng.random() < 0.5:
                sentence[len(sentence) // 2] += ","
            out.append(" ".join(sentence).capitalize() + ".")
        return " ".join(out)

    def name(self) -> str:
        return " ".join(w.capitalize() for w in self.words[self.rng.integers(200, 20000, size=2)])


def _cut(tokenizer, text: str, start: int, length: int) -> str:
    """The text of token ids [start, start + length) of ``text`` (encoded without special tokens)."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) < start + length:
        raise ValueError(f"text too short: {len(ids)} tokens < {start + length}")
    return tokenizer.decode(ids[start : start + length])


def write_workload(out: str | Path, shape: WorkloadShape = WorkloadShape(), seed: int = 0) -> Path:
    """Tokenizer (OUT/tokenizer) and corpus (release layout) of the MUSE-shaped workload; returns OUT."""
    from musebench.data import Corpus, QAPair, VerbMemRecord
    from musebench.data.layout import save_corpus
    from musebench.models.tokenizer import save_tokenizer, train_tokenizer

    out = Path(out)
    src = TextSource(seed)
    # pseudo-words cost ~1.2 tokens each under the trained tokenizer; draw with room to spare, then cut on ids
    verb_docs = [src.text(shape.prompt_tokens + shape.reference_tokens) for _ in range(shape.records)]
    priv_docs = {
        s: [src.text(shape.privacy_tokens) for _ in range(shape.records)] for s in ("forget", "retain", "holdout")
    }

    def qa(n):  # MUSE-News questions run ~25 tokens with short answers: 10 shots make a ~400-token prompt
        return [
            QAPair(
                f"{src.text(12)[:-1]}: where did {src.name()} {src.words[int(src.rng.integers(50, 5000))]} "
                f"in {int(src.rng.integers(1900, 2024))}?",
                f"{src.name()} {src.words[int(src.rng.integers(50, 5000))]}",
            )
            for _ in range(n)
        ]

    forget_qa, retain_qa = qa(shape.records), qa(shape.records)
    forget_icl, retain_icl = qa(shape.shots), qa(shape.shots)
    # more text, so rarer words reach the BPE's frequency floor: ~970k words in all reach 32,000 ids
    drawn = sum(len(d.split()) for d in verb_docs + sum(priv_docs.values(), []))
    extra = [src.text(4000) for _ in range(max(60, (970_000 - drawn) // 4000))]
    qa_text = [f"Question: {p.question}\nAnswer: {p.answer}\n\n" for p in forget_qa + retain_qa + forget_icl]
    tokenizer = train_tokenizer(
        verb_docs + sum(priv_docs.values(), []) + extra + qa_text,
        vocab_size=VOCAB_SIZE,
        model_max_length=2 * shape.privacy_tokens,
    )
    if len(tokenizer) != VOCAB_SIZE:
        raise RuntimeError(f"the tokenizer reached {len(tokenizer)} ids, not {VOCAB_SIZE}")
    save_tokenizer(tokenizer, out / "tokenizer")
    # BOS is added at encoding: a prompt of prompt_tokens - 1 text ids is prompt_tokens long, as in MUSE
    verbmem = [
        VerbMemRecord(
            prompt=_cut(tokenizer, d, 0, shape.prompt_tokens - 1),
            gt=_cut(tokenizer, d, shape.prompt_tokens - 1, shape.reference_tokens + 8),
        )
        for d in verb_docs
    ]
    privacy = {s: [_cut(tokenizer, d, 0, shape.privacy_tokens - 1) for d in docs] for s, docs in priv_docs.items()}
    corpus = Corpus(
        name="muse-shaped",
        forget=[r.prompt + r.gt for r in verbmem],
        retain2=privacy["retain"],
        holdout=privacy["holdout"],
        verbmem_forget=verbmem,
        knowmem_forget_qa=forget_qa,
        knowmem_retain_qa=retain_qa,
        knowmem_forget_qa_icl=forget_icl,
        knowmem_retain_qa_icl=retain_icl,
        privleak_forget=privacy["forget"],
        privleak_retain=privacy["retain"],
        privleak_holdout=privacy["holdout"],
    )
    save_corpus(corpus, out)
    (out / "workload.json").write_text(json.dumps({"seed": seed, **shape.__dict__}, indent=1) + "\n")
    return out


def build_model(tokenizer, size: str = "small", seed: int = 0, device: str = "cpu"):
    """A random-weight ``LlamaForCausalLM`` of ``size`` (``MODEL_SIZES``) for ``tokenizer``, in eval mode."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    fields, dtype = MODEL_SIZES[size]
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=4096,
        rope_theta=10000.0,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
        **fields,
    )
    torch.manual_seed(seed)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        with torch.device(device):
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    return model.eval()


def write_model(data_dir: str | Path, out: str | Path, size: str = "small", seed: int = 0) -> Path:
    """Save a random ``size`` model with the workload's tokenizer (safetensors)."""
    from musebench.models.loading import load_tokenizer

    tokenizer = load_tokenizer(Path(data_dir) / "tokenizer")
    model = build_model(tokenizer, size, seed)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return Path(out)


def ensure(work: str | Path, size: str = "small", shape: WorkloadShape = WorkloadShape(), seed: int = 0):
    """(data dir, model dir) under ``work``, generated once and reused (same shape and seed)."""
    work = Path(work)
    data, model = work / "data", work / f"model-{size}"
    meta = {"seed": seed, **shape.__dict__}
    stored = data / "workload.json"
    if not (stored.is_file() and json.loads(stored.read_text()) == meta):
        write_workload(data, shape, seed)
    if not (model / "model.safetensors").is_file():
        write_model(data, model, size, seed)
    return data, model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="directory for data/ and model-SIZE/")
    parser.add_argument("--size", default="small", choices=sorted(MODEL_SIZES))
    parser.add_argument("--records", type=int, default=100, help="records per split (release: 100)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data, model = ensure(args.out, args.size, WorkloadShape(records=args.records), args.seed)
    print(f"data: {data}\nmodel: {model}")


if __name__ == "__main__":
    main()
