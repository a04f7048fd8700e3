"""The IMAP target (imap.py) and pure diagnosis helpers (diagnose.py)."""
