"""`migrate batch`: many mailboxes at once from a manifest, on a Huey task queue (docs/batch.md)."""
