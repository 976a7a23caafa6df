"""Score maths against hand-computed cases."""
import pytest

from canteen.reports.scoring import (
    TrialRules,
    bayesian_average,
    suppressed,
    trial_verdict,
    wilson_interval,
)


def test_bayesian_average_keeps_three_votes_from_beating_three_hundred():
    few = bayesian_average(3 * 5, 3, prior_mean=3.5, prior_weight=10)  # (35 + 15) / 13
    many = bayesian_average(300 * 4.2, 300, prior_mean=3.5, prior_weight=10)  # (35 + 1260) / 310
    assert few == pytest.approx(50 / 13) and many == pytest.approx(1295 / 310)
    assert many > few
    assert bayesian_average(0, 0, 3.5, 10) == 3.5
    assert bayesian_average(0, 0, 3.5, 0) is None
    with pytest.raises(ValueError):
        bayesian_average(5, -1, 3.5, 10)


@pytest.mark.parametrize("good,votes,low,high", [
    (8, 10, 0.4902, 0.9433),      # textbook Wilson 95 % for 8/10
    (0, 10, 0.0, 0.2775),
    (10, 10, 0.7225, 1.0),
    (50, 100, 0.4038, 0.5962),
])
def test_wilson_interval(good, votes, low, high):
    lo, hi = wilson_interval(good, votes)
    assert lo == pytest.approx(low, abs=1e-4) and hi == pytest.approx(high, abs=1e-4)


def test_wilson_interval_edges():
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


@pytest.mark.parametrize("good,votes,verdict", [
    (29, 29, "not_enough"),
    (27, 30, "keep"),      # Wilson low 0.744
    (21, 30, "improve"),   # (0.521, 0.833)
    (6, 30, "drop"),       # high 0.373
    (10, 30, "improve"),   # high 0.510
])
def test_trial_verdicts_follow_the_written_rules(good, votes, verdict):
    assert trial_verdict(good, votes)[0] == verdict


@pytest.mark.parametrize("good,votes,fair,prior,verdict", [
    (27, 30, 4.30, 3.80, "keep"),     # Wilson low 0.744 and better than the canteen's mean
    (27, 30, 3.70, 3.80, "improve"),  # liked, but no better than an average dish
    (21, 30, 2.90, 3.80, "drop"),     # interval (0.521, 0.833) alone says improve; 2.90 < 3.80 − 0.75
    (21, 30, 3.10, 3.80, "improve"),  # 3.10 ≥ 3.05: within the margin
    (6, 30, 4.00, 3.80, "drop"),      # Wilson high 0.373 < 0.40 whatever the fair score
])
def test_trial_verdicts_weigh_the_fair_score_against_the_canteen_mean(good, votes, fair, prior, verdict):
    assert trial_verdict(good, votes, fair=fair, prior=prior)[0] == verdict


def test_trial_rules_can_be_tightened():
    assert trial_verdict(21, 30)[0] == "improve"
    assert trial_verdict(21, 30, TrialRules(min_votes=30, keep_low=0.5, drop_high=0.4))[0] == "keep"


def test_small_groups_are_suppressed():
    assert suppressed(4) and not suppressed(5) and suppressed(9, k=10)
