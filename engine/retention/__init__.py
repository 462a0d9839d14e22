"""Retention: how long each kind of record is kept, the purge that removes what has expired
(keeping the audit chain verifiable under a signed checkpoint), and the export of everything the
book holds about one client."""
