"""Train a byte-level BPE tokenizer on a corpus and save it as a ``PreTrainedTokenizerFast``.

Like Llama's tokenizer it prepends BOS to every encoded text (``add_special_tokens=True``) and has
distinct BOS, EOS, PAD and UNK tokens (or, with ``pad=False``, no pad token, as Llama-2's).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

BOS, EOS, PAD, UNK = "<s>", "</s>", "<pad>", "<unk>"
SPECIAL_TOKENS = [PAD, BOS, EOS, UNK]


#: Words, numbers and punctuation runs each keep the one space that follows them; other whitespace stands alone.
TRAILING_SPACE_PATTERN = r"\p{L}+ ?|\p{N}+ ?|[^\s\p{L}\p{N}]+ ?|\s+"


def train_tokenizer(
    texts: Iterable[str],
    vocab_size: int = 2048,
    model_max_length: int = 2048,
    trailing_space: bool = False,
    pad: bool = True,
):
    """Return a ``PreTrainedTokenizerFast`` trained on ``texts`` (deterministic for the same input).

    ``trailing_space=True`` attaches a space to the word *before* it (``"Answer: "`` ends on the token
    ``": "``) instead of the word after it. MUSE's KnowMem prompt ends in ``"Answer: "`` with a trailing
    space; with the usual byte-level split that space becomes a lone token never seen before a word in
    training, and a small model trained from scratch cannot answer after it.

    ``pad=False`` gives a tokenizer with no pad token at all (not in the vocabulary either), as Llama-2's.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=UNK))
    if trailing_space:
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(TRAILING_SPACE_PATTERN), behavior="isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    else:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS if pad else [t for t in SPECIAL_TOKENS if t != PAD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD if pad else None,
        unk_token=UNK,
        model_max_length=model_max_length,
        clean_up_tokenization_spaces=False,
    )
    return fast


def save_tokenizer(tokenizer, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out)
    return out
