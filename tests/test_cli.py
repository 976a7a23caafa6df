"""The dish and menu command line, on a real database."""
from canteen.clock import clock
from canteen.models import Dish, MenuItem, database


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_add_plan_and_show_a_menu(sqlite_app):
    assert "Added dish 1" in run(sqlite_app, "dish", "add", "土豆丝", "Potato strips", "4.50",
                                 "--category", "vegetable", "--trial-days", "14").output
    run(sqlite_app, "dish", "add", "馒头", "Steamed bun", "0.5", "--category", "staple")
    result = run(sqlite_app, "menu", "plan", "today", "lunch", "2", "1")
    assert result.exit_code == 0, result.output
    with sqlite_app.app_context(), database.connection_context():
        dish = Dish.get_by_id(1)
        assert (dish.price_fen, dish.category) == (450, "vegetable")
        assert dish.is_new_on(clock().today(), 28)
        assert [d.name_zh for d in Dish.served_on(clock().today(), "lunch")] == ["馒头", "土豆丝"]
    assert "土豆丝" in run(sqlite_app, "menu", "show").output
    assert "[new]" in run(sqlite_app, "dish", "list").output


def test_planning_again_replaces_the_meal(sqlite_app):
    run(sqlite_app, "dish", "add", "米饭", "Rice", "0.5")
    run(sqlite_app, "dish", "add", "面条", "Noodles", "6")
    run(sqlite_app, "menu", "plan", "2026-12-01", "dinner", "1", "2")
    run(sqlite_app, "menu", "plan", "2026-12-01", "dinner", "2")
    with sqlite_app.app_context(), database.connection_context():
        assert [m.dish_id for m in MenuItem.select()] == [2]


def test_bad_input_is_explained_and_changes_nothing(sqlite_app):
    run(sqlite_app, "dish", "add", "米饭", "Rice", "0.5")
    for args, words in [
        (("dish", "add", "x", "y", "1.234"), "two decimals"),
        (("dish", "add", "x", "y", "cheap"), "not a price"),
        (("dish", "add", " ", "y", "1"), "Chinese and an English name"),
        (("menu", "plan", "someday", "lunch", "1"), "not a date"),
        (("menu", "plan", "today", "brunch", "1"), "meal must be one of"),
        (("menu", "plan", "today", "lunch", "1", "99"), "No active dish with id 99"),
        (("dish", "retire", "42"), "no dish 42"),
    ]:
        result = run(sqlite_app, *args)
        assert result.exit_code != 0 and words in result.output, (args, result.output)
    with sqlite_app.app_context(), database.connection_context():
        assert Dish.select().count() == 1 and MenuItem.select().count() == 0


def test_retired_dishes_leave_the_kiosk(sqlite_app):
    run(sqlite_app, "dish", "add", "米饭", "Rice", "0.5")
    run(sqlite_app, "menu", "plan", "today", "lunch", "1")
    assert "Retired dish 1" in run(sqlite_app, "dish", "retire", "1").output
    with sqlite_app.app_context(), database.connection_context():
        assert list(Dish.served_on(clock().today(), "lunch")) == []


def test_seed_demo_refuses_a_database_with_dishes(sqlite_app):
    assert "Seeded" in run(sqlite_app, "seed-demo").output
    assert "already has dishes" in run(sqlite_app, "seed-demo").output


def test_cli_changes_are_in_the_audit_trail(sqlite_app):
    from canteen.audit import AuditEntry
    run(sqlite_app, "dish", "add", "米饭", "Rice", "0.5")
    run(sqlite_app, "menu", "plan", "today", "lunch", "1")
    run(sqlite_app, "dish", "retire", "1")
    with sqlite_app.app_context(), database.connection_context():
        assert [e.action for e in AuditEntry.select().order_by(AuditEntry.id)] == ["dish.create", "menu.plan", "dish.retire"]
