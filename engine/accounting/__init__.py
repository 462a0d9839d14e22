"""Portfolio accounting: trades into lots and cash, realized gains, wash sales, corporate actions, settlement."""
