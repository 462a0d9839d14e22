"""The day cycle: load the inbox, book, settle, revalue, store daily values, reconcile, scan drift."""
