"""Performance and risk analytics: pure functions on pandas inputs (public, scriptable API)."""
