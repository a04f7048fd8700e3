"""thunderbird."""
