"""A living demo canteen: northern-Shaanxi dishes, four meals a day, weeks of votes.

Seeded once into an empty database when the app serves with CANTEEN_DEMO=1 (never by a CLI
command other than `seed-demo`). The database remembers what it is (AppSetting "demo": "1" for
a demo, "0" for a real installation), so a real database never receives the demo later. A
demo database keeps its menus rolling forward, so the kiosk still has dishes weeks later.
"""
import datetime as dt
import random

import click
from flask.cli import with_appcontext
from peewee import PostgresqlDatabase, fn, sort_models

from . import audit
from .clock import clock
from .config import ConfigError
from .feedback import follow_up
from .feedback.models import DishChange, Rating, RatingTag, TrialDecision
from .models import AppSetting, BaseModel, Dish, MenuItem, database
from .office.accounts import User
from .reports.models import Suggestion, SuggestionBacker, SuggestionStep
from .safety.models import Staff, StorageUnit, Supplier, Training

# name_zh, name_en, price in fen, category, quality (mean score the demo votes lean to)
DISHES = [
    ("臊子面", "Saozi noodles", 800, "noodles", 4.3),
    ("油泼面", "Hot-oil noodles", 700, "noodles", 4.5),
    ("biangbiang面", "Biangbiang noodles", 900, "noodles", 4.1),
    ("饸饹面", "Hele noodles", 600, "noodles", 3.6),
    ("肉夹馍", "Roujiamo (meat in flatbread)", 600, "snack", 4.6),
    ("凉皮", "Liangpi cold noodles", 500, "snack", 3.9),
    ("羊肉泡馍", "Mutton paomo", 1500, "soup", 4.2),
    ("洋芋擦擦", "Steamed shredded potato", 400, "vegetable", 3.4),
    ("红烧肉", "Braised pork belly", 1200, "meat", 4.4),
    ("回锅肉", "Twice-cooked pork", 1000, "meat", 3.8),
    ("宫保鸡丁", "Kung pao chicken", 1000, "meat", 3.7),
    ("鱼香肉丝", "Yuxiang shredded pork", 900, "meat", 3.5),
    ("麻婆豆腐", "Mapo tofu", 500, "vegetable", 3.9),
    ("西红柿炒鸡蛋", "Tomato and egg stir-fry", 500, "vegetable", 4.0),
    ("酸辣土豆丝", "Hot and sour potato strips", 400, "vegetable", 3.3),
    ("青椒肉丝", "Green pepper shredded pork", 800, "meat", 3.6),
    ("红烧排骨", "Braised spare ribs", 1500, "meat", 4.1),
    ("大盘鸡", "Big plate chicken", 1400, "meat", 4.0),
    ("清炒时蔬", "Stir-fried seasonal greens", 400, "vegetable", 3.2),
    ("蒸馒头", "Steamed bun", 50, "staple", 3.8),
    ("花卷", "Flower roll", 80, "staple", 3.7),
    ("包子", "Baozi (stuffed bun)", 150, "staple", 4.0),
    ("小米粥", "Millet porridge", 100, "soup", 4.1),
    ("鸡蛋汤", "Egg drop soup", 100, "soup", 3.4),
    ("胡辣汤", "Hula soup", 200, "soup", 3.9),
    ("油条", "Youtiao (fried dough stick)", 100, "staple", 3.5),
    ("茶叶蛋", "Tea egg", 100, "snack", 3.6),
    ("米饭", "Steamed rice", 50, "staple", 3.5),
]
# New dishes the union asked for, and how many days ago each trial began (28-day trials:
# one still running, two with a verdict to decide on).
TRIAL = {"biangbiang面": 10, "大盘鸡": 34, "胡辣汤": 40}

