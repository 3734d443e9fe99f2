"""Early stop on stop strings, checked cheaply on token ids.

Decoding every row at every step is what makes naive stop-string checks slow. A stop string can only
first appear when the token holding its last character is generated, so we precompute, once per
tokenizer, which vocabulary ids decode to text containing one of those last characters; only rows whose
new token is such a candidate get their short decoded tail checked.

Stopping early never changes a KnowMem score: the cut rule keeps only the text before the first stop
string, so tokens generated after it are discarded anyway.
"""

from __future__ import annotations

import weakref

import torch

#: tokenizer -> {(last characters, vocabulary size): candidate mask}: decoding a 32,000-id vocabulary one id
#: at a time takes ~0.25 s, once per tokenizer instead of once per evaluation
_CANDIDATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class StopMatcher:
    def __init__(self, tokenizer, stops: tuple[str, ...], vocab_size: int | None = None):
        self.tokenizer = tokenizer
        self.stops = tuple(s for s in stops if s)
        self.window = max((len(s) for s in self.stops), default=0) + 1  # tokens hold >= 1 char of an ASCII stop
        size = max(vocab_size or 0, len(tokenizer))
        last_chars = "".join(sorted({s[-1] for s in self.stops}))
        key = (last_chars, size, len(tokenizer))
        try:
            known = _CANDIDATES.setdefault(tokenizer, {})
        except TypeError:  # not weak-referenceable
            known = {}
        if key not in known:
            candidate = torch.zeros(size, dtype=torch.bool)
            if self.stops:
                pieces = tokenizer.batch_decode([[i] for i in range(len(tokenizer))], skip_special_tokens=True)
                for i, piece in enumerate(pieces):
                    if any(c in piece for c in last_chars):
                        candidate[i] = True
            known[key] = candidate
        self.candidate = known[key]

    def candidates(self, new_tokens: torch.Tensor) -> torch.Tensor:
        """Bool per row: may this row's newest token have completed a stop string?"""
        if not self.stops:
            return torch.zeros_like(new_tokens, dtype=torch.bool)
        return self.candidate[new_tokens.cpu().clamp(max=len(self.candidate) - 1)]

    def hit(self, generated: list[int]) -> bool:
        """Does the decoded tail of ``generated`` contain a stop string?"""
        tail = self.tokenizer.decode(generated[-self.window:], skip_special_tokens=True)
        return any(s in tail for s in self.stops)
