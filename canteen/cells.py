"""Text that goes into a spreadsheet (CSV or XLSX exports) must stay text."""

FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")  # and their full-width forms


def looks_like_formula(value):
    """Whether a spreadsheet could read `value` as a formula: it starts with = + - @, or with a
    tab, carriage return, newline or spaces before one (spreadsheets skip those)."""
    if not isinstance(value, str) or not value:
        return False
    return value[0] in "\t\r\n" or value.lstrip(" \t\r\n\x0b\x0c")[:1] in FORMULA_START


def formula_safe(value):
    """`value` with a leading apostrophe when it looks like a formula (the cell shows it as typed)."""
    return "'" + value if looks_like_formula(value) else value
