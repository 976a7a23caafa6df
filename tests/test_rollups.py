"""The report rollups kept by database triggers equal a fresh count of the votes, whatever
happens to the votes: inserts, tags, replacements, flags, flags lifted, deletions."""
import datetime as dt
import random

from canteen.feedback.models import Rating, RatingTag
from canteen.feedback.rollups import rebuild
from canteen.models import database


def snapshot(grain="rollup"):
    votes = sorted(tuple(str(v) for v in row) for row in database.execute_sql(
        f"SELECT day, meal, dish_id, place, shift, n, s1, s2, s3, s4, s5, flagged, replaced FROM vote_{grain} "
        "WHERE n <> 0 OR flagged <> 0 OR replaced <> 0").fetchall())
    tags = sorted(tuple(str(v) for v in row) for row in database.execute_sql(
        f"SELECT day, meal, dish_id, tag, n FROM tag_{grain} WHERE n <> 0").fetchall())
    return votes, tags


def by_month(rows, value_columns):
    """Day rows summed into month rows, as the month rollups should hold them."""
    out = {}
    for row in rows:
        key = (row[0][:8] + "01",) + row[1:-value_columns]
        out[key] = [a + int(b) for a, b in zip(out.get(key, [0] * value_columns), row[-value_columns:])]
    return sorted(key + tuple(str(v) for v in values) for key, values in out.items())


def test_rollups_follow_every_change_to_the_votes(app, dishes):
    rng = random.Random(8)
    ids = [d.id for d in dishes.values()]
    with app.app_context(), database.connection_context():
        made = []
        for i in range(300):
            rating = Rating.create(
                dish=rng.choice(ids), score=rng.randint(1, 5), channel="kiosk", client_id=f"r{i}",
                day=dt.date(2026, rng.choice((10, 11)), rng.choice((1, 5, 30))), meal=rng.choice(("lunch", "night")),
                place=rng.choice(("lamp-room", "", None)), shift=rng.choice(("early", "night", None)),
                flag="burst" if rng.random() < 0.1 else None)
            for tag in rng.sample(["too_salty", "cold", "tasty"], rng.randint(0, 2)):
                RatingTag.create(rating=rating, tag=tag)
            made.append(rating.id)
        for rid in rng.sample(made, 60):  # replaced by a later vote
            Rating.update(replaced_by=rng.choice(made)).where(Rating.id == rid).execute()
        for rid in rng.sample(made, 30):  # flagged later, or a flag lifted
            Rating.update(flag=rng.choice(("burst", None))).where(Rating.id == rid).execute()
        Rating.update(replaced_by=None).where(Rating.id.in_(rng.sample(made, 20))).execute()
        for rid in rng.sample(made, 20):  # hand-made fixes: another score, day, dish, place
            Rating.update(score=rng.randint(1, 5), day=dt.date(2026, 10, 2), dish=rng.choice(ids),
                          place=rng.choice(("bath-house", None))).where(Rating.id == rid).execute()
        RatingTag.delete().where(RatingTag.rating.in_(rng.sample(made, 40))).execute()  # chips removed
        Rating.delete().where(Rating.id.in_(rng.sample(made, 15))).execute()
        kept, months = snapshot(), snapshot("month")
        assert months == (by_month(kept[0], 8), by_month(kept[1], 1))
        assert {row[0][8:] for row in months[0]} == {"01"} and len(months[0]) < len(kept[0])
        assert sum(int(row[5]) for row in kept[0]) == Rating.counted().count()
        assert sum(int(row[11]) for row in kept[0]) == Rating.select().where(Rating.flag.is_null(False)).count()
        assert sum(int(row[12]) for row in kept[0]) == Rating.select().where(
            Rating.flag.is_null() & Rating.replaced_by.is_null(False)).count()
        assert sum(int(row[4]) for row in kept[1]) == (RatingTag.select().join(Rating).where(
            Rating.replaced_by.is_null() & Rating.flag.is_null()).count())
        rebuild()
        assert snapshot() == kept and snapshot("month") == months


def test_reports_over_whole_months_read_the_month_rollups_and_agree_with_the_days(app, dishes):
    from canteen.reports.figures import spans, sums_by, tag_counts
    from canteen.reports.filters import Filters
    rng = random.Random(9)
    with app.app_context(), database.connection_context():
        for i in range(200):
            rating = Rating.create(dish=rng.choice([d.id for d in dishes.values()]), score=rng.randint(1, 5),
                                   channel="kiosk", client_id=f"m{i}", meal="lunch",
                                   day=dt.date(2026, 9, 20) + dt.timedelta(days=rng.randint(0, 80)))
            if rng.random() < 0.5:
                RatingTag.create(rating=rating, tag="cold")
        span = Filters(dt.date(2026, 9, 25), dt.date(2026, 12, 3))
        assert [monthly for monthly, _s in spans(span, ("dish",))] == [True, False, False]
        by_day = {}
        for (_day, dish), sums in sums_by(span, "day", "dish").items():  # days only
            by_day.setdefault((dish,), []).append(sums.faces)
        assert {k: v.faces for k, v in sums_by(span, "dish").items()} == \
            {k: [sum(col) for col in zip(*faces)] for k, faces in by_day.items()}
        tags_by_day = {}
        for (_day, tag), n in tag_counts(span, "day").items():
            tags_by_day[tag] = tags_by_day.get(tag, 0) + n
        assert sum(tag_counts(span, "dish").values()) == sum(tags_by_day.values()) > 0
