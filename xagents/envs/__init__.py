"""Environments: ids and user modules, vector envs, the Atari pipeline, API checks, normalizers."""
