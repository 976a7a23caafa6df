"""Command line for dishes, menus and the food-safety registers.

    flask --app app dish add 土豆丝 "Potato strips" 4.00 --category vegetable
    flask --app app dish list
    flask --app app menu plan 2026-11-27 lunch 3 5 8
    flask --app app menu show 2026-11-27
    flask --app app register add suppliers --name 肉联厂 --licence-no SC1 --licence-expiry 2027-06-30
    flask --app app register list units --json
    flask --app app register add trainings --staff 3 --topic tableware --day 2026-11-20
    flask --app app register retire suppliers 4        # or: reactivate
"""
import datetime as dt
import json
import random
import unicodedata
from decimal import Decimal, InvalidOperation

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from peewee import IntegrityError

from . import audit, demo
from .audit import verify_audit_command
from .clock import clock
from .jobs.backup import restore_command
from .jobs.delivery import deliveries_cli
from .jobs.scheduler import scheduler_command
from .models import Dish, MenuItem, database
from .office.forms import printable
from .safety import registers
from .safety.service import purge_command
from .vocabulary import CATEGORIES
from .web import MAX_ID

dish_cli = AppGroup("dish", help="Add, list and retire dishes.")
menu_cli = AppGroup("menu", help="Plan and show menus.")
register_cli = AppGroup("register", help="List and add suppliers, storage units, staff and trainings; "
                                          "retire or reactivate entries.")
REGISTER_KINDS = [*registers.REGISTERS, "trainings"]


def price_to_fen(text):
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise click.BadParameter(f"{text!r} is not a price in yuan, e.g. 8 or 12.50") from None
    if value < 0 or value != value.quantize(Decimal("0.01")):
        raise click.BadParameter("a price is yuan with at most two decimals, not negative")
    return int(value * 100)


def parse_day(text):
    if text in ("today", "tomorrow"):
        return clock().today() + dt.timedelta(days=text == "tomorrow")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date like 2026-11-27 (or today, tomorrow)") from None


def meal_names():
    return [w.name for w in clock().windows]


@dish_cli.command("add")
@click.argument("name_zh")
@click.argument("name_en")
@click.argument("price")
@click.option("--category", type=click.Choice(sorted(CATEGORIES)), default="meat", show_default=True)
@click.option("--trial-days", type=click.IntRange(1, 365), help="Put the new dish on trial from today.")
def add_dish(name_zh, name_en, price, category, trial_days):
    """Add a dish: Chinese name, English name, price in yuan."""
    if not printable(name_zh) or not printable(name_en):
        raise click.BadParameter("a dish needs both a Chinese and an English name")
    fen = price_to_fen(price)
    trial_start = trial_end = None
    if trial_days:
        trial_start = clock().today()
        trial_end = trial_start + dt.timedelta(days=trial_days - 1)
    with database.atomic():
        dish = Dish.create(name_zh=printable(name_zh), name_en=printable(name_en), price_fen=fen,
                           category=category, trial_start=trial_start, trial_end=trial_end)
        audit.record("cli", "dish.create", "dish", dish.id, name_zh=dish.name_zh, price_fen=fen)
    click.echo(f"Added dish {dish.id}: {dish.name_zh} / {dish.name_en} ¥{fen / 100:.2f}")


@dish_cli.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include retired dishes.")
def list_dishes(show_all):
    """List dishes with their ids."""
    query = Dish.select().order_by(Dish.id)
    if not show_all:
        query = query.where(Dish.active)
    today = clock().today()
    trial_days = current_app.config["TRIAL_DAYS"]
    for d in query:
        flags = " [new]" if d.is_new_on(today, trial_days) else ""
        flags += "" if d.active else " [retired]"
        click.echo(f"{d.id:>4}  {d.name_zh}  /  {d.name_en}  ¥{d.price_fen / 100:.2f}  {d.category}{flags}")


@dish_cli.command("retire")
@click.argument("dish_id", type=int)
def retire_dish(dish_id):
    """Stop offering a dish (its votes are kept)."""
    with database.atomic():
        updated = Dish.update(active=False).where(Dish.id == dish_id).execute()
        if updated:
            audit.record("cli", "dish.retire", "dish", dish_id)
    if not updated:
        raise click.ClickException(f"There is no dish {dish_id}.")
    click.echo(f"Retired dish {dish_id}.")


@menu_cli.command("plan")
@click.argument("day")
@click.argument("meal")
@click.argument("dish_ids", nargs=-1, type=int, required=True)
def plan_menu(day, meal, dish_ids):
    """Serve DISH_IDS at MEAL on DAY (replaces that meal's plan)."""
    day = parse_day(day)
    if meal not in meal_names():
        raise click.BadParameter(f"meal must be one of {', '.join(meal_names())}", param_hint="MEAL")
    known = {d.id for d in Dish.select(Dish.id).where(Dish.id.in_(dish_ids) & Dish.active)}
    missing = [i for i in dish_ids if i not in known]
    if missing:
        raise click.ClickException(f"No active dish with id {', '.join(map(str, missing))}.")
    try:
        with database.atomic():
            MenuItem.delete().where((MenuItem.day == day) & (MenuItem.meal == meal)).execute()
            MenuItem.insert_many([(day, meal, i, pos) for pos, i in enumerate(dict.fromkeys(dish_ids))],
                                 fields=[MenuItem.day, MenuItem.meal, MenuItem.dish,
                                         MenuItem.position]).execute()
            audit.record("cli", "menu.plan", "menu", f"{day}/{meal}", after=list(dict.fromkeys(dish_ids)))
    except IntegrityError as e:
        raise click.ClickException(f"Could not plan the menu: {e}") from None
    click.echo(f"Planned {len(set(dish_ids))} dish(es) for {meal} on {day}.")


