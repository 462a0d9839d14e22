"""Validated, all-or-nothing CSV imports: every problem is reported, and bad input writes nothing.

Entry point: `engine.imports.service.import_file(database, kind, path)`.
"""
