"""The HTTP edge: health and readiness, headers, Host allow-list, body limits, login, response cache."""
