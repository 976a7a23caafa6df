"""The report rollups kept by database triggers equal a fresh count of the votes, whatever
happens to the votes: inserts, tags, replacements, flags, flags lifted, deletions."""
import datetime as dt
import random

from canteen.models import Rating, RatingTag, database
from canteen.rollups import rebuild


def snapshot():
    votes = sorted(tuple(str(v) for v in row) for row in database.execute_sql(
        "SELECT day, meal, dish_id, place, shift, n, s1, s2, s3, s4, s5, flagged, replaced FROM vote_rollup "
        "WHERE n <> 0 OR flagged <> 0 OR replaced <> 0").fetchall())
    tags = sorted(tuple(str(v) for v in row) for row in database.execute_sql(
        "SELECT day, meal, dish_id, tag, n FROM tag_rollup WHERE n <> 0").fetchall())
    return votes, tags


def test_rollups_follow_every_change_to_the_votes(app, dishes):
    rng = random.Random(8)
    ids = [d.id for d in dishes.values()]
    with app.app_context(), database.connection_context():
        made = []
        for i in range(300):
            rating = Rating.create(
                dish=rng.choice(ids), score=rng.randint(1, 5), channel="kiosk", client_id=f"r{i}",
                day=dt.date(2026, 11, rng.randint(1, 5)), meal=rng.choice(("lunch", "night")),
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
        Rating.delete().where(Rating.id.in_(rng.sample(made, 15))).execute()
        kept = snapshot()
        assert sum(int(row[5]) for row in kept[0]) == Rating.counted().count()
        assert sum(int(row[11]) for row in kept[0]) == Rating.select().where(Rating.flag.is_null(False)).count()
        assert sum(int(row[12]) for row in kept[0]) == Rating.select().where(
            Rating.flag.is_null() & Rating.replaced_by.is_null(False)).count()
        assert sum(int(row[4]) for row in kept[1]) == (RatingTag.select().join(Rating).where(
            Rating.replaced_by.is_null() & Rating.flag.is_null()).count())
        rebuild()
        assert snapshot() == kept
