"""Typed domain vocabulary shared by every engine service: enums, currencies, identifiers."""
