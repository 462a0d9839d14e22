"""Custodian reconciliation: statements matched against the book, breaks and their workflow."""
