"""Cached, resumable stages of an experiment run.

A stage (generate the corpus, build a model, evaluate one checkpoint, one unlearning run...) is finished
when its marker ``stages/<name>.json`` exists: written atomically AFTER the work completed, it holds the
stage's key (a hash of everything the stage depends on, upstream stage keys included) and its JSON result.
Re-running after a crash therefore redoes only unfinished stages, and a stage whose key changed (edited
hyperparameters, another corpus, a redone upstream stage) is redone, as is everything downstream of it.

Two stages with one key are the same work under two names (a C5 fold 1 or C6 request 1 is the main
request: same start model, documents and recipe). A ``shareable`` stage takes the result of the first one
finished in the run instead of doing the work again, and its marker says which (``same_as``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from musebench.errors import ConfigError, DataError
from musebench.io import atomic_write_json, stable_hash

logger = logging.getLogger(__name__)

MARKER_VERSION = 1


class _OneProcess:
    is_main = True

    @staticmethod
    def from_main(fn: Callable[[], Any]) -> Any:
        return fn()


class StageFailed(RuntimeError):
    """A stage failed on every attempt (``StageStore(retries=...)``); the last error is ``__cause__``."""

    def __init__(self, stage: str, attempts: int, error: BaseException):
        super().__init__(f"stage {stage} failed after {attempts} attempt(s): {error}")
        self.stage = stage
        self.attempts = attempts


@dataclass
class StageOutcome:
    name: str
    key: str
    result: Any
    wall_s: float
    cached: bool
    same_as: str | None = None  # the stage whose result this one took (same key, other name)


class StageStore:
    """Markers of finished stages under ``<run_dir>/stages``; ``force`` ignores the ones already there.

    ``retries``: how many times a failing stage is run again before ``StageFailed`` (bad input, a
    ``ConfigError`` / ``DataError``, is never retried). Safe to use from several threads."""

    def __init__(
        self,
        run_dir: str | Path,
        force: bool = False,
        on_start: Callable[[str], None] | None = None,
        on_finish: Callable[[StageOutcome], None] | None = None,
        retries: int = 0,
        shard=None,
    ):
        self.dir = Path(run_dir) / "stages"
        # under a multi-process launch (``evaluate.sharding.Shard``): the main process decides and writes
        self.shard = shard or _OneProcess()
        self.force = force
        self.retries = retries
        self._lock = threading.RLock()
        self.on_start = on_start
        self.on_finish = on_finish
        self._redone: set[str] = set()
        self._by_key: dict[str, StageOutcome] = {}  # shareable stages finished or found valid, by key
        self.work_s = 0.0  # wall time of every stage this run went through, cached ones at their first cost

    def marker_path(self, name: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "__", name)
        return self.dir / f"{safe}.json"

    def lookup(self, name: str, key: str) -> StageOutcome | None:
        """The finished stage ``name`` if its marker exists with this ``key`` (and ``force`` is off)."""
        if self.force and name not in self._redone:
            return None
        path = self.marker_path(name)
        if not path.is_file():
            return None
        try:
            marker = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            logger.warning("ignoring unreadable stage marker %s", path)
            return None
        if marker.get("version") != MARKER_VERSION:
            logger.warning(
                "stage %s was recorded by an older musebench (marker version %s, this one writes %s): redoing it",
                name,
                marker.get("version", "none"),
                MARKER_VERSION,
            )
            return None
        if marker.get("key") != key:
            return None
        return StageOutcome(
            name, key, marker["result"], marker.get("wall_s", 0.0), cached=True, same_as=marker.get("same_as")
        )

    def run(
        self,
        name: str,
        key_parts: Any,
        fn: Callable[[], Any],
        still_valid: Callable[[Any], bool] | None = None,
        shareable: bool = False,
    ) -> StageOutcome:
        """Return the cached result of stage ``name`` or run ``fn()`` and record it.

        ``key_parts`` is anything JSON-serialisable that determines the result; ``fn`` must return JSON.
        ``still_valid(result)`` can reject a cached result whose outputs were deleted since (a model dir).
        ``shareable``: take the result of another shareable stage of this run with the same key, if any.
        """
        key = stable_hash(key_parts)
        done = self.shard.from_main(lambda: self._valid_lookup(name, key, still_valid))
        if done is None and shareable:
            done = self.shard.from_main(lambda: self._take_shared(name, key, still_valid))
        if done is None:
            if self.on_start:
                with self._lock:
                    self.on_start(name)
            start = time.perf_counter()
            result = self._attempt(name, fn)
            wall = time.perf_counter() - start
            if self.shard.is_main:
                atomic_write_json(
                    self.marker_path(name),
                    {
                        "version": MARKER_VERSION,
                        "name": name,
                        "key": key,
                        "wall_s": round(wall, 3),
                        "result": result,
                        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    },
                )
            with self._lock:
                self._redone.add(name)
            done = StageOutcome(name, key, result, wall, cached=False)
        with self._lock:
            if shareable:
                self._by_key.setdefault(key, done)
            self.work_s += done.wall_s
            if self.on_finish:
                self.on_finish(done)
        return done

    def once(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` on the main process only (it touches the run directory); its result on every process."""
        return self.shard.from_main(fn)

    def _take_shared(self, name: str, key: str, still_valid) -> StageOutcome | None:
        """The result of the first shareable stage with ``key``, recorded as stage ``name``'s too."""
        with self._lock:
            other = self._by_key.get(key)
        if other is None or (still_valid is not None and not still_valid(other.result)):
            return None
        source = other.same_as or other.name
        atomic_write_json(
            self.marker_path(name),
            {
                "version": MARKER_VERSION,
                "name": name,
                "key": key,
                "wall_s": 0.0,
                "result": other.result,
                "same_as": source,
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            },
        )
        with self._lock:
            self._redone.add(name)
        return StageOutcome(name, key, other.result, 0.0, cached=True, same_as=source)

    def _valid_lookup(self, name: str, key: str, still_valid) -> StageOutcome | None:
        done = self.lookup(name, key)
        if done is not None and still_valid is not None and not still_valid(done.result):
            logger.info("stage %s: cached outputs are gone, redoing it", name)
            done = None
        return done

    def _attempt(self, name: str, fn: Callable[[], Any]) -> Any:
        attempts = 0
        while True:
            attempts += 1
            try:
                return fn()
            except (ConfigError, DataError):
                raise
            except Exception as err:
                if attempts > self.retries:
                    if self.retries:
                        raise StageFailed(name, attempts, err) from err
                    raise
                logger.warning("stage %s failed (%s); trying it again", name, err)
