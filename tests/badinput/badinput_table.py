"""Print the bad-input table of the closing note: per category, how each damaged input was met.

    OMP_NUM_THREADS=1 PYTHONPATH=src python tests/badinput/badinput_table.py [--new]
(point PYTHONPATH at another checkout's src/ to measure it before a change; --new: only the cases of
``badinput_ownership.py``)
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

COLUMNS = ("clean", "traceback", "wrong-but-plausible", "data lost", "hang", "unclear error")


def classify(case, outcome, root: Path) -> str:
    ws = {"root": root, "data": root / "data", "model": root / "model", "out": root / "out"}
    if outcome.lost:
        return "data lost"
    if outcome.hang:
        return "hang"
    if outcome.traceback is not None:
        return "traceback"
    if case.rc == 0 and outcome.rc == 0:  # it must succeed and say what is wrong on its first line
        return "clean" if case.expect(ws) in outcome.first_line else "wrong-but-plausible"
    if outcome.rc == 0:
        return "wrong-but-plausible"
    if outcome.clean and case.expect(ws) in outcome.error_lines[0]:
        return "clean"
    return "unclear error"


def main() -> int:
    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(1)
    from badinput_cases import CASES
    from badinput_ownership import NEW

    cases = NEW if "--new" in sys.argv[1:] else CASES
    only = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--only=")]
    if only:  # --only=TEXT: the cases whose name holds TEXT
        cases = [c for c in cases if any(t in c.name for t in only)]
    from badinput_outcome import make_pristine, run_case

    base = Path(tempfile.mkdtemp(prefix="musebench-badinput-"))
    pristine = make_pristine(base / "pristine")
    rows: dict[str, Counter] = {}
    for i, case in enumerate(cases):
        root = base / f"case{i}"
        try:
            outcome = run_case(case, pristine, root)
            verdict = classify(case, outcome, root)
            line = (outcome.error_lines or [""])[0][:150]
            rc = outcome.rc
        except Exception as err:  # noqa: BLE001  (a damage the older tree cannot even be set up for)
            verdict, line, rc = "traceback", repr(err)[:150], None
        rows.setdefault(case.category, Counter())[verdict] += 1
        if verdict != "clean":
            print(f"  {verdict:<20} {case.category:<7} {case.name}: rc={rc} {line}", file=sys.stderr)
    print("| category | cases | clean | tracebacks | wrong-but-plausible | data lost | hang | unclear error |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    total: Counter = Counter()
    for cat, counts in rows.items():
        total.update(counts)
        print(f"| {cat} | {sum(counts.values())} | " + " | ".join(str(counts[c]) for c in COLUMNS) + " |")
    print(f"| all | {sum(total.values())} | " + " | ".join(str(total[c]) for c in COLUMNS) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
