"""Shared desk: several workstations on one database (change feed, listener, leases, concurrency)."""
