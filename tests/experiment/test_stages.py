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
    """A live holder (another process) is refused by pid; once it is killed with -9 its lock is taken over."""
    import os
    import signal
    import subprocess
    import sys

    from musebench.errors import ConfigError
    from musebench.experiment.lock import run_lock

    code = (
        "import sys, time; from pathlib import Path; from musebench.experiment.lock import run_lock\n"
        "with run_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ConfigError, match=f"pid {holder.pid}"), run_lock(tmp_path):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with run_lock(tmp_path):  # the holder died without releasing: its lock is stale and taken over
        pass
