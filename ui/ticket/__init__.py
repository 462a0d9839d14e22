"""The order ticket: a keyboard-first dialog over engine.ticket (sizing, compliance preview) and the
desk's OMS link (create and route, cancel/replace)."""
