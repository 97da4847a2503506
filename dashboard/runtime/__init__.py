"""How the app runs: settings, caches, background jobs, the gunicorn server and the warmer."""
