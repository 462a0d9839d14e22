"""Client statements: quarterly PDFs per account and per household, built in bulk (docs/reports.md)."""