@menu_cli.command("show")
@click.argument("day", default="today")
def show_menu(day):
    """Show every meal planned for DAY (default today)."""
    day = parse_day(day)
    for meal in meal_names():
        names = [d.name_zh for d in Dish.served_on(day, meal)]
        click.echo(f"{day} {meal:<9} {'、'.join(names) if names else '(nothing planned)'}")


def register_rows(kind, staff_id):
    if kind != "trainings":
        return list(registers.entries(kind))
    if staff_id is None:
        raise click.BadParameter("trainings are listed per person: give --staff ID", param_hint="--staff")
    return list(registers.trainings_of(staff_of(staff_id)))


def staff_of(staff_id):
    from .safety.models import Staff

    person = Staff.get_or_none(Staff.id == staff_id)
    if person is None:
        raise click.ClickException(f"There is no staff member {staff_id}.")
    return person


@register_cli.command("list")
@click.argument("kind", type=click.Choice(REGISTER_KINDS))
@click.option("--staff", "staff_id", type=int, help="Whose trainings (for KIND trainings).")
@click.option("--json", "as_json", is_flag=True, help='Print {"items": [...]} as the API answers.')
def list_register(kind, staff_id, as_json):
    """List a register (with ids, which log entries and the API name)."""
    items = [registers.as_json(kind, row) for row in register_rows(kind, staff_id)]
    if as_json:
        click.echo(json.dumps({"items": items}, ensure_ascii=False, indent=2))
        return
    if not items:
        click.echo("(empty)")
        return
    columns = list(items[0])
    cells = [[("—" if item[c] is None else str(item[c])) for c in columns] for item in items]
    widths = [max(shown_width(c), *(shown_width(row[i]) for row in cells)) for i, c in enumerate(columns)]
    for row in [columns, *cells]:
        click.echo("  ".join(cell + " " * (w - shown_width(cell)) for cell, w in zip(row, widths)).rstrip())


def shown_width(text):
    """Columns a terminal gives `text`: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def register_options(command):
    """One --option per field of any register (a field KIND does not have is refused)."""
    names = dict.fromkeys(f for _model, fields in registers.REGISTERS.values() for f, _t, _l in fields)
    names.update(dict.fromkeys(f for f, _t, _l in registers.TRAINING_FIELDS))
    for name in reversed(names):
        command = click.option(f"--{name.replace('_', '-')}", name, default=None)(command)
    return command


@register_cli.command("add")
@click.argument("register_kind", metavar="KIND", type=click.Choice(REGISTER_KINDS))
@click.option("--staff", "staff_id", type=int, help="Whose training (for KIND trainings).")
@register_options
def add_to_register(register_kind, staff_id, **fields):
    """Add an entry to a register, validated and audited as the back-office form does."""
    kind = register_kind  # --kind is a storage unit's type
    types = dict((f, t) for _m, fs in registers.REGISTERS.values() for f, t, _l in fs)
    given = {name: (int(value) if types.get(name) == "staff" and value.isdigit() else value)
             for name, value in fields.items() if value is not None}
    try:
        if kind == "trainings":
            if staff_id is None:
                raise click.BadParameter("a training is someone's: give --staff ID", param_hint="--staff")
            row = registers.add_training(staff_of(staff_id), given, "cli", strict=True)
        else:
            row = registers.add(kind, given, "cli", strict=True)
    except registers.RegisterErrors as e:
        raise click.ClickException("; ".join(f"{field}: {message}" for field, message in e.errors.items())) from None
    click.echo(json.dumps(registers.as_json(kind, row), ensure_ascii=False))


def set_register_active(kind, entry_id, active):
    row = registers.find(kind, entry_id)
    if row is None:
        raise click.ClickException(f"There is no entry {entry_id} in {kind}.")
    row = registers.set_active(kind, row, active, "cli")
    click.echo(json.dumps(registers.as_json(kind, row), ensure_ascii=False))


@register_cli.command("retire")
@click.argument("kind", type=click.Choice(list(registers.REGISTERS)))
@click.argument("entry_id", metavar="ID", type=click.IntRange(1, MAX_ID))
def retire_register_entry(kind, entry_id):
    """Take an entry out of use (records that name it keep their link), audited as the form does."""
    set_register_active(kind, entry_id, False)


@register_cli.command("reactivate")
@click.argument("kind", type=click.Choice(list(registers.REGISTERS)))
@click.argument("entry_id", metavar="ID", type=click.IntRange(1, MAX_ID))
def reactivate_register_entry(kind, entry_id):
    """Bring an entry taken out of use back into use, audited as the form does."""
    set_register_active(kind, entry_id, True)


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Fill an empty database with the demo canteen."""
    if Dish.select().exists():
        raise click.ClickException("The database already has dishes; the demo only seeds an empty one.")
    demo.seed(clock().today(), random.Random(2026))
    click.echo(f"Seeded {Dish.select().count()} dishes with menus and votes.")


def init_app(app):
    for command in (dish_cli, menu_cli, register_cli, seed_demo, verify_audit_command, purge_command, restore_command,
                    scheduler_command, deliveries_cli):
        app.cli.add_command(command)
