import pytest

from musebench.experiment.selection import select_checkpoint


def ckpts(*pairs):
    return [(f"epoch-{i}", {"knowmem_f": kf, "knowmem_r": kr}) for i, (kf, kr) in enumerate(pairs, start=1)]


def test_first_checkpoint_at_or_below_retrain_is_chosen_not_the_best():
    run = ckpts((50, 40), (33, 35), (10, 20))  # epoch-2 equals retrain: "<=" counts
    s = select_checkpoint(run, retrain_knowmem_f=33.0)
    assert (s.label, s.index) == ("epoch-2", 1)
    assert "33.0 <= 33.0" in s.reason


def test_none_reaching_retrain_selects_the_last():
    s = select_checkpoint(ckpts((60, 50), (50, 45), (40, 30)), retrain_knowmem_f=33.0)
    assert (s.label, s.index) == ("epoch-3", 2)
    assert s.reason.startswith("no checkpoint reaches")


def test_utility_floor_skips_checkpoints_that_broke_the_model():
    # target knowmem_r 50, floor 0.8 -> 40: epoch-2 meets knowmem_f but has knowmem_r 30 < 40
    run = ckpts((50, 45), (20, 30), (10, 41), (5, 10))
    assert select_checkpoint(run, 33.0).label == "epoch-2"
    s = select_checkpoint(run, 33.0, utility_floor=0.8, target_knowmem_r=50.0)
    assert s.label == "epoch-3"
    assert "kept 2/4" in s.reason


def test_utility_floor_then_last_eligible_when_none_forgets_enough():
    run = ckpts((60, 48), (50, 45), (40, 20))
    s = select_checkpoint(run, 33.0, utility_floor=0.8, target_knowmem_r=50.0)
    assert s.label == "epoch-2"  # the last one that keeps 40 utility, not the broken epoch-3


def test_utility_floor_nobody_meets_falls_back_to_the_papers_rule():
    run = ckpts((60, 10), (20, 5))
    s = select_checkpoint(run, 33.0, utility_floor=0.9, target_knowmem_r=50.0)
    assert s.label == "epoch-2"
    assert "floor ignored" in s.reason


def test_selection_needs_checkpoints_and_target_utility_for_a_floor():
    with pytest.raises(ValueError):
        select_checkpoint([], 33.0)
    with pytest.raises(ValueError):
        select_checkpoint(ckpts((1, 1)), 33.0, utility_floor=0.5)


def test_is_final_agrees_with_select_checkpoint_on_every_prefix():
    """Stopping at the first ``is_final`` checkpoint gives the same choice as evaluating them all."""
    import itertools

    from musebench.experiment.selection import is_final

    values = [(50, 45), (30, 20), (20, 41), (40, 42), (10, 5)]
    for run in itertools.permutations(values, 4):
        run = ckpts(*run)
        for floor in (None, 0.8):
            full = select_checkpoint(run, 33.0, floor, 50.0)
            stop = next((i for i, (_, s) in enumerate(run) if is_final(s, 33.0, floor, 50.0)), len(run) - 1)
            assert select_checkpoint(run[: stop + 1], 33.0, floor, 50.0).label == full.label
