"""A mutation audit of the test suite: small realistic bugs put into the modules that carry
canteen's promises, one at a time, each in a temporary copy of the repository; the tests of
that module run against it (SQLite only, stop at the first failure, with a time limit). A
mutation the tests do not notice is a *survivor*.

    python bench/mutate.py                 # every mutation, writes bench/mutation-results.json
    python bench/mutate.py -k audit -k 4d  # only mutations whose id contains one of these
    python bench/mutate.py --readme        # also rewrite the "Mutation audit" section of bench/README.md

Each mutation is (id, file, the exact text, its replacement, test files). The text must occur
exactly once in the file, so a refactoring that moves it makes the script fail loudly
instead of testing nothing.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ENGINE = ["tests/test_checklists.py", "tests/test_properties.py", "tests/test_rules.py"]
AUDIT = ["tests/test_tamper.py", "tests/test_back_office.py", "tests/test_backup.py"]
VOTES = ["tests/test_votes.py", "tests/test_api.py", "tests/test_vote_trust.py", "tests/test_rollups.py"]
ACCESS = ["tests/test_access.py", "tests/test_security.py"]
JOBS = ["tests/test_jobs.py", "tests/test_backup.py", "tests/test_delivery.py"]
SCORING = ["tests/test_scoring.py", "tests/test_properties.py", "tests/test_union_reports.py"]
TOML = "canteen/checklists/4d.toml"

MUTATIONS = [
    # --- the 4D checklist's data: a national figure loosened or a rule turned off ---------
    ("4d-cold-room-8-to-10", TOML, 'limit = 8\nwhen = { "unit.kind"', 'limit = 10\nwhen = { "unit.kind"', ENGINE),
    ("4d-frozen-storage-12-to-9", TOML, 'field = "temperature"\nlimit = -12', 'field = "temperature"\nlimit = -9', ENGINE),
    ("4d-core-temp-70-to-65", TOML, 'field = "core_temp"\nlimit = 70', 'field = "core_temp"\nlimit = 65', ENGINE),
    ("4d-sample-125-to-100", TOML, "limit = 125", "limit = 100", ENGINE),
    ("4d-sample-48h-to-24h", TOML, "limit = 48", "limit = 24", ENGINE),
    ("4d-dishwasher-85-to-80", TOML, "limit = 85", "limit = 80", ENGINE),
    ("4d-chlorine-250-to-200", TOML, "limit = 250", "limit = 200", ENGINE),
    ("4d-arrival-offset-3-to-5", TOML, 'limit_field = "labelled_storage_temp"\nlimit = 3',
     'limit_field = "labelled_storage_temp"\nlimit = 5', ENGINE),
    ("4d-hot-hold-above-to-min", TOML, 'check = "above"\nfield = "holding_temp"', 'check = "min"\nfield = "holding_temp"', ENGINE),
    # --- the rule engine --------------------------------------------------------------------
    ("engine-max-strict", "canteen/checklists/engine.py", '"max": value <= limit', '"max": value < limit', ENGINE),
    ("engine-min-strict", "canteen/checklists/engine.py", '"min": value >= limit', '"min": value > limit', ENGINE),
    ("engine-above-inclusive", "canteen/checklists/engine.py", '"above": value > limit', '"above": value >= limit', ENGINE),
    ("engine-limit-field-ignored", "canteen/checklists/engine.py", "limit = base + (item.limit or 0)", "limit = item.limit", ENGINE),
    ("engine-missing-value-fails", "canteen/checklists/engine.py",
     "        if value is None:\n            return None, value, limit", "        if value is None:\n            return False, value, limit", ENGINE),
    ("engine-when-ignored", "canteen/checklists/engine.py",
     "        if not _applies(item, values, context):\n            continue", "        pass", ENGINE),
    ("engine-expiry-day-excluded", "canteen/checklists/engine.py", "expiry is not None and expiry >= day", "expiry is not None and expiry > day", ENGINE),
    ("engine-hours-strict", "canteen/checklists/engine.py", "return hours >= item.limit,", "return hours > item.limit,", ENGINE),
    ("engine-meal-lead-ignored", "canteen/checklists/engine.py", "lead = dt.timedelta(hours=item.limit or 0)", "lead = dt.timedelta(0)", ENGINE),
    ("engine-fail-is-pass", "canteen/checklists/engine.py", 'Verdict("fail" if findings else "pass"', 'Verdict("pass"', ENGINE),
    ("engine-override-severity-unchecked", "canteen/checklists/engine.py",
     'if "severity" in change and change["severity"] not in SEVERITIES:', 'if False:', ENGINE),
    # --- the audit chain -------------------------------------------------------------------
    ("audit-first-link-skipped", "canteen/audit.py", "        if entry.prev_hash != prev:", "        if count > 1 and entry.prev_hash != prev:", AUDIT),
    ("audit-hash-unchecked", "canteen/audit.py",
     "        if not hmac.compare_digest(entry.expected_hash(secret), entry.hash):", "        if False:", AUDIT),
    ("audit-unkeyed-accepted", "canteen/audit.py", "        if keyed and entry.scheme != KEYED:", "        if False:", AUDIT),
    ("audit-rows-unchecked", "canteen/audit.py", "    if check_rows and any(e.scheme == KEYED for e in entries):", "    if False:", AUDIT),
    ("audit-row-added-unseen", "canteen/audit.py",
     '                problems.append({"problem": "row_added", "table": table, "id": row["id"]})', "                pass", AUDIT),
    ("audit-row-removed-unseen", "canteen/audit.py",
     "        if digest is not None and (table, ident) not in seen and table in COVERED:", "        if False:", AUDIT),
    ("audit-anchor-cut-short-unseen", "canteen/audit.py",
     'if report.head["last_id"] < anchor["last_id"] or', 'if False and report.head["last_id"] < anchor["last_id"] or', AUDIT),
    ("audit-anchor-mac-unchecked", "canteen/audit.py", "    return bool(value) and hmac.compare_digest(",
     "    return bool(value) or hmac.compare_digest(", AUDIT),
    ("audit-anchor-moves-back", "canteen/audit.py",
     'if not force and old and anchor_valid(old) and old.get("last_id", 0) > value["last_id"]:', "if False:", AUDIT),
    ("audit-binds-dropped", "canteen/audit.py",
     'binds = [[type(r)._meta.table_name, r.id, row_digest(_read_row(type(r), r.id))] for r in rows]', "binds = []", AUDIT),
    # --- votes -----------------------------------------------------------------------------
    ("votes-one-per-meal-ignored", "canteen/feedback/votes.py", "        if per_meal:\n            same &= Rating.meal == meal",
     "        if False:\n            same &= Rating.meal == meal", VOTES),
    ("votes-one-per-day-off", "canteen/feedback/votes.py", "    if key:\n        same = ", "    if False:\n        same = ", VOTES),
    ("votes-older-replay-wins", "canteen/feedback/votes.py", "    if (newest.voted_at, newest.id) > (voted_at, rating_id):", "    if False:", VOTES),
    ("votes-burst-off-by-one", "canteen/feedback/votes.py", "votes_in_last_minute + 1 > burst_limit", "votes_in_last_minute > burst_limit", VOTES),
    ("votes-early-window-closed", "canteen/feedback/votes.py", "start - dt.timedelta(minutes=early_minutes) <= voted_local", "start <= voted_local", VOTES),
    ("votes-late-window-open", "canteen/feedback/votes.py", "voted_local <= end + dt.timedelta(hours=late_hours)", "voted_local <= end + dt.timedelta(hours=late_hours * 10)", VOTES),
    ("votes-token-age-unflagged", "canteen/feedback/votes.py", "token_age > 0.8 * token_max_age", "token_age > token_max_age", VOTES),
    ("votes-debounce-any-score", "canteen/feedback/votes.py", "if d == dish_id and s == score and replaced is None", "if d == dish_id and replaced is None", VOTES),
    ("votes-retry-not-replayed", "canteen/feedback/votes.py",
     "        earlier = Rating.get_or_none(Rating.client_id == vote.client_id)\n        if earlier is None:\n            raise",
     "        raise", VOTES),
    ("votes-off-menu-accepted", "canteen/feedback/votes.py",
     '        return refused(f"Dish {vote.dish_id} is not on the menu of that day.", "dish_id")', "        pass", VOTES),
    # --- access ----------------------------------------------------------------------------
    ("access-default-open", "canteen/access.py", 'DEFAULT = frozenset({"admin"})', 'DEFAULT = PUBLIC', ACCESS),
    ("access-role-check-off", "canteen/access.py", "    if not roles & access:", "    if not roles:", ACCESS),
    ("access-revoked-token-ok", "canteen/access.py", "if token is None or token.revoked_at is not None:", "if token is None:", ACCESS),
    ("access-token-on-pages", "canteen/access.py", 'secret = bearer_token() if request.path.startswith("/api/") else None',
     "secret = bearer_token()", ACCESS),
    ("access-stock-post-any-role", "canteen/safety/views.py",
     '    """Stock on hand by use-by date: expired and near-expiry goods first."""\n    if request.method == "POST":\n        if "manager" not in _roles():',
     '    """Stock on hand by use-by date: expired and near-expiry goods first."""\n    if request.method == "POST":\n        if False:', ACCESS),
    ("access-schedule-post-any-role", "canteen/jobs/views.py",
     '        if "manager" not in current_roles():\n            abort(403)', "        pass", ACCESS),
    # --- scheduler jobs --------------------------------------------------------------------
    ("jobs-alert-a-minute-late", "canteen/jobs/tasks.py", "if due + dt.timedelta(minutes=expected.grace_minutes) > now:",
     "if due + dt.timedelta(minutes=expected.grace_minutes) >= now:", JOBS),
    ("jobs-early-reading-not-counted", "canteen/jobs/tasks.py", "found = any(due - early <= when < until for when in logged)",
     "found = any(due <= when < until for when in logged)", JOBS),
    ("jobs-slot-claimed-twice", "canteen/jobs/tasks.py", "    return inserted == 1", "    return True", JOBS),
    ("jobs-alert-raised-twice", "canteen/jobs/tasks.py", "            .on_conflict_ignore().as_rowcount().execute()) == 1",
     "            .on_conflict_ignore().as_rowcount().execute()) >= 0", JOBS),
    ("jobs-meal-grace-ignored", "canteen/jobs/tasks.py", "            if end + grace > now:", "            if end > now:", JOBS),
    ("jobs-sample-48h-to-24h", "canteen/jobs/tasks.py", "if now - stored >= dt.timedelta(hours=48):", "if now - stored >= dt.timedelta(hours=24):", JOBS),
    ("jobs-expiry-horizon-shrunk", "canteen/jobs/tasks.py", "(StockLot.use_by <= today + dt.timedelta(days=2))", "(StockLot.use_by <= today)", JOBS),
    ("jobs-catch-up-too-early", "canteen/jobs/scheduler.py", "        if now.time() >= first:", "        if True:", JOBS),
    # --- scoring ---------------------------------------------------------------------------
    ("scoring-prior-dropped", "canteen/reports/scoring.py", "return (prior_weight * prior_mean + score_sum) / (prior_weight + votes)",
     "return score_sum / votes if votes else prior_mean", SCORING),
    ("scoring-wilson-no-correction", "canteen/reports/scoring.py", "    denominator = 1 + z * z / votes", "    denominator = 1", SCORING),
    ("scoring-wilson-centre-plain", "canteen/reports/scoring.py", "centre = (p + z * z / (2 * votes)) / denominator", "centre = p", SCORING),
    ("scoring-keep-ignores-fair", "canteen/reports/scoring.py", "and (not compare or fair >= prior)", "", SCORING),
    ("scoring-drop-margin-ignored", "canteen/reports/scoring.py", " or (compare and fair < prior - rules.drop_margin)", "", SCORING),
    ("scoring-min-votes-off-by-one", "canteen/reports/scoring.py", "    if votes < rules.min_votes:", "    if votes <= rules.min_votes:", SCORING),
    ("scoring-k-anonymity-off-by-one", "canteen/reports/scoring.py", "    return voters < k", "    return voters < k - 1", SCORING),
]


def copy_tree(dest):
    ignore = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", "instance", ".hypothesis", "*.db")
    shutil.copytree(ROOT, dest, ignore=ignore, dirs_exist_ok=True)


def run_tests(tree, tests, timeout):
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1")
    env.pop("CI", None)  # without CI, PostgreSQL and browser tests skip instead of failing
    env.pop("CANTEEN_TEST_POSTGRES_URL", None)
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-k", "not postgres",
           "-o", "addopts=", *tests]
    started = time.monotonic()
    try:
        done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - started, ""
    tail = (done.stdout.strip().splitlines() or [""])[-1]
    return {0: "passed", 1: "failed"}.get(done.returncode, f"error {done.returncode}"), time.monotonic() - started, tail


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", action="append", default=[], help="only mutation ids containing this")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per mutation's test run")
    parser.add_argument("--readme", action="store_true", help='rewrite the "Mutation audit" section of bench/README.md')
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    args = parser.parse_args()
    chosen = [m for m in MUTATIONS if not args.k or any(k in m[0] for k in args.k)]
    results = []
    with tempfile.TemporaryDirectory(prefix="canteen-mutate-") as tmp:
        tree = Path(tmp) / "repo"
        copy_tree(tree)
        for ident, path, old, new, _tests in chosen:  # every mutation must still apply
            count = (ROOT / path).read_text().count(old)
            if count != 1:
                sys.exit(f"{ident}: the text to mutate occurs {count} times in {path}")
        if not args.no_baseline:
            suites = sorted({t for m in chosen for t in m[4]})
            outcome, seconds, tail = run_tests(tree, suites, args.timeout * 3)
            print(f"baseline: {outcome} in {seconds:.0f} s ({tail})", flush=True)
            if outcome != "passed":
                sys.exit("the unmutated tests do not pass: nothing to measure")
        for ident, path, old, new, tests in chosen:
            target = tree / path
            original = target.read_text()
            target.write_text(original.replace(old, new, 1))
            try:
                outcome, seconds, tail = run_tests(tree, tests, args.timeout)
            finally:
                target.write_text(original)
            killed = outcome in ("failed", "timeout")
            results.append({"id": ident, "file": path, "killed": killed, "outcome": outcome,
                            "seconds": round(seconds, 1), "tail": tail})
            print(f"{'killed  ' if killed else 'SURVIVED'} {ident:40} {outcome:8} {seconds:5.0f} s  {tail}", flush=True)
    killed = sum(r["killed"] for r in results)
    print(f"\nmutation score: {killed}/{len(results)} killed ({100 * killed / max(1, len(results)):.0f} %)")
    out = ROOT / "bench" / "mutation-results.json"
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    if args.readme:
        write_readme(results)
    return 0 if killed == len(results) else 1


def write_readme(results):
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text()
    killed = sum(r["killed"] for r in results)
    lines = ["## Mutation audit", "",
             "`python bench/mutate.py --readme` puts each mutation below into a temporary copy of the",
             "repository and runs the tests of its module (SQLite, `-x`); a mutation the tests miss survives.",
             "", f"**{killed} / {len(results)} killed ({100 * killed / max(1, len(results)):.0f} %).**", "",
             "| mutation | file | outcome | s |", "|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['id']} | {r['file']} | {'killed' if r['killed'] else '**survived**'} ({r['outcome']}) | {r['seconds']:.0f} |")
    section = "\n".join(lines) + "\n"
    start = text.find("## Mutation audit")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end != -1 else "")
    readme.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
