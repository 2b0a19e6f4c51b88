"""Attendance per session (roll calls at the start and the end), proxies, card kiosks and live quorum."""
