"""Widgets of the AME console."""
