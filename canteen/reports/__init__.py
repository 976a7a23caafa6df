"""Feedback reports for union representatives (and managers): the dish scoreboard, trial
verdicts, trends, reasons, comments and the printable weekly report.

Every number comes from counted votes only (`Rating.counted()`: neither flagged nor replaced;
how many were left out is shown) through the rollups in canteen/feedback/rollups.py; any group with
fewer than REPORT_MIN_GROUP voters is suppressed.
"""
