"""Adapters that need the Qt layers' own types (market schedules for the clock widget)."""
