"""The embedded mini benchmark written to disk with its own tokenizer (``musebench data generate``).

Lives in ``models`` because training the tokenizer is model-side work; ``data.synthetic`` only lays out files.
"""

from __future__ import annotations

from pathlib import Path

from musebench.data.synthetic.writer import write_corpus


def _train_and_save_tokenizer(texts: list[str], vocab_size: int, directory: Path) -> None:
    from musebench.models.tokenizer import save_tokenizer, train_tokenizer

    tokenizer = train_tokenizer(texts, vocab_size=vocab_size, trailing_space=True)
    save_tokenizer(tokenizer, directory)


def write_mini_corpus(kind: str, size: str, seed: int, out_dir: str | Path, keep: tuple[str, ...] = ()) -> Path:
    """Generate the mini corpus ``kind`` at ``size`` and write it with a tokenizer trained on its text.

    ``keep``: entries of an existing ``out_dir`` carried into the new one (see ``write_corpus``).
    """
    return write_corpus(kind, size, seed, out_dir, write_tokenizer=_train_and_save_tokenizer, keep=keep)
