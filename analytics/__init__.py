"""mmpos analytics: the pure numerical core (numpy, pandas, scipy only).

Never imports dash or plotly. Every number the dashboard and the CLI show is computed here.
"""

from analytics.errors import ChainDataError

__all__ = ["ChainDataError"]
