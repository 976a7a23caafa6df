"""The words miners see, keyed by the stable codes stored in the database and the API."""
from flask_babel import lazy_gettext as _l

MEALS = {
    "breakfast": _l("Breakfast"),
    "lunch": _l("Lunch"),
    "dinner": _l("Dinner"),
    "night": _l("Night-shift meal"),
}

# Score → label; the face's accessible name is "<score> <label>", e.g. "5 很好".
FACES = {
    1: _l("Very bad"),
    2: _l("Bad"),
    3: _l("Okay"),
    4: _l("Good"),
    5: _l("Very good"),
}

REASONS = {
    "too_salty": _l("Too salty"),
    "too_bland": _l("Too bland"),
    "too_oily": _l("Too oily"),
    "cold": _l("Cold"),
    "small_portion": _l("Small portion"),
    "too_expensive": _l("Too expensive"),
    "too_spicy": _l("Too spicy"),
    "tasty": _l("Tasty"),
    "want_again": _l("Want it again"),
}

CATEGORIES = {
    "noodles": _l("Noodles"),
    "meat": _l("Meat dish"),
    "vegetable": _l("Vegetable dish"),
    "staple": _l("Staple"),
    "soup": _l("Soup and porridge"),
    "snack": _l("Snack"),
}

ROLE_NAMES = {
    "admin": _l("Administrator"),
    "manager": _l("Kitchen manager"),
    "union": _l("Union representative"),
}

LANGUAGES = {"zh_CN": "中文", "en": "English"}
