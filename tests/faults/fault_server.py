"""Kill -9 musebench commands at seeded random moments, resume them, and report what happened.

    python fault_server.py PLAN.json REPORT.json

The server imports musebench, transformers and torch once, wraps the hook functions below, then forks one
child per attempt (so an attempt costs its work, not an interpreter start). A child runs one command and
SIGKILLs itself at the N-th entry into hook H, a real kill -9 in the middle of whatever H is doing. The plan:
an uninterrupted reference run (counting every hook), then chains on fresh output directories: a chain's
first attempt is killed at a moment drawn from the reference counts, and it is resumed with further seeded
kills until a resume finishes. The report lists every kill and every chain's final directory.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import signal
import sys

HOOKS = (
    "transformers.trainer:Trainer.training_step",  # between optimisation steps
    "transformers.trainer:Trainer._save_optimizer_and_scheduler",  # checkpoint-N has weights, no state yet
    "transformers.trainer:Trainer._save_rng_state",  # checkpoint-N half written
    "transformers.trainer_callback:TrainerState.save_to_json",  # the checkpoint's last file
    "musebench.unlearn.export:export_model",  # an epoch model about to be written
    "transformers.modeling_utils:safe_save_file",  # inside a weights write
    "torch:save",  # inside an optimizer / scheduler / RNG write of a checkpoint
    "os:replace",  # at any atomic rename (results, run.json, directories, marks)
    "musebench.evaluate.cache:ResultCache.store",  # between evaluation batches
    "musebench.evaluate.result:EvalResult.save",  # results about to be written
    "musebench.experiment.stages:StageStore.run",  # an experiment stage starts
)


COUNTS: dict[str, int] = {}
TARGET: list = [None, 0]  # (hook, n) of the current child


def _resolve(hook: str):
    module_name, qualname = hook.split(":")
    owner = importlib.import_module(module_name)
    *parents, name = qualname.split(".")
    for part in parents:
        owner = getattr(owner, part)
    return owner, name


def install() -> None:
    for hook in HOOKS:
        owner, name = _resolve(hook)
        original = getattr(owner, name)

        def wrapper(*args, __hook=hook, __original=original, **kwargs):
            COUNTS[__hook] = COUNTS.get(__hook, 0) + 1
            if __hook == TARGET[0] and COUNTS[__hook] == TARGET[1]:
                os.kill(os.getpid(), signal.SIGKILL)
            return __original(*args, **kwargs)

        setattr(owner, name, wrapper)


def attempt(argv: list[str], target, log_path: str, counts_path: str | None = None) -> int:
    """Fork a child that runs ``argv`` (killing itself at ``target``); return its exit status (-9: killed)."""
    pid = os.fork()
    if pid == 0:
        COUNTS.clear()
        TARGET[:] = list(target) if target else [None, 0]
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        rc = 1
        try:
            from musebench.cli import main

            rc = main(argv)
            if counts_path:
                with open(counts_path, "w") as fh:
                    json.dump(COUNTS, fh)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(rc if isinstance(rc, int) else 1)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def main() -> int:
    with open(sys.argv[1]) as fh:
        plan = json.load(fh)
    report_path = sys.argv[2]
    import torch

    torch.set_num_threads(1)
    for name in plan.get("preload", []):  # what the command imports lazily: imported once, before forking
        importlib.import_module(name)
    install()
    log = plan["log"]
    counts_path = plan["counts"]
    rc = attempt(plan["reference"], None, log, counts_path)
    if rc != 0:
        print(f"reference run failed (rc {rc}); see {log}", file=sys.stderr)
        return 1
    with open(counts_path) as fh:
        counts = {k: v for k, v in json.load(fh).items() if v > 0}
    rng = random.Random(plan["seed"])
    kills, events, chains = 0, [], []
    while kills < plan["kills"]:
        out = plan["out_pattern"].format(chain=len(chains))
        argv = [a.replace("{out}", out) for a in plan["resume"]]
        for _ in range(plan["max_attempts_per_chain"]):
            hook = rng.choice(sorted(counts))
            nth = rng.randint(1, counts[hook])
            rc = attempt(argv, (hook, nth), log)
            events.append({"chain": len(chains), "hook": hook, "n": nth, "rc": rc})
            if rc == -signal.SIGKILL:
                kills += 1
                continue
            if rc != 0:
                print(f"attempt {hook}:{nth} failed with rc {rc}; see {log}", file=sys.stderr)
                return 1
            break
        else:
            rc = attempt(argv, None, log)
            events.append({"chain": len(chains), "hook": None, "n": 0, "rc": rc})
            if rc != 0:
                print(f"final resume failed with rc {rc}; see {log}", file=sys.stderr)
                return 1
        chains.append(out)
    with open(report_path, "w") as fh:
        json.dump(
            {"kills": kills, "attempts": len(events), "events": events, "chains": chains, "counts": counts},
            fh,
            indent=1,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
