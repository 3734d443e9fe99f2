"""The C7 recovery chart stays readable: one outlier (a recovery of -1167 % when almost nothing was forgotten)
is clipped to the axis and labelled with its value instead of flattening every other bar."""

from __future__ import annotations

from musebench.report.robustness import RECOVERY_AXIS, clip_recovery, recovery_figure
from musebench.results import AttackResult, RobustMethod, Robustness


def _doc(measures: dict[str, float]) -> Robustness:
    return Robustness(
        methods={
            m: RobustMethod(attacks={"quantize-nf4": AttackResult(scores={"knowmem_f": 1.0}, measure={"knowmem_f": v})})
            for m, v in measures.items()
        }
    )


def test_clip_recovery():
    assert RECOVERY_AXIS == (-100.0, 150.0)
    assert clip_recovery(-1167.0) == (-100.0, True)
    assert clip_recovery(400.0) == (150.0, True)
    assert clip_recovery(8.0) == (8.0, False) and clip_recovery(-100.0) == (-100.0, False)


def test_an_outlier_is_clipped_and_labelled_the_others_keep_their_height():
    fig = recovery_figure(_doc({"ga": 0.05, "uld": -11.67, "npo": 0.3}), limit=0.1)
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    assert -110 < low < -100 and 150 < high < 160  # not stretched to -1167
    heights = sorted(round(p.get_height(), 1) for p in ax.patches)
    assert heights[0] == -100.0 and 5.0 in heights and 30.0 in heights
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["-1167 %"]
    assert "clipped" in ax.get_ylabel()


def test_nothing_clipped_nothing_labelled():
    ax = recovery_figure(_doc({"ga": 0.05, "npo": -0.5}), limit=0.1).axes[0]
    assert [t.get_text() for t in ax.texts] == []
