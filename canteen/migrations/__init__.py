"""Numbered schema migrations, applied in order by playhouse.migrations (see canteen/db.py).

Each file is frozen once released: it declares the tables as they were at that version,
independent of canteen/models.py, so that an old kiosk database upgrades step by step.
"""
