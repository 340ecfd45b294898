"""`python -m api`: serve the API with uvicorn on XIGUA_API_HOST:XIGUA_API_PORT, and its
metrics on XIGUA_API_METRICS_ADDRESS when that is set."""

from __future__ import annotations

import uvicorn

from api import metrics
from api.main import create_app
from config import get_settings

if __name__ == "__main__":
    settings = get_settings()
    app = create_app(settings)
    if settings.api_metrics_address:
        metrics.serve(app, settings.api_metrics_address)
    uvicorn.run(app, host=settings.api_host, port=settings.api_port)
