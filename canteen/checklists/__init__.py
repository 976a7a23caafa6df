"""The 4D checklists as data (4d.toml) and the rule engine that judges log entries by them."""
