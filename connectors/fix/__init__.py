"""FIX 4.4 over quickfix: sessions, translation to immutable engine messages, settings."""
