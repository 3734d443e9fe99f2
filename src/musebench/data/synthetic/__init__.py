"""The embedded mini benchmark: fictional worlds rendered as news-mini and books-mini corpora.

``generate_corpus(kind, size, seed)`` is pure and deterministic; ``write_corpus`` saves it in the release
layout with a tokenizer the caller trains (``musebench.models.mini_corpus``). ``MINI_EVAL_SETTINGS[size]`` holds the evaluation budgets that
suit these short documents.
"""

from musebench.data.synthetic.assemble import generate_corpus
from musebench.data.synthetic.sizes import KINDS, MINI_EVAL_SETTINGS, SIZES, SizeSpec
from musebench.data.synthetic.writer import SYNTHETIC_META, read_synthetic_meta, write_corpus

__all__ = ["KINDS", "MINI_EVAL_SETTINGS", "SIZES", "SYNTHETIC_META", "SizeSpec", "generate_corpus",
           "read_synthetic_meta", "write_corpus"]
