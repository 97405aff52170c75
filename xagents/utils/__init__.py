"""The original xagents\x27 import path ``xagents.utils.common``; nothing else lives here."""
