"""Custodian statement files: generic CSV, per-custodian CSV profiles, ISO 20022 semt.002/camt.053."""
