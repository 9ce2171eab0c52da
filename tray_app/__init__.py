"""ExLab Tray: the long-lived desktop process that hosts creation sessions."""

__version__ = "0.1.0"
