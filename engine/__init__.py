"""The SMA workstation engine: domain, services and storage. Headless: no Qt, quickfix or keyring."""
