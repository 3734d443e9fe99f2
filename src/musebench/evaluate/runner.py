"""Runs requests: deduplicate, reuse the cache, sort by length, batch, compute, cache each batch.

Under ``sharded_evaluation`` (several processes) each process computes only its share of the planned
batches and the outputs are gathered on every process (``sharding.py``).
"""

from __future__ import annotations

import time
from collections import defaultdict

from musebench.evaluate.batching import (
    CPU_SCORING_ROWS,
    GENERATION_MAX_ROWS,
    MAX_ROWS,
    ModelShape,
    memory_budget_bytes,
    plan_batches,
)
from musebench.evaluate.cache import ResultCache
from musebench.evaluate.generation import (
    MIN_SHARED_PREFIX,
    common_prefix_length,
    eos_ids,
    greedy_generate,
    prefill_prefix,
)
from musebench.evaluate.guards import GuardedCaller, check_lengths, context_length, has_learned_positions
from musebench.evaluate.requests import GenerateRequest, Generation, LogprobRequest, TokenLogprobs
from musebench.evaluate.scoring import chunk_positions, score_texts, split_head
from musebench.evaluate.settings import EvalSettings
from musebench.evaluate.sharding import Shard, current_shard
from musebench.evaluate.stopping import StopMatcher
from musebench.models.loading import check_vocabulary, padding_id


