"""Palettes (and any icons) for the desktop; qtawesome supplies the icon glyphs."""
