"""``make bench``: figures and ratios measured on this machine (never asserted in tests)."""
