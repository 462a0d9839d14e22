"""Model portfolios as versioned data: edit service (permission-checked, audited) and versions."""
