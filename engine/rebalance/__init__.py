"""Rebalancing: drift, the tax-aware cvxpy problem, solving with a fallback ladder, bulk runs."""
