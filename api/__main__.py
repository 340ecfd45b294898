"""`python -m api`: serve the API with uvicorn on XIGUA_API_HOST:XIGUA_API_PORT."""

from __future__ import annotations

import uvicorn

from api.main import create_app
from config import get_settings

if __name__ == "__main__":
    settings = get_settings()
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port)
