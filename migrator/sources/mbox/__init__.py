"""mbox."""
