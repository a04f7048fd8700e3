"""maildir."""
