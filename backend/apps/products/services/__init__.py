"""Writes (HackSoft style): admin, commands and workers call these and nothing else to change data."""
