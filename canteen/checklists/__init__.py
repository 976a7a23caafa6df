"""The 4D checklists as data (4d.toml) and the rule engine that judges log entries by them."""
from pathlib import Path

from ..config import ConfigError
from .engine import ChecklistError, load


def load_for(app):
    """The 4D checklist with the canteen's override file, if any (a bad file stops the start)."""

    override = app.config["CHECKLIST_OVERRIDE"] or None
    if override is None and (Path(app.instance_path) / "checklist-override.toml").exists():
        override = str(Path(app.instance_path) / "checklist-override.toml")
    try:
        return load(override=override)
    except (ChecklistError, OSError, ValueError) as e:
        raise ConfigError(f"CANTEEN_CHECKLIST_OVERRIDE: {e}") from None
