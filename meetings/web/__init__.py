"""Helpers shared by the server-rendered pages: the form POST pipeline, form parsing, template helpers."""
