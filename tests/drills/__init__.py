"""Outage drills under load: ``make drills`` (``python -m tests.drills``); a reduced one in CI."""
