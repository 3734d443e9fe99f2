"""Recipe validation and the validity gates on hand-made score pairs."""

from __future__ import annotations

import pytest

from musebench.errors import ConfigError
from musebench.models.gates import check_gates, gates_table
from musebench.models.recipe import RECIPES, BuildRecipe, recipe_for


def test_recipe_rejects_bad_values_naming_the_field():
    with pytest.raises(ConfigError, match="recipe.epochs"):
        BuildRecipe(epochs=0)
    with pytest.raises(ConfigError, match="recipe.hidden_size"):
        BuildRecipe(hidden_size=30, num_heads=4)
    with pytest.raises(ConfigError, match="recipe.lr"):
        BuildRecipe(lr=0.0)
    with pytest.raises(ConfigError, match="bogus"):
        BuildRecipe().with_overrides({"bogus": 1})
    with pytest.raises(ConfigError, match="size"):
        recipe_for("huge")


def test_recipe_overrides_and_sizes():
    r = recipe_for("tiny").with_overrides({"epochs": 3})
    assert r.epochs == 3 and r.hidden_size == RECIPES["tiny"].hidden_size
    assert recipe_for(None) == RECIPES["default"]
    assert r.spec().hidden_size == r.hidden_size


GOOD_T = {"verbmem_f": 90.0, "knowmem_f": 60.0, "knowmem_r": 55.0, "auc": 0.02}
GOOD_R = {"verbmem_f": 25.0, "knowmem_f": 10.0, "knowmem_r": 50.0, "auc": 0.50}


def test_gates_pass_on_a_valid_pair():
    gates = check_gates(GOOD_T, GOOD_R)
    assert [g.name for g in gates] == ["verbmem", "knowmem_f", "target_auc", "retrain_auc", "utility", "utility_gap"]
    assert all(g.passed for g in gates)
    assert "PrivLeak -96.0 %" in gates[2].measured  # (0.02 - 0.5) / 0.5 * 100
    assert "| yes |" in gates_table(gates)


@pytest.mark.parametrize(
    "target, retrain, failing",
    [
        ({"verbmem_f": 74.0}, {}, "verbmem"),  # 74 < 3 x 25
        ({"knowmem_f": 34.0}, {}, "knowmem_f"),  # 34 < 10 + 25
        ({"auc": 0.16}, {}, "target_auc"),
        ({}, {"auc": 0.30}, "retrain_auc"),  # and PrivLeak (0.02-0.3)/0.3 = -93 still passes
        ({"knowmem_r": 39.0}, {"knowmem_r": 45.0}, "utility"),
        ({"knowmem_r": 70.0}, {"knowmem_r": 55.0}, "utility_gap"),
    ],
)
def test_each_gate_fails_alone(target, retrain, failing):
    gates = check_gates({**GOOD_T, **target}, {**GOOD_R, **retrain})
    assert [g.name for g in gates if not g.passed] == [failing]


def test_utility_gap_ci_is_paired_and_draws_people_whole():
    from musebench.evaluate.bootstrap import paired_difference_ci

    # the target scores every question exactly 10 points above the retrain: every paired draw gives +10
    retrain = [0.0, 100.0, 50.0, 20.0, 80.0, 40.0]
    assert paired_difference_ci([r + 10 for r in retrain], retrain) == pytest.approx([10.0, 10.0])
    # two people, three questions each: person a +30 on each, person b -30. Drawn by person, a resample holds
    # aa, ab/ba or bb: the gap is +30, 0 or -30, so the 95 % interval is [-30, +30]
    people = ["a"] * 3 + ["b"] * 3
    target = [r + (30 if p == "a" else -30) for r, p in zip(retrain, people)]
    assert paired_difference_ci(target, retrain, people) == pytest.approx([-30.0, 30.0])
    assert paired_difference_ci([], []) is None and paired_difference_ci([1.0], [1.0, 2.0]) is None
    gap = check_gates({**GOOD_T, "knowmem_r": 57.5}, {**GOOD_R, "knowmem_r": 70.2}, utility_gap_ci=[-25.2, 0.7])[-1]
    assert gap.name == "utility_gap" and not gap.passed  # the gate reads the point estimate
    assert gap.measured == "|-12.7| (target - retrain -12.7, paired 95 % CI [-25.2, +0.7])"


def test_the_answer_prior_gate_is_sized_per_world():
    from musebench.models.gates import check_base_gate

    # default: 25 points above the constant-answer baseline; tiny: 15 (stated in models.gates)
    assert check_gates(GOOD_T, GOOD_R, constant_answer=35.0)[-1].passed  # 60 >= 35 + 25
    prior = check_gates(GOOD_T, GOOD_R, constant_answer=35.5)[-1]
    assert prior.name == "above_prior" and not prior.passed and "60.0 vs 35.5" in prior.measured
    assert check_gates(GOOD_T, GOOD_R, constant_answer=45.0, size="tiny")[-1].passed  # 60 >= 45 + 15
    assert not check_gates(GOOD_T, GOOD_R, constant_answer=45.5, size="tiny")[-1].passed
    assert check_base_gate(60.0).passed and not check_base_gate(59.9).passed
    assert check_base_gate(30.0, "tiny").passed and not check_base_gate(29.9, "tiny").passed


def test_the_base_key_ignores_only_the_fine_tune_fields():
    from musebench.models.base import base_recipe_key

    r = RECIPES["tiny"]
    assert base_recipe_key(r) == base_recipe_key(r.with_overrides({"epochs": 99, "lr": 0.1}))
    for change in ({"base_epochs": 7}, {"base_lr": 0.1}, {"hidden_size": 64}, {"block_size": 64}):
        assert base_recipe_key(r) != base_recipe_key(r.with_overrides(change)), change
