"""Fair numbers for the union's reports — pure functions, no Flask, no database.

- A *fair score* pulls a dish's mean toward the canteen's overall mean by a prior worth
  `prior_weight` votes (a Bayesian average), so 3 votes of 5 cannot beat 300 votes of 4.2.
- The share of good votes (4–5) comes with its Wilson 95 % interval, honest for few votes.
- A trial verdict follows written rules on those numbers (see `trial_verdict`).
- Groups with fewer than `k` voters are suppressed, so no breakdown can point at a person.
"""
import math
from typing import NamedTuple

Z95 = 1.959964


def bayesian_average(score_sum, votes, prior_mean, prior_weight):
    """(prior_weight × prior_mean + Σ scores) ÷ (prior_weight + votes)."""
    if votes < 0 or prior_weight < 0:
        raise ValueError("votes and prior weight cannot be negative")
    if votes + prior_weight == 0:
        return None
    return (prior_weight * prior_mean + score_sum) / (prior_weight + votes)


def wilson_interval(good, votes, z=Z95):
    """The Wilson score interval (low, high) for good ÷ votes; None without votes."""
    if not 0 <= good <= votes:
        raise ValueError("good must be between 0 and votes")
    if votes == 0:
        return None
    p = good / votes
    denominator = 1 + z * z / votes
    centre = (p + z * z / (2 * votes)) / denominator
    margin = z * math.sqrt(p * (1 - p) / votes + z * z / (4 * votes * votes)) / denominator
    # The interval always holds p; rounding alone can put 0.9999999999999999 under p = 1.
    return max(0.0, min(p, centre - margin)), min(1.0, max(p, centre + margin))


class TrialRules(NamedTuple):
    """The written rules for a dish on trial, on its trial-period votes:

    1. fewer than `min_votes` counted votes: not enough votes yet;
    2. keep: even the pessimistic end of the good share's interval (Wilson low) reaches
       `keep_low`, and the fair score is at least the canteen's mean (the prior);
    3. drop: even the optimistic end (Wilson high) stays under `drop_high`, or the fair score
       is more than `drop_margin` under the canteen's mean;
    4. improve: everything in between (liked by some, not clearly by most).
    """
    min_votes: int = 30
    keep_low: float = 0.60
    drop_high: float = 0.40
    drop_margin: float = 0.75


def trial_verdict(good, votes, rules=TrialRules(), fair=None, prior=None):
    """("keep" | "improve" | "drop" | "not_enough", (Wilson low, high) or None). Without `fair`
    and `prior` only the interval rules apply."""
    if votes < rules.min_votes:
        return "not_enough", None
    low, high = wilson_interval(good, votes)
    compare = fair is not None and prior is not None
    if low >= rules.keep_low and (not compare or fair >= prior):
        return "keep", (low, high)
    if high < rules.drop_high or (compare and fair < prior - rules.drop_margin):
        return "drop", (low, high)
    return "improve", (low, high)


def suppressed(voters, k=5):
    """True when a group is too small to show without pointing at someone."""
    return voters < k
