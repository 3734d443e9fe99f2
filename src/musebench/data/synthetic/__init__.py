"""The embedded mini benchmark: fictional worlds rendered as news-mini and books-mini corpora.

``generate_corpus(kind, size, seed)`` is pure and deterministic; ``write_corpus`` saves it in the release
layout with a tokenizer the caller trains (``musebench.models.mini_corpus``). ``MINI_EVAL_SETTINGS[size]`` holds the evaluation budgets that
suit these short documents.
"""

from musebench.data.synthetic.assemble import Background, MiniWorld, generate_corpus, generate_world
from musebench.data.synthetic.sizes import KINDS, MINI_EVAL_SETTINGS, SIZES, SizeSpec
from musebench.data.synthetic.writer import SYNTHETIC_META, read_background, read_synthetic_meta, write_corpus

__all__ = [
    "KINDS",
    "MINI_EVAL_SETTINGS",
    "SIZES",
    "SYNTHETIC_META",
    "Background",
    "MiniWorld",
    "SizeSpec",
    "generate_corpus",
    "generate_world",
    "read_background",
    "read_synthetic_meta",
    "write_corpus",
]
