"""Every report page, on one blueprint (importing the pages registers their routes)."""
from . import comments, dishes, scoreboard, suggestions, trends, trials, weekly  # noqa: F401
from .blueprint import bp  # noqa: F401