# Which kinds of dish each meal draws from, and how many of each.
MEAL_PLAN = {
    "breakfast": {"staple": 3, "soup": 2, "snack": 1},
    "lunch": {"noodles": 2, "meat": 3, "vegetable": 2, "staple": 2, "soup": 1},
    "dinner": {"noodles": 1, "meat": 3, "vegetable": 3, "staple": 2, "soup": 1},
    "night": {"noodles": 1, "meat": 2, "vegetable": 1, "staple": 2, "soup": 1},
}
# Demo accounts, one per role, so a newcomer can try the back office (README says so).
DEMO_PASSWORD = "canteen-demo"
DEMO_USERS = {"admin": "admin", "manager": "manager", "union": "union"}
DAYS_BACK = 56
DAYS_AHEAD = 6
KIOSKS = ("canteen-exit", "canteen-exit", "lamp-room", "bath-house")
LOW = ("too_salty", "too_oily", "cold", "small_portion", "too_bland", "too_expensive")
HIGH = ("tasty", "want_again")


def ensure_demo(app):
    """Seed an empty database, or roll an existing demo's menus forward to next week.
    A database that has served as a real installation ("demo" = "0") is left alone."""
    with app.app_context(), database.connection_context():
        today = clock().today()
        kind = AppSetting.read("demo")
        if kind is None and not Dish.select().exists():
            seed(today, random.Random(2026))
        elif kind == "1":
            plan_menus(today, today + dt.timedelta(days=DAYS_AHEAD), random.Random(today.toordinal()))


def ensure_real(app):
    """Serving with CANTEEN_DEMO=0: mark the database as a real installation, and refuse to
    start while any account still signs in with the published demo password."""
    with app.app_context(), database.connection_context():
        if AppSetting.read("demo") is None:
            AppSetting.write("demo", "0")
        names = demo_password_accounts()
    if names:
        raise ConfigError(
            f"CANTEEN_DEMO=0, but the account(s) {', '.join(names)} still sign in with the published "
            f"demo password {DEMO_PASSWORD!r}. Run `flask --app app remove-demo` (it deletes them), "
            "or give each a password of its own, then start again.")


def demo_password_accounts():
    """User names of the active accounts whose password is the published demo password."""
    return [u.username for u in User.select().where(User.active).order_by(User.username)
            if u.check_password(DEMO_PASSWORD)]


# What a demo database's --data removal keeps: who may sign in, devices, the audit trail.
KEEP_TABLES = {"user", "user_session", "login_attempt", "api_token", "kiosk", "audit_entry", "app_setting"}


def demo_tables():
    """Every model whose rows belong to the demo canteen, children before parents."""
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    models = sort_models(list(set(subclasses(BaseModel))))
    return [m for m in reversed(models) if m._meta.table_name not in KEEP_TABLES]


@click.command("remove-demo")
@click.option("--data", is_flag=True, help="Also delete the demo canteen's dishes, menus, votes, registers "
                                           "and logs (only in a database that the demo seeded).")
@click.option("--yes", is_flag=True, help="Do not ask before deleting the data.")
@with_appcontext
def remove_demo_command(data, yes):
    """Delete every account that signs in with the demo password; the database stops being a demo."""
    if data and AppSetting.read("demo") != "1":
        raise click.ClickException("This database was not seeded by the demo; --data deletes nothing here.")
    if data and not yes:
        click.confirm("Delete every dish, menu, vote, register entry and log of the demo?", abort=True)
    names = demo_password_accounts()
    with database.atomic():
        for name in names:
            user = User.by_username(name)
            user.delete_instance()
            audit.record("cli", "user.delete", "user", user.id, username=name, reason="demo password")
        if data:
            # rows under the audit chain are recorded as removed, so verify-audit still holds
            covered = set(audit.COVERED.values())
            removed = [(m, ident) for m in demo_tables() if m in covered
                       for (ident,) in m.select(m._meta.primary_key).tuples()]
            counts = {m._meta.table_name: m.delete().execute() for m in demo_tables()}
            audit.record("cli", "demo.remove", "database", None, removed=removed, deleted=counts)
        AppSetting.write("demo", "0")
    for name in names:
        click.echo(f"Deleted account {name} (it signed in with the demo password).")
    if data:
        click.echo(f"Deleted the demo canteen's data ({sum(counts.values())} rows).")
    click.echo("The database is no longer a demo: its menus stop rolling forward. "
               "Create your own accounts with `flask --app app create-user`.")


