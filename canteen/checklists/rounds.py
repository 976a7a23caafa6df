"""4D inspection rounds as data (rounds.toml) and their scoring. Pure."""
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..bilingual import Bilingual

ROUNDS_FILE = Path(__file__).with_name("rounds.toml")


@dataclass(frozen=True)
class Grade(Bilingual):
    code: str
    zh: str
    en: str
    points: int


@dataclass(frozen=True)
class RoundItem(Bilingual):
    id: str
    d: str
    zh: str
    en: str


@dataclass(frozen=True)
class Area(Bilingual):
    name: str
    zh: str
    en: str
    items: tuple


@dataclass(frozen=True)
class Rounds:
    version: str
    grades: tuple
    areas: dict

    def grade(self, code):
        return next(g for g in self.grades if g.code == code)

    @property
    def best(self):
        return max(g.points for g in self.grades)


def load(path=ROUNDS_FILE):
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    grades = tuple(Grade(*g) for g in raw["grades"])
    areas = {name: Area(name, a["zh"], a["en"], tuple(RoundItem(**i) for i in a["items"]))
             for name, a in raw["areas"].items()}
    return Rounds(str(raw["version"]), grades, areas)


def score(rounds, grades):
    """(points, maximum, rate in %) for {item id: grade code}."""
    points = sum(rounds.grade(code).points for code in grades.values())
    maximum = rounds.best * len(grades)
    return points, maximum, round(100 * points / maximum, 1) if maximum else None


def score_by_d(rounds, area, grades):
    """{d: rate in %} for one round."""
    by_d = {}
    for item in area.items:
        if item.id in grades:
            by_d.setdefault(item.d, []).append(rounds.grade(grades[item.id]).points)
    return {d: round(100 * sum(p) / (rounds.best * len(p)), 1) for d, p in by_d.items()}


ROUNDS = load()


def rate_with_open_findings(rounds, points, open_critical):
    """A D's score rate over its graded items, where each open critical finding of that D
    counts as one more item graded at the worst grade: rounds alone cannot hide a reading
    that is still unsafe. None when there is nothing to score."""
    n = len(points) + open_critical
    if not n:
        return None
    worst = min(g.points for g in rounds.grades)
    return round(100 * (sum(points) + worst * open_critical) / (rounds.best * n), 1)
