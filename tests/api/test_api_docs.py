"""The API describes itself: OpenAPI at /docs, every route documented and typed."""

from __future__ import annotations

from tests.api.conftest import Api


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
