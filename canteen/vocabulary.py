"""The words miners see, keyed by the stable codes stored in the database and the API."""
from flask_babel import lazy_gettext as _l

MEALS = {
    "breakfast": _l("Breakfast"),
    "lunch": _l("Lunch"),
    "dinner": _l("Dinner"),
    "night": _l("Night-shift meal"),
}

# Shift codes of the default CANTEEN_SHIFTS; another code is shown as written.
SHIFT_NAMES = {
    "early": _l("Early shift"),
    "middle": _l("Middle shift"),
    "night": _l("Night shift"),
}

DECISION_NAMES = {"keep": _l("Keep"), "improve": _l("Improve"), "drop": _l("Drop"),
                  "not_enough": _l("Not enough votes yet"), "running": _l("Trial running")}
CHANGE_KIND_NAMES = {"recipe": _l("Recipe changed"), "price": _l("Price changed"),
                     "portion": _l("Portion changed"), "other": _l("Other change")}
# The workers' representatives' suggestions (canteen/reports/suggestions.py).
SUGGESTION_KINDS = {"new_dish": _l("A new dish"), "taste": _l("A dish's taste"),
                    "portion": _l("A dish's portion"), "price": _l("A dish's price"),
                    "menu": _l("The menu of a meal or shift"), "service": _l("Service")}
SUGGESTION_VENUES = {"committee": _l("Canteen committee (伙委会)"), "congress": _l("Workers' congress (职代会)"),
                     "teams": _l("Gathered from the teams")}
SUGGESTION_STATUS = {"open": _l("Waiting for an answer"), "accepted": _l("Accepted"),
                     "declined": _l("Declined"), "done": _l("Done")}
SUGGESTION_STEPS = {"recorded": _l("Recorded"), "backed": _l("Backed by another team"), "accepted": _l("Accepted"),
                    "declined": _l("Declined"), "done": _l("Done"), "linked": _l("Linked to what it produced")}
SUGGESTION_OUTCOMES = {"kept": _l("Kept on the menu"), "dropped": _l("Dropped after its trial"),
                       "improve": _l("To be improved"), "better": _l("Scored better after the change"),
                       "worse": _l("Scored worse after the change"), "same": _l("Scored the same"),
                       "pending": _l("Too early to tell"), "none": _l("Nothing linked yet")}

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

# Training topics: what a person is trained for (3D). The 4D checklist's "trained" items name
# these codes, so a training counts whatever language it was entered in.
TRAINING_TOPICS = {
    "procurement": _l("Procurement acceptance"),
    "storage": _l("Storage"),
    "produce": _l("Produce washing and disinfection"),
    "tableware": _l("Tableware washing and disinfection"),
    "cooking": _l("Cooking and holding"),
    "sample": _l("Sample retention"),
    "health_check": _l("Morning health check"),
    "4d": _l("4D kitchen system"),
}

SEVERITY_NAMES = {"critical": _l("critical"), "major": _l("major"), "minor": _l("minor")}
D_NAMES = {"organisation": _l("1D organisation"), "responsibility": _l("2D responsibility"),
           "training": _l("3D training"), "execution": _l("4D execution")}
ACTION_STATUS = {"open": _l("open"), "acknowledged": _l("acknowledged"),
                 "action_recorded": _l("action recorded"), "verified": _l("verified")}
DISPOSITION_NAMES = {"used": _l("used"), "reworked": _l("reworked"), "discarded": _l("discarded"),
                     "returned": _l("returned")}

ROLE_NAMES = {
    "admin": _l("Administrator"),
    "manager": _l("Kitchen manager"),
    "union": _l("Union representative"),
}

LANGUAGES = {"zh_CN": "中文", "en": "English"}
