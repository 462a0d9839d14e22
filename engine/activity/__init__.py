"""Custodian activity: trades done away, income, fees, flows, transfers in kind and FX, booked once."""