def encode(tokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids with the tokenizer's special tokens (Llama: BOS first), as the original scorer does."""
    if not texts:
        return []
    return [list(ids) for ids in tokenizer(texts, add_special_tokens=True)["input_ids"]]


def token_arrays(stats: TokenLogprobs) -> dict:
    """The per-token float32 arrays of one output, as the binary cache stores them."""
    return {k: getattr(stats, k) for k in ("logprobs", "mu", "sigma") if getattr(stats, k) is not None}


class Runner:
    def __init__(
        self,
        model,
        tokenizer,
        settings: EvalSettings,
        cache: ResultCache | None = None,
        progress: bool = True,
        shard: Shard | None = None,
    ):
        check_vocabulary(tokenizer, model)  # one ModelError, not an IndexError inside the embedding
        self.model = model
        self.tokenizer = tokenizer
        self.settings = settings
        self.cache = cache or ResultCache(None, {})
        self.shard = shard or current_shard()
        self.progress = progress and self.shard.is_main
        self.caller = GuardedCaller(model)  # non-finite logits are an error, never a score
        self.context = context_length(model)
        self.shape = ModelShape.of(model, tokenizer)
        self.pad_id = padding_id(tokenizer, model)  # any embeddable id: pads are masked, never a new row
        self.eos = eos_ids(model, tokenizer)
        self._stops: dict[tuple[str, ...], StopMatcher] = {}
        self.timing: dict[str, float] = defaultdict(float)  # wall seconds per request group
        self.cpu_time: dict[str, float] = defaultdict(float)  # process CPU seconds per request group
        self.computed = 0  # requests that ran the model (0 on a full cache hit), all processes together
        self.computed_by_process = [0] * self.shard.world
        self._budget: float | None = None

    @property
    def budget_bytes(self) -> float:
        """Per batch: ``memory_budget_gb``, or a share of the device's free memory when first asked."""
        if self._budget is None:
            self._budget = memory_budget_bytes(self.caller.device, self.settings.memory_budget_gb)
        return self._budget

    def _bar(self, total: int, desc: str):
        from musebench.console import progress_bar

        return progress_bar(total=total, desc=desc, unit="req", disable=not self.progress or total == 0, leave=False)

    def generate(self, group: str, requests: list[GenerateRequest]) -> dict[str, Generation]:
        """Key -> greedy continuation, for every distinct request."""
        unique = {r.key(): r for r in requests}
        done = self.shard.from_main(
            lambda: {k: Generation.from_json(v) for k, v in self.cache.load(group).items() if k in unique}
        )
        todo = [r for k, r in unique.items() if k not in done]
        start, cpu_start = time.perf_counter(), time.process_time()
        by_budget: dict[tuple, list[GenerateRequest]] = defaultdict(list)
        for r in todo:
            by_budget[(r.max_new_tokens, r.stop)].append(r)
        planned = []  # (budget, prompts, batch): every process plans the same, computes its own share
        for (max_new, stop), reqs in by_budget.items():
            prompts = encode(self.tokenizer, [r.prompt for r in reqs])
            check_lengths([len(p) + max_new for p in prompts], self.context, group, f"prompt + {max_new} new tokens")
            batches = plan_batches(
                [len(p) + max_new for p in prompts],
                batch_size=self.settings.batch_size,
                budget_bytes=self.budget_bytes,
                bytes_per_token=self.shape.generation_bytes_per_token(),
                bytes_per_row=self.shape.generation_bytes_per_row(),
                max_rows=GENERATION_MAX_ROWS,
            )
            planned += [((max_new, stop), reqs, prompts, batch) for batch in batches]
        owners = self.shard.assign([sum(len(p[i]) + b[0] for i in batch) for b, _, p, batch in planned])
        mine: dict[str, Generation] = {}
        prefixes: dict[tuple, object] = {}
        # CPU: prompts prefilled in row parts whose layer tensors stay reusable, then decoded together
        part_tokens = self.shape.cpu_batch_tokens() if self.caller.device.type == "cpu" else None
        with self._bar(len(todo), f"eval {group}") as bar:
            for owner, (budget, reqs, prompts, batch) in zip(owners, planned):
                if owner != self.shard.rank:
                    continue
                max_new, stop = budget
                if budget not in prefixes:
                    shared = common_prefix_length(prompts)
                    prefixes[budget] = (
                        prefill_prefix(self.caller, prompts[0][:shared]) if shared >= MIN_SHARED_PREFIX else None
                    )
                outs = greedy_generate(
                    self.caller,
                    [prompts[i] for i in batch],
                    max_new,
                    self.pad_id,
                    self.eos,
                    self._stop_matcher(stop),
                    prefixes[budget],
                    prefill_tokens=part_tokens,
                )
                fresh = {reqs[i].key(): out for i, out in zip(batch, outs)}
                self.cache.store(group, {k: g.to_json() for k, g in fresh.items()})
                mine.update(fresh)
                bar.update(len(batch))
        done.update(self.shard.gather(mine))
        self._count(len(mine))
        self.timing[group] += time.perf_counter() - start
        self.cpu_time[group] += time.process_time() - cpu_start
        return done

    def token_logprobs(self, group: str, requests: list[LogprobRequest]) -> dict[str, TokenLogprobs]:
        """Key -> per-token log-probs (and Min-K%++ moments where asked), for every distinct request.

        A log-probs-only request whose text is also asked with moments is answered by that one (no second
        forward); moments and log-probs-only requests run in separate batches.
        """
        unique = {r.key(): r for r in requests}
        twins = {k: r.with_moments().key() for k, r in unique.items() if not r.moments}
        answered_by = {k: twin for k, twin in twins.items() if twin in unique}
        needed = {k: r for k, r in unique.items() if k not in answered_by}
        done = self.shard.from_main(
            lambda: {k: TokenLogprobs.from_json(v) for k, v in self.cache.load(group).items() if k in needed}
        )
        todo = [r for k, r in needed.items() if k not in done]
        start, cpu_start = time.perf_counter(), time.process_time()
        rows = [ids[: r.max_length] for r, ids in zip(todo, encode(self.tokenizer, [r.text for r in todo]))]
        if todo and has_learned_positions(self.model):  # scored whole on rotary models, as the original does
            check_lengths(
                [len(r) for r in rows],
                self.context,
                group,
                "tokens of a scored text; this model's learned position table ends there",
            )
        on_cpu = self.caller.device.type == "cpu"
        max_rows = CPU_SCORING_ROWS if on_cpu else MAX_ROWS
        batches = []
        whole_logits = bool(todo) and split_head(self.model) is None
        chunk = chunk_positions(self.shape.vocab_size, self.caller.device.type)
        for moments in (True, False):
            members = [i for i, r in enumerate(todo) if r.moments == moments]
            planned = plan_batches(
                [len(rows[i]) for i in members],
                batch_size=self.settings.batch_size,
                budget_bytes=self.budget_bytes,
                bytes_per_token=self.shape.scoring_bytes_per_token(whole_logits),
                bytes_per_batch=self.shape.scoring_bytes_per_batch(chunk),
                max_rows=max_rows,
                max_tokens=self.shape.cpu_batch_tokens() if on_cpu else None,
            )
            batches += [(moments, [members[j] for j in batch]) for batch in planned]
        owners = self.shard.assign([sum(len(rows[i]) for i in batch) for _, batch in batches])
        mine: dict[str, TokenLogprobs] = {}
        with self._bar(len(todo), f"eval {group}") as bar:
            for owner, (moments, batch) in zip(owners, batches):
                if owner != self.shard.rank:
                    continue
                outs = score_texts(self.caller, [rows[i] for i in batch], self.pad_id, moments=moments)
                fresh = {todo[i].key(): out for i, out in zip(batch, outs)}
                self.cache.store_arrays(group, {k: token_arrays(s) for k, s in fresh.items()})
                mine.update(fresh)
                bar.update(len(batch))
        done.update(self.shard.gather(mine))
        self._count(len(mine))
        done.update({k: done[twin] for k, twin in answered_by.items()})
        self.timing[group] += time.perf_counter() - start
        self.cpu_time[group] += time.process_time() - cpu_start
        return done

    def _count(self, mine: int) -> None:
        counts = self.shard.gather({self.shard.rank: mine})
        for rank, n in counts.items():
            self.computed_by_process[rank] += n
        self.computed += sum(counts.values())

    def _stop_matcher(self, stop: tuple[str, ...]) -> StopMatcher | None:
        if not stop:
            return None
        if stop not in self._stops:
            self._stops[stop] = StopMatcher(self.tokenizer, stop)
        return self._stops[stop]
