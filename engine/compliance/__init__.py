"""Compliance: rules as data, pre- and post-trade checks, approvals, access control and audit."""