def seed(today, rng):
    with database.atomic():
        for name_zh, name_en, price, category, _q in DISHES:
            trial = today - dt.timedelta(days=TRIAL[name_zh]) if name_zh in TRIAL else None
            Dish.create(name_zh=name_zh, name_en=name_en, price_fen=price, category=category,
                        trial_start=trial)
        AppSetting.write("demo", "1")
        seed_registers(today)
        if not User.select().exists():
            for username, role in DEMO_USERS.items():
                user = User(username=username, display_name=f"demo {role}")
                user.set_roles([role])
                user.set_password(DEMO_PASSWORD)
                user.save()
        plan_menus(today - dt.timedelta(days=DAYS_BACK), today + dt.timedelta(days=DAYS_AHEAD), rng)
        seed_ratings(today, rng)
        seed_suggestions(today)
        audit.seal("cli", "demo.seed")  # the demo's registers and suggestions, bound into the audit chain


def plan_menus(first, last, rng):
    """Plan every meal of every day from `first` to `last` that has nothing planned yet."""
    meals = [w.name for w in clock().windows]
    by_category = {}
    for dish in Dish.select().where(Dish.active):
        by_category.setdefault(dish.category, []).append(dish.id)
    planned = set(MenuItem.select(MenuItem.day, MenuItem.meal)
                  .where(MenuItem.day.between(first, last)).tuples())
    rows = []
    day = first
    while day <= last:
        for meal in meals:
            if (day, meal) in planned:
                continue
            picks = []
            for category, count in MEAL_PLAN.get(meal, MEAL_PLAN["lunch"]).items():
                pool = by_category.get(category, [])
                picks += rng.sample(pool, min(count, len(pool)))
            rows += [(day, meal, dish_id, pos) for pos, dish_id in enumerate(picks)]
        day += dt.timedelta(days=1)
    if rows:
        MenuItem.insert_many(rows, fields=[MenuItem.day, MenuItem.meal, MenuItem.dish,
                                           MenuItem.position]).execute()


COMMENTS = ("面再筋道一点就好了", "今天的汤有点凉", "分量可以再多一点", "师傅辛苦了，很好吃！", "能不能少放点盐",
            "Portion was small for a 12-hour shift", "Please keep this dish!", "希望夜班也有这个菜")
SAFETY_COMMENT = "汤里吃出一根头发"
RECIPE_CHANGE_DAYS = 21  # the demo's braised pork got less salt three weeks ago


