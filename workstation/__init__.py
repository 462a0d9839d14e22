"""The composition root: configuration, CLI and desktop start-up."""
