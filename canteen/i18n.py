"""Languages: zh_CN by default, English on request; catalogs compiled at start.

The .po files are the source of truth in git; their .mo files are compiled into the
instance folder on start whenever a .po differs from the one last compiled, so a fresh clone
needs no build step.
"""
import hashlib
import io
from pathlib import Path
from urllib.parse import urlencode

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import has_request_context, redirect, request
from flask_babel import Babel, force_locale, get_locale

from .vocabulary import LANGUAGES

CATALOGS = Path(__file__).parent / "translations"
LANG_COOKIE = "lang"


def compile_catalogs(target):
    """Compile every translations/<locale>/LC_MESSAGES/*.po under `target` if stale.

    Each goes under the name gettext will look for: Babel spells zh_CN as zh_Hans_CN.
    """
    for po_path in CATALOGS.glob("*/LC_MESSAGES/*.po"):
        locale = str(Locale.parse(po_path.parent.parent.name))
        mo_path = Path(target) / locale / "LC_MESSAGES" / po_path.with_suffix(".mo").name
        # compiled from exactly this .po? (not "is the .mo newer": an upgrade can bring a .po
        # older than the .mo the previous release compiled — a copy keeping times, a package)
        source = po_path.read_bytes()
        digest = hashlib.sha256(source).hexdigest()
        stamp = mo_path.with_name(mo_path.name + ".sha256")
        if mo_path.exists() and stamp.exists() and stamp.read_text().strip() == digest:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        catalog = read_po(io.BytesIO(source))
        tmp = mo_path.with_suffix(".mo.tmp")
        with tmp.open("wb") as mo:
            write_mo(mo, catalog)
        tmp.replace(mo_path)  # atomic: a concurrent start never reads half a file
        tmp_stamp = stamp.with_name(stamp.name + ".tmp")
        tmp_stamp.write_text(digest)
        tmp_stamp.replace(stamp)  # written after the .mo: a start killed between compiles again


def requested_language():
    """?lang=, then the cookie set by the toggle; None when neither names a known language."""
    for value in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in LANGUAGES:
            return value
    return None


def select_locale():
    # The kiosk defaults to Chinese whatever the browser says; API clients (phones,
    # scripts) may ask for English with Accept-Language.
    if not has_request_context():
        return None  # CLI and jobs: the default language
    chosen = requested_language()
    if chosen:
        return chosen
    if request.path.startswith("/api/"):
        best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
        if best:
            return "zh_CN" if best.startswith("zh") else best
    return None  # BABEL_DEFAULT_LOCALE


def current_language():
    """Our code for the request's language: "zh_CN" or "en"."""
    locale = get_locale()
    if locale is None or locale.language == "zh":
        return "zh_CN"
    return locale.language


def names_list(names, lang=None):
    """Names run together as the language writes a list: 掘进一队、综采二队 / Team 1, Team 2."""
    return (", " if (lang or current_language()) == "en" else "、").join(names)


def in_each_language(fn):
    """{"zh_CN": fn(), "en": fn()}, each said in its language: for what is stored now and read
    later by someone in either language (alerts, digests)."""
    out = {}
    for lang in LANGUAGES:
        with force_locale(lang):
            out[lang] = fn()
    return out


def remember_language():
    """GET ?lang=en on any page: remember the choice in a cookie, then show the clean URL.
    (The API takes ?lang= per request instead.)"""
    lang = request.args.get("lang")
    if lang is None or request.method != "GET" or request.path.startswith("/api/"):
        return None
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    response = redirect(request.path + ("?" + urlencode(args) if args else ""))
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def init_app(app):
    target = Path(app.instance_path) / "translations"
    compile_catalogs(target)
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["DEFAULT_LOCALE"]
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["TIMEZONE"]
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(target)
    Babel(app, locale_selector=select_locale)
    app.before_request(remember_language)
    app.jinja_env.globals.update(current_language=current_language, LANGUAGES=LANGUAGES)
