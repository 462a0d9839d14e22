"""Release: accepted (and cleared) rebalance proposals become OMS orders, exactly once.

It sits above compliance, rebalance and the OMS, the three it joins: the gate asks compliance,
the drafts come from a proposal's trades, and the orders go to the OMS.
"""
