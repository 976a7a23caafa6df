"""The kitchen manager in Chromium: sign in, add a dish with a photo, plan it, see it on the kiosk."""
import datetime as dt
import io

from PIL import Image

from canteen.models import database

from ..conftest import PASSWORD, make_user
from .conftest import pair


def test_manager_adds_a_dish_plans_it_and_the_kiosk_shows_it_at_that_meal(browser, live, tmp_path):
    with live.app.app_context(), database.connection_context():
        make_user("zhang", "manager")
    photo = tmp_path / "dish.png"
    Image.new("RGB", (800, 600), (180, 90, 30)).save(photo)
    clock = live.app.extensions["canteen_clock"]
    tomorrow = clock.today() + dt.timedelta(days=1)

    context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
    page = context.new_page()
    page.goto(f"{live.url}/kitchen/dishes")  # not signed in: sent to the sign-in page
    page.get_by_label("用户名").fill("zhang")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="菜品").wait_for()

    page.get_by_role("link", name="添加菜品").click()
    page.get_by_label("中文名称").fill("洋芋擦擦")
    page.get_by_label("英文名称").fill("Steamed shredded potato")
    page.get_by_label("价格（元）").fill("4.5")
    page.get_by_label("类别").select_option("vegetable")
    page.get_by_label("照片").set_input_files(str(photo))
    page.get_by_role("button", name="保存").click()
    page.get_by_text("已保存 洋芋擦擦").wait_for()

    page.get_by_role("link", name="菜单", exact=True).click()
    if tomorrow.weekday() == 0:  # tomorrow is in next week's grid
        page.get_by_role("link", name="下一周").click()
    page.get_by_role("link", name=f"午餐 {tomorrow.isoformat()}").click()
    page.get_by_label("洋芋擦擦", exact=False).check()
    page.get_by_role("button", name="保存菜单").click()
    page.get_by_text("已保存").first.wait_for()
    assert "洋芋擦擦" in page.get_by_role("link", name=f"午餐 {tomorrow.isoformat()}").inner_text()

    kiosk = context.new_page()
    clock.frozen = dt.datetime.combine(tomorrow, dt.time(11, 30))  # it is lunch tomorrow
    try:
        pair(kiosk, live)
        kiosk.goto(f"{live.url}/kiosk")
        tile = kiosk.get_by_role("button", name="洋芋擦擦", exact=True)
        tile.wait_for()
        assert kiosk.locator("#meal-name").inner_text() == "午餐"
        src = tile.locator("img").get_attribute("src")
        image = kiosk.request.get(live.url + src)
        assert image.ok and image.headers["content-type"] == "image/jpeg"
        with Image.open(io.BytesIO(image.body())) as img:
            assert img.size == (800, 600)
    finally:
        clock.frozen = None
    context.close()