def seed_ratings(today, rng):
    """About seven votes per dish and meal over the past eight weeks, each dish leaning to its
    own quality; the braised pork's recipe change shows in its chart. Inserted in bulk."""
    quality = {d[0]: d[4] for d in DISHES}
    windows = {w.name: w for w in clock().windows}
    changed = today - dt.timedelta(days=RECIPE_CHANGE_DAYS)
    served = (MenuItem.select(MenuItem.day, MenuItem.meal, Dish.id, Dish.name_zh)
              .join(Dish)
              .where(MenuItem.day.between(today - dt.timedelta(days=DAYS_BACK),
                                          today - dt.timedelta(days=1)))
              .order_by(MenuItem.day, MenuItem.meal, MenuItem.position)
              .tuples())
    votes, tags, safety = [], [], None
    next_id = (Rating.select(fn.MAX(Rating.id)).scalar() or 0) + 1
    for day, meal, dish_id, name in served:
        lean = quality[name]
        salty = name == "红烧肉" and day < changed
        if salty:
            lean = 3.4
        for _ in range(rng.randint(2, 12)):
            score = max(1, min(5, round(rng.gauss(lean, 0.9))))
            _start, end = windows[meal].occurrence(day)
            voted = end - dt.timedelta(minutes=rng.randint(0, 50))
            channel = rng.choice(("kiosk", "kiosk", "phone"))
            comment = rng.choice(COMMENTS) if channel == "phone" and rng.random() < 0.05 else None
            if comment and safety is None and meal == "lunch" and day > today - dt.timedelta(days=5):
                comment = SAFETY_COMMENT
                safety = (next_id, dish_id, day, meal)
            votes.append({"id": next_id, "dish": dish_id, "score": score, "channel": channel,
                          "kiosk": rng.choice(KIOSKS) if channel == "kiosk" else None,
                          "client_id": f"demo-{day:%Y%m%d}-{meal}-{next_id:06d}", "day": day, "meal": meal,
                          "created_at": clock().local_to_utc(voted), "voted_at": clock().local_to_utc(voted),
                          "comment": comment, "place": rng.choice(KIOSKS) if channel == "kiosk" else "dining-hall",
                          "shift": clock().shift(voted)})
            if salty and score <= 3 and rng.random() < 0.7:
                tags.append((next_id, "too_salty"))
            elif score != 3 and rng.random() < 0.6:
                tags.append((next_id, rng.choice(LOW if score <= 2 else HIGH)))
            next_id += 1
    for i in range(0, len(votes), 500):
        Rating.insert_many(votes[i:i + 500]).execute()
    move_sequence(Rating)
    for i in range(0, len(tags), 500):
        RatingTag.insert_many(tags[i:i + 500], fields=[RatingTag.rating, RatingTag.tag]).execute()
    if safety:
        dish = Dish.get_by_id(safety[1])
        follow_up.raise_safety_comment(safety[0], dish.name_zh, dish.name_en, safety[2], safety[3], ["头发"])
    pork = Dish.get(Dish.name_zh == "红烧肉")
    DishChange.create(dish=pork, day=changed, kind="recipe", note="少放盐 less salt", author="user:manager")
    chicken = Dish.get(Dish.name_zh == "大盘鸡")
    TrialDecision.create(dish=chicken, decision="keep", suggested="keep", author="user:manager",
                                  note="职工代表建议保留 kept at the workers' request",
                                  decided_at=clock().local_to_utc(clock().now() - dt.timedelta(days=2)))


def move_sequence(model):
    """After inserting explicit ids, PostgreSQL's sequence must move past them, or the next
    ordinary insert collides with a demo row (SQLite takes MAX(id) + 1 by itself)."""
    if isinstance(database.obj, PostgresqlDatabase):
        table = model._meta.table_name
        database.execute_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")


def seed_registers(today):
    """A kitchen's registers, so the food-safety logs have people, suppliers and fridges."""
    cooks = [Staff.create(name=name, job=job, health_cert_no=f"HC-2026-{i:03d}",
                          health_cert_expiry=today + dt.timedelta(days=days))
             for i, (name, job, days) in enumerate((("王建国", "厨师长", 240), ("李秀兰", "面点师", 25),
                                                     ("张伟", "切配", 400), ("刘芳", "洗消", 180)), 1)]
    topics = {0: ("4d", "procurement", "cooking", "storage"), 1: ("4d", "cooking", "sample"),
              2: ("4d", "produce", "storage"), 3: ("4d", "tableware")}
    for i, cook in enumerate(cooks):
        for topic in topics[i]:
            Training.create(staff=cook, topic=topic, day=today - dt.timedelta(days=40), trainer="王建国")
    Supplier.create(name="黄陵县肉联厂", licence_no="SC10461063200123", licence_expiry=today + dt.timedelta(days=300))
    Supplier.create(name="延安绿丰蔬菜合作社", licence_no="JY16106320012345", licence_expiry=today + dt.timedelta(days=20))
    Supplier.create(name="陕北粮油公司", licence_no="SC10161060100456", licence_expiry=today - dt.timedelta(days=5))
    for name, kind in (("干货库", "dry"), ("1号冷库", "cold_room"), ("冷冻库", "freezer"), ("留样冰箱", "sample_fridge")):
        StorageUnit.create(name=name, kind=kind, owner=cooks[0], checker=cooks[2])


