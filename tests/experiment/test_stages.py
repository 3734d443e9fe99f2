import json

import pytest

from musebench.experiment.stages import StageStore


class Once:
    """A stage function that succeeds the first time and raises if it is ever called again."""

    def __init__(self, value):
        self.value = value
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.calls > 1:
            raise AssertionError("finished stage was re-run")
        return self.value


def test_finished_stage_is_not_rerun_after_a_restart(tmp_path):
    fn = Once({"x": 1})
    first = StageStore(tmp_path).run("eval/target", {"a": 1}, fn)
    assert not first.cached and first.result == {"x": 1}
    again = StageStore(tmp_path).run("eval/target", {"a": 1}, fn)  # a new process: a new store
    assert again.cached and again.result == {"x": 1} and fn.calls == 1


def test_changed_key_reruns_the_stage(tmp_path):
    StageStore(tmp_path).run("s", {"lr": 1e-4}, lambda: 1)
    out = StageStore(tmp_path).run("s", {"lr": 1e-3}, lambda: 2)
    assert not out.cached and out.result == 2
    assert StageStore(tmp_path).run("s", {"lr": 1e-3}, Once(3)).result == 2


def test_a_stage_that_crashed_leaves_no_marker_and_runs_again(tmp_path):
    def crash():
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        StageStore(tmp_path).run("unlearn/ga", {}, crash)
    assert not list((tmp_path / "stages").glob("*.json"))
    assert StageStore(tmp_path).run("unlearn/ga", {}, lambda: [1]).result == [1]


def test_force_reruns_once_then_reuses_the_fresh_marker(tmp_path):
    StageStore(tmp_path).run("s", {}, lambda: "old")
    store = StageStore(tmp_path, force=True)
    assert store.run("s", {}, lambda: "new").result == "new"
    assert store.run("s", {}, Once("never")).result == "new"


def test_still_valid_rejects_a_marker_whose_outputs_are_gone(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    StageStore(tmp_path).run("build/target", {}, lambda: str(model))
    model.rmdir()
    out = StageStore(tmp_path).run("build/target", {}, lambda: "rebuilt", still_valid=lambda p: p == "rebuilt")
    assert out.result == "rebuilt" and not out.cached


def test_marker_is_json_with_key_and_wall_time(tmp_path):
    store = StageStore(tmp_path)
    store.run("methods/npo/eval/epoch-1", {"k": 1}, lambda: {"scores": {"knowmem_f": 3.0}})
    marker = json.loads(store.marker_path("methods/npo/eval/epoch-1").read_text())
    assert marker["result"] == {"scores": {"knowmem_f": 3.0}}
    assert marker["wall_s"] >= 0 and len(marker["key"]) == 16
    assert store.marker_path("methods/npo/eval/epoch-1").parent == tmp_path / "stages"


def test_run_lock_refuses_a_second_live_process_and_takes_over_a_stale_lock(tmp_path):
    import os
    import subprocess
    import sys

    from musebench.errors import ConfigError
    from musebench.experiment.lock import LOCK_FILE, run_lock

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / LOCK_FILE).write_text(f"{sleeper.pid}\n")
        with pytest.raises(ConfigError, match=f"pid {sleeper.pid}"), run_lock(tmp_path):
            pass
    finally:
        sleeper.kill()
        sleeper.wait()
    with run_lock(tmp_path):  # the holder is gone: its lock is stale
        assert (tmp_path / LOCK_FILE).read_text().strip() == str(os.getpid())
    assert not (tmp_path / LOCK_FILE).exists()
