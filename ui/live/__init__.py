"""Live shared desk in the UI: change-feed bridge, connection indicator, write guard."""
