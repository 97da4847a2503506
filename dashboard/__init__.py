"""mmpos dashboard: the Dash app (imperative shell around analytics)."""
