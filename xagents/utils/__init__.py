"""The original xagents' import path ``xagents.utils.common``; nothing else lives here."""
