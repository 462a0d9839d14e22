"""Adapters between engine services and the panels: plain pandas in, plain pandas out, no Qt.

Each panel reads its data through one function here, so that when a richer engine service lands
(accounting, rebalance, compliance, OMS) only the adapter changes, never the widget.
"""
