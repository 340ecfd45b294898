"""The API describes itself: OpenAPI at /docs, every route documented and typed."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.stack import CLIENT


async def test_every_route_has_a_description_and_a_response_model(api: Api) -> None:
    assert (await api.http.get("/docs")).status_code == 200
    schema = (await api.http.get("/openapi.json")).json()
    undocumented = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            success = next(code for code in operation["responses"] if code.startswith("2"))
            content = operation["responses"][success].get("content", {})
            # JSON answers declare their schema; a chart declares its media type.
            typed = (
                success == "204"
                or "schema" in content.get("application/json", {})
                or "image/svg+xml" in content
            )
            if not operation.get("description") or not typed:
                undocumented.append(f"{method.upper()} {path}")
    assert undocumented == []
    assert len(schema["paths"]) >= 20


async def test_metrics_count_requests_by_route(api: Api) -> None:
    await api.http.get("/orders", headers=api.auth(CLIENT))
    metrics = (await api.http.get("/metrics")).text
    assert 'xigua_api_requests_total{method="GET",route="/orders",status="200"}' in metrics
    assert "xigua_api_request_seconds_bucket" in metrics


async def test_metrics_count_refusals_under_their_route_template(api: Api) -> None:
    response = await api.http.get("/orders/no-such-order", headers=api.auth(CLIENT))
    assert response.status_code == 404
    metrics = (await api.http.get("/metrics")).text
    route = 'route="/orders/{order_id}",status="404"'
    assert f'xigua_api_requests_total{{method="GET",{route}}} 1.0' in metrics
