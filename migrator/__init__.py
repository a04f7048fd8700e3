"""migrator: move POP-era local mail into an IMAP account, losslessly."""

__version__ = "0.1.0"