# The representatives' suggestions: one in each state, the two done ones linked to what the demo
# already holds (the big plate chicken's trial, kept; the braised pork's less-salt change), so
# their outcomes show on the suggestion pages and on the kiosk's "you asked, we changed".
# (kind, dish, text, team, backers, venue, days ago raised, steps: (step, days ago, note, link))
SUGGESTIONS = [
    ("new_dish", None, "想吃大盘鸡，夜班也要有 We'd like big plate chicken, on the night shift too", "综采二队",
     ("机电队", "运输队"), "committee", 40,
     (("accepted", 38, "试做大盘鸡四周 A four-week trial of big plate chicken", None),
      ("linked", 34, "", "trial:大盘鸡"),
      ("done", 1, "大盘鸡留在菜单上 Big plate chicken stays on the menu", None))),
    ("taste", "红烧肉", "红烧肉太咸了 The braised pork is too salty", "掘进一队", ("早班",), "teams", 26,
     (("accepted", 24, "少放盐，三周后看投票 Less salt; we look at the votes in three weeks", None),
      ("linked", 21, "", "change:红烧肉"),
      ("done", 2, "少放盐 Less salt", None))),
    ("portion", "红烧排骨", "12小时班，红烧排骨一份不够吃 A portion of braised ribs is not enough for a 12-hour shift",
     "综采一队", ("掘进二队",), "congress", 9,
     (("accepted", 6, "下周起每份排骨加到六块 From next week, six pieces of rib a portion", None),)),
    ("price", "羊肉泡馍", "羊肉泡馍降到10元 Bring mutton paomo down to 10 yuan", "运输队", (), "committee", 12,
     (("declined", 8, "羊肉进价涨了，15元已接近成本；每周三供应半份 Mutton costs more this year and 15 yuan is "
                      "close to cost; half portions every Wednesday instead", None),)),
    ("service", None, "夜班饭送到井下已经凉了，请用保温箱 The night meal is cold by the time it reaches "
                      "underground: please use insulated boxes", "通风队", ("机电队",), "teams", 3, ()),
]


DEMO_DUE_DAYS = {"new_dish": 35, "taste": 28}  # a four-week trial; three weeks of votes to compare


def seed_suggestions(today):
    """The suggestions above, every step dated as if the union and the manager had entered them."""
    def at(days_ago, hour):
        return clock().local_to_utc(dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(hour)))

    dishes = {d.name_zh: d for d in Dish.select()}
    for kind, dish, text, team, backers, venue, raised, steps in SUGGESTIONS:
        s = Suggestion.create(kind=kind, text=text, dish=dishes[dish] if dish else None, team=team, venue=venue,
                              raised_on=today - dt.timedelta(days=raised), author="user:union",
                              created_at=at(raised, 16))
        SuggestionStep.create(suggestion=s, step="recorded", author="user:union", at=at(raised, 16))
        for name in backers:
            SuggestionBacker.create(suggestion=s, team=name, author="user:union", created_at=at(raised, 16))
            SuggestionStep.create(suggestion=s, step="backed", note=name, author="user:union", at=at(raised, 16))
        for step, days_ago, note, link in steps:
            when = at(days_ago, 10)
            if link:
                what, name = link.split(":")
                if what == "trial":
                    s.trial_dish = dishes[name]
                else:
                    s.change = DishChange.get(DishChange.dish == dishes[name])
                note = f"{what}:{s.trial_dish_id or s.change_id}"
            else:
                s.status, s.answered_at = step, s.answered_at or when
                if step == "accepted":
                    s.plan, s.due = note, today - dt.timedelta(days=days_ago - DEMO_DUE_DAYS.get(kind, 14))
                elif step == "declined":
                    s.reason = note
                else:
                    s.done_at, s.plan = when, note
            SuggestionStep.create(suggestion=s, step=step, note=note, author="user:manager", at=when)
        s.save()
