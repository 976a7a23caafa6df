"""Scheduled work: the scheduler, its jobs, alerts, delivery, digests and backups."""
