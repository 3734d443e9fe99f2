"""The two request kinds every criterion is turned into, and their outputs (lm-eval's two-phase design).

``GenerateRequest`` (greedy continuation of a prompt) feeds VerbMem and KnowMem; ``LogprobRequest``
(teacher-forced per-token log-probs of a text) feeds every membership attack at once. Requests are
value objects: equal requests are computed once, and ``key()`` names them in the cache.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musebench.io import stable_hash


@dataclass(frozen=True)
class GenerateRequest:
    prompt: str
    max_new_tokens: int
    stop: tuple[str, ...] = ()  # generation may end early once the decoded output contains one of these

    def key(self) -> str:
        return stable_hash(["generate", self.prompt, self.max_new_tokens, list(self.stop)], length=24)


@dataclass(frozen=True)
class LogprobRequest:
    text: str
    max_length: int  # tokens, BOS included; longer texts are cut
    # Min-K%++'s mu / sigma need an exp and two reductions over the vocabulary at every position, ~10x the
    # cost of the log-softmax and gather alone; the lower-cased and reference-model texts only need their NLL
    moments: bool = True

    def key(self) -> str:
        return stable_hash(["logprobs", self.text, self.max_length] + ([] if self.moments else ["nll-only"]), length=24)

    def with_moments(self) -> LogprobRequest:
        return LogprobRequest(self.text, self.max_length, moments=True)


@dataclass
class Generation:
    """Greedy continuation: the generated ids (EOS included if hit) and why generation ended."""

    token_ids: list[int]
    finish: str  # "eos", "stop" or "length"

    def to_json(self) -> dict:
        return {"token_ids": self.token_ids, "finish": self.finish}

    @classmethod
    def from_json(cls, d: dict) -> Generation:
        return cls(token_ids=list(d["token_ids"]), finish=d["finish"])


@dataclass
class TokenLogprobs:
    """Per predicted token t = 1..n-1: log p(x_t | x_<t), and mean / std of log p under p(. | x_<t).

    ``mu`` and ``sigma`` are what Min-K%++ normalises by; all three come from one forward pass. They are
    ``None`` when the request asked for log-probs only (``LogprobRequest.moments=False``).
    """

    logprobs: np.ndarray  # float32 [n - 1]
    mu: np.ndarray | None = None  # float32 [n - 1]
    sigma: np.ndarray | None = None  # float32 [n - 1]

    @property
    def n_tokens(self) -> int:
        return len(self.logprobs) + 1

    @property
    def has_moments(self) -> bool:
        return self.mu is not None and self.sigma is not None

    def to_json(self) -> dict:
        return {
            k: getattr(self, k).astype(np.float32).tolist()
            for k in ("logprobs", "mu", "sigma")
            if getattr(self, k) is not None
        }

    @classmethod
    def from_json(cls, d: dict) -> TokenLogprobs:
        return cls(**{k: np.asarray(d[k], dtype=np.float32) for k in ("logprobs", "mu", "sigma") if k in d})
