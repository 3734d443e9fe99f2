"""Early stop on stop strings, checked cheaply on token ids.

Decoding every row at every step is what makes naive stop-string checks slow. A stop string can only
first appear when the token holding its last character is generated, so only rows whose new token decodes
to text containing one of those last characters get their short decoded tail checked. Which ids are such
candidates is learnt lazily, per id the first time it is generated, and kept per tokenizer: a KnowMem
split meets a few hundred distinct ids, so decoding all 32,000 up front (~0.25 s) is not needed.

Stopping early never changes a KnowMem score: the cut rule keeps only the text before the first stop
string, so tokens generated after it are discarded anyway.
"""

from __future__ import annotations

import weakref

import torch

#: tokenizer -> {(last characters, tokenizer size): {token id: is a candidate}}, filled as ids are generated
_CANDIDATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class StopMatcher:
    def __init__(self, tokenizer, stops: tuple[str, ...]):
        self.tokenizer = tokenizer
        self.stops = tuple(s for s in stops if s)
        self.window = max((len(s) for s in self.stops), default=0) + 1  # tokens hold >= 1 char of an ASCII stop
        self.size = len(tokenizer)  # ids past the tokenizer (a padded embedding) decode to nothing
        self.last_chars = "".join(sorted({s[-1] for s in self.stops}))
        key = (self.last_chars, self.size)
        try:
            known = _CANDIDATES.setdefault(tokenizer, {})
        except TypeError:  # not weak-referenceable
            known = {}
        self.known: dict[int, bool] = known.setdefault(key, {})

    def is_candidate(self, token_ids: list[int]) -> list[bool]:
        """Per id: does it decode to text holding a stop string's last character?"""
        new = sorted({i for i in token_ids if i not in self.known})
        if new:
            inside = [i for i in new if 0 <= i < self.size]
            pieces = self.tokenizer.batch_decode([[i] for i in inside], skip_special_tokens=True) if inside else []
            self.known.update(dict.fromkeys(new, False))
            self.known.update({i: any(c in piece for c in self.last_chars) for i, piece in zip(inside, pieces)})
        return [self.known[i] for i in token_ids]

    def candidates(self, new_tokens: torch.Tensor) -> torch.Tensor:
        """Bool per row: may this row's newest token have completed a stop string?"""
        if not self.stops:
            return torch.zeros_like(new_tokens, dtype=torch.bool)
        return torch.tensor(self.is_candidate(new_tokens.tolist()), dtype=torch.bool)

    def hit(self, generated: list[int]) -> bool:
        """Does the decoded tail of ``generated`` contain a stop string?"""
        tail = self.tokenizer.decode(generated[-self.window :], skip_special_tokens=True)
        return any(s in tail for s in self.stops)
