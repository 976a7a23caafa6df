"""A wheel built from the checkout holds everything and serves outside it (`python -m canteen`)."""
import http.cookiejar
import os
import re
import site
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from .test_processes import free_port

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def build_wheel(target):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(target)],
                   check=True, timeout=300, capture_output=True)
    return next(target.glob("canteen-*.whl"))


def clean_env(**extra):
    """This environment without what would lead the venv back to the checkout (PYTHONPATH) or
    configure the app from outside (CANTEEN_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANTEEN_") and k != "PYTHONPATH"}
    return dict(env, **extra)


def fresh_venv(path, wheel):
    """A new virtual environment with only the wheel installed in it. Its dependencies come
    from this interpreter's site-packages, listed in a .pth file: the .pth files there (this
    checkout's editable install among them) are not read, so `canteen` can only be the wheel."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120,
                   env=clean_env())
    python = path / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                    str(wheel)], check=True, timeout=300, capture_output=True, env=clean_env())
    venv_site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True, env=clean_env()).stdout.strip()
    (Path(venv_site) / "outer-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python


def wait_for(url, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            return urllib.request.urlopen(url, timeout=5)
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def test_the_wheel_holds_every_package_and_data_file(tmp_path):
    names = set(zipfile.ZipFile(build_wheel(tmp_path)).namelist())
    for name in ("canteen/__main__.py", "canteen/feedback/votes.py", "canteen/office/auth.py",
                 "canteen/jobs/scheduler.py", "canteen/safety/service.py", "canteen/reports/weekly.py",
                 "canteen/checklists/engine.py", "canteen/migrations/0001_initial.py",
                 "canteen/checklists/4d.toml", "canteen/checklists/rounds.toml", "canteen/safety/logs.toml",
                 "canteen/openapi.json", "canteen/translations/zh_CN/LC_MESSAGES/messages.po",
                 "canteen/templates/base.html", "canteen/templates/feedback/screen.html",
                 "canteen/templates/office/catalog/card.svg", "canteen/static/canteen.css",
                 "canteen/static/kiosk.js"):
        assert name in names, name
    in_tree = {str(p.relative_to(ROOT)) for p in (ROOT / "templates").rglob("*") if p.is_file()}
    assert {"canteen/" + n for n in in_tree} <= names  # every template, none forgotten


def test_python_m_canteen_from_a_wheel_serves_from_an_empty_directory(tmp_path):
    python = fresh_venv(tmp_path / "venv", build_wheel(tmp_path / "wheel"))
    where = subprocess.run([str(python), "-c", "import canteen; print(canteen.__file__)"], cwd=tmp_path,
                           check=True, capture_output=True, text=True, env=clean_env()).stdout
    assert where.startswith(str(tmp_path / "venv")), where
    empty = tmp_path / "empty"
    empty.mkdir()
    port = free_port()
    env = clean_env(CANTEEN_PORT=str(port), CANTEEN_SCHEDULER="0")
    server = subprocess.Popen([str(python), "-m", "canteen"], cwd=empty, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(base + "/kiosk").status == 200
        assert (empty / "instance" / "canteen.db").exists()  # the instance folder is ./instance
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        for path in ("/login", "/static/canteen.css", "/api/v1/openapi.json"):
            assert opener.open(base + path).status == 200, path
        token = CSRF.search(opener.open(base + "/login").read().decode()).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "username": "manager",
                                       "password": "canteen-demo"}).encode()
        opener.open(base + "/login", data=form)
        page = opener.open(base + "/safety/")
        assert page.status == 200 and page.url == base + "/safety/"  # not sent back to sign in
    finally:
        server.terminate()
        server.wait(10)
