"""A kitchen manager logs a procurement acceptance on a tablet (1280×800, touch)."""
import datetime as dt
import time

from canteen.clock import clock
from canteen.models import database
from canteen.safety.models import SafetyRecord, Staff, StockLot, Supplier

from ..conftest import make_user
from .conftest import sign_in_page


def test_manager_logs_a_procurement_acceptance_on_a_tablet(browser, live):
    with live.app.app_context(), database.connection_context():
        make_user("zhang", "manager")
        Staff.create(name="王师傅")
        Supplier.create(name="黄陵肉联厂", licence_no="SC-1",
                        licence_expiry=clock().today() + dt.timedelta(days=90))
        today = clock().today()
    context, page = sign_in_page(browser, live, "zhang")
    page.goto(f"{live.url}/safety/procurement/new")

    started = time.monotonic()
    taps = 0

    def tap(locator):
        nonlocal taps
        locator.tap()
        taps += 1

    def pick(label):
        tap(page.get_by_role("radio", name=label, exact=True).first)

    page.get_by_label("供应商").select_option(label="黄陵肉联厂"); taps += 1
    page.get_by_label("品名").fill("猪后腿肉"); taps += 1
    tap(page.get_by_role("group", name="类别").get_by_label("畜肉"))
    page.get_by_label("数量").fill("25"); taps += 1
    tap(page.get_by_role("group", name="单位").get_by_label("千克"))
    page.get_by_label("生产日期").fill((today - dt.timedelta(days=1)).isoformat()); taps += 1
    page.get_by_label("保质期至").fill((today + dt.timedelta(days=3)).isoformat()); taps += 1
    for group in ("查验许可证", "查验检验合格证或票据", "查验动物检疫合格证明", "感官检查合格", "包装标签完好"):
        tap(page.get_by_role("group", name=group).get_by_label("是"))
    tap(page.get_by_role("group", name="储存条件").get_by_label("冷藏"))
    page.get_by_label("标签储存温度").fill("4"); taps += 1
    page.get_by_label("到货温度").fill("11"); taps += 1  # too warm: recorded, and judged at once
    tap(page.get_by_role("group", name="验收通过").get_by_label("是"))
    page.get_by_label("验收人").select_option(label="王师傅"); taps += 1
    tap(page.get_by_role("button", name="保存"))
    page.get_by_text("这批货未通过 4D 检查。是否拒收？").wait_for()  # asked before anything is saved
    with live.app.app_context(), database.connection_context():
        assert SafetyRecord.select().count() == 0
    tap(page.get_by_role("button", name="仍然验收（暂扣）"))
    page.get_by_text("已保存：进货查验").wait_for()
    seconds = time.monotonic() - started
    print(f"procurement acceptance: {taps} taps/entries, {seconds:.1f} s of browser automation")

    assert page.get_by_text("冷藏食品到货温度不高于 8 ℃").count() >= 1  # the 4D finding, at once
    with live.app.app_context(), database.connection_context():
        record = SafetyRecord.get()
        values = record.values()
        assert (record.kind, values["arrival_temp"], values["accepted"], values["item"]) == \
            ("procurement", 11, True, "猪后腿肉")
        lot = StockLot.get()  # accepted goods are stock, on hold while the corrective action is open
        assert lot.on_hold and lot.status(clock().today()) == "on_hold"
    context.close()


def test_a_corrective_action_is_walked_through_to_verified(browser, live):
    from canteen.safety.models import CorrectiveAction

    with live.app.app_context(), database.connection_context():
        make_user("zhang", "manager")
        make_user("li", "manager")
        cook = Staff.create(name="王师傅", health_cert_expiry=clock().today() + dt.timedelta(days=100))
        dish_id = live.dishes[1].id
    context, page = sign_in_page(browser, live, "zhang")
    page.goto(f"{live.url}/safety/cooking/new")
    tap = lambda label: page.get_by_role("group", name=label).get_by_label  # noqa: E731
    tap("餐次")("午餐").tap()
    page.locator(f"input[name=dish][value='{dish_id}']").tap()  # a button: the dish is on the menu now
    page.locator("#core_temp").fill("62")
    tap("保存方式")("不保温").tap()
    page.get_by_label("操作人").select_option(str(cook.id))
    page.get_by_role("button", name="保存").tap()
    page.get_by_text("COOK-01").first.wait_for()  # the finding, at once

    page.get_by_role("link", name="整改措施").first.click()
    page.get_by_role("link", name="1", exact=True).click()
    page.get_by_role("button", name="确认").tap()
    page.get_by_label("原因").fill("火力不足")
    page.get_by_label("整改措施", exact=True).fill("继续加热至 80 ℃")
    page.get_by_role("group", name="产品处置").get_by_label("返工").tap()
    page.get_by_role("button", name="记录整改").tap()
    page.get_by_label("验证情况").fill("复测 81 ℃")
    page.get_by_role("button", name="验证").tap()
    page.get_by_text("须由整改人以外的人验证").wait_for()  # not by the one who acted
    context.close()

    context, page = sign_in_page(browser, live, "li")
    page.goto(f"{live.url}/safety/actions/1")
    page.get_by_label("验证情况").fill("复测 81 ℃")
    page.get_by_label("复测温度（℃）").fill("81")  # a temperature finding is verified by a re-check reading
    page.get_by_role("button", name="验证").tap()
    page.get_by_text("li 已验证").wait_for()
    with live.app.app_context(), database.connection_context():
        action = CorrectiveAction.get()
        assert (action.status, action.acted_by, action.verified_by) == ("verified", "user:zhang", "user:li")
    context.close()


def test_the_inspectors_report_prints_on_a4_landscape_with_every_column_on_the_page(browser, live, tmp_path):
    """Printed from Chromium: A4 landscape pages, and no log table wider than the page."""
    from ..test_safety import valid_entries

    with live.app.app_context(), database.connection_context():
        make_user("zhang", "manager")
        cook = Staff.create(name="王师傅", health_cert_expiry=clock().today() + dt.timedelta(days=100))
        supplier = Supplier.create(name="黄陵肉联厂", licence_no="SC-1",
                                   licence_expiry=clock().today() + dt.timedelta(days=90))
        now = clock().now()
    context, page = sign_in_page(browser, live, "zhang")
    kitchen = {"now": now, "supplier": supplier.id, "cook": cook.id, "checker": cook.id, "dish": live.dishes[1].id,
               "units": {"cold_room": 1, "sample_fridge": 1}}
    entry = dict(valid_entries(kitchen)["procurement"], batch="B-2026-11-27-0001", arrival_temp=9)
    assert page.request.post(f"{live.url}/api/v1/safety/procurement", data=entry).status == 201
    page.goto(f"{live.url}/safety/export")
    assert "<" not in page.title() and "–" in page.title()  # a plain-text title
    page.set_viewport_size({"width": 1047, "height": 740})  # A4 landscape less 10 mm margins, at 96 dpi
    page.emulate_media(media="print")
    overflow = page.evaluate("""() => [...document.querySelectorAll('.inspector-report table')]
        .filter(t => t.getBoundingClientRect().right > document.querySelector('.inspector-report').getBoundingClientRect().right + 1)
        .map(t => t.closest('section').querySelector('h2').textContent)""")
    assert overflow == []
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True)
    import re
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf.read_bytes())
    assert boxes and all(round(float(w)) == 842 and round(float(h)) == 595 for w, h in boxes)
    context.close()
