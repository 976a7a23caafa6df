"""`python app.py` for real: behind a reverse proxy (real X-Forwarded-* headers from loopback),
and refusing to start as a real installation while demo passwords still work."""
import http.client
import os
import re
import sqlite3
import subprocess
import sys
import time

from werkzeug.security import generate_password_hash

from .test_processes import ROOT, free_port

PASSWORD = "the-real-admin-pw"


def environment(tmp_path, **env):
    return dict(os.environ, CANTEEN_INSTANCE_PATH=str(tmp_path), CANTEEN_DEMO="0", CANTEEN_SCHEDULER="0",
                PYTHONPATH=str(ROOT), **env)


def flask(tmp_path, *args, **env):
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, capture_output=True,
                          text=True, env=environment(tmp_path, **env), timeout=120)


class Server:
    def __init__(self, tmp_path, **env):
        self.port = free_port()
        self.process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL,
                                        env=environment(tmp_path, CANTEEN_PORT=str(self.port), **env))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.request("GET", "/login")
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the server did not start")

    def request(self, method, path, headers=None, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        response.text = response.read().decode()
        conn.close()
        return response

    def sign_in(self, username, password, forwarded_for):
        """A whole sign-in as a browser behind the proxy would make it."""
        proxy = {"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https"}
        page = self.request("GET", "/login", proxy)
        cookie = page.getheader("Set-Cookie").split(";")[0]
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
        return self.request("POST", "/login", dict(proxy, Cookie=cookie, Referer=f"https://127.0.0.1:{self.port}/login",
                                                   **{"Content-Type": "application/x-www-form-urlencoded"}),
                            f"csrf_token={token}&username={username}&password={password}")

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


def test_behind_a_proxy_addresses_and_https_come_through(tmp_path):
    assert flask(tmp_path, "create-user", "boss", "--role", "admin", "--password", PASSWORD).returncode == 0
    server = Server(tmp_path, CANTEEN_PROXY_FIX="1")
    try:
        page = server.request("GET", "/login", {"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https"})
        assert "; Secure" in page.getheader("Set-Cookie")
        assert page.getheader("Strict-Transport-Security")
        # an attacker behind the proxy guesses; the owner, at another address, still signs in
        for i in range(8):
            server.sign_in("boss", f"guess-number-{i}", "203.0.113.66")
        assert server.sign_in("boss", PASSWORD, "203.0.113.66").status == 429
        r = server.sign_in("boss", PASSWORD, "198.51.100.7")
        assert r.status == 302 and "; Secure" in r.getheader("Set-Cookie")
    finally:
        server.stop()
    conn = sqlite3.connect(tmp_path / "canteen.db")
    details = [row[0] for row in conn.execute("SELECT detail FROM audit_entry WHERE action LIKE 'auth.%'")]
    conn.close()
    assert any("203.0.113.66" in d for d in details) and any("198.51.100.7" in d for d in details)
    assert not any("127.0.0.1" in d for d in details)


def test_without_proxy_fix_forwarded_headers_are_ignored(tmp_path):
    server = Server(tmp_path)
    try:
        page = server.request("GET", "/login", {"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https"})
        assert "Secure" not in page.getheader("Set-Cookie")
        assert page.getheader("Strict-Transport-Security") is None
    finally:
        server.stop()


def test_a_real_installation_refuses_to_start_with_demo_passwords(tmp_path):
    created = flask(tmp_path, "create-user", "admin", "--role", "admin", "--password", "canteen-demo-2")
    assert created.returncode == 0, created.stderr
    seeded = flask(tmp_path, "seed-demo")
    assert seeded.returncode == 0, seeded.stderr
    # an account with the published password, as an older version's demo left it
    conn = sqlite3.connect(tmp_path / "canteen.db")
    conn.execute("UPDATE user SET password_hash = ?", (generate_password_hash("canteen-demo"),))
    conn.commit()
    conn.close()
    started = subprocess.run([sys.executable, "app.py"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                             env=environment(tmp_path, CANTEEN_PORT=str(free_port())))
    assert started.returncode != 0 and "flask --app app remove-demo" in started.stderr, started.stderr
    assert "Traceback" not in started.stderr
    removed = flask(tmp_path, "remove-demo")
    assert removed.returncode == 0 and "Deleted account admin" in removed.stdout, removed.stderr
    server = Server(tmp_path)  # now it starts
    server.stop()
