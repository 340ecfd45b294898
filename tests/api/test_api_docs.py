"""The API describes itself: OpenAPI at /docs, every route documented and typed."""

from __future__ import annotations

from tests.api.conftest import Api
from workflows.actions import ACTIONS
from workflows.messages import ActionInput


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


async def test_the_action_routes_are_the_action_table(api: Api) -> None:
    # One definition per action (workflows/actions.py): its route, its body and its docs.
    schema = (await api.http.get("/openapi.json")).json()
    routes = {p for p, ops in schema["paths"].items() if p.startswith("/orders/{order_id}/")}
    action_routes = {p for p in routes if "post" in schema["paths"][p]}
    assert action_routes == {f"/orders/{{order_id}}/{spec.path}" for spec in ACTIONS.values()}
    for spec in ACTIONS.values():
        operation = schema["paths"][f"/orders/{{order_id}}/{spec.path}"]["post"]
        assert operation["description"].startswith(spec.summary)
        assert ("requestBody" in operation) == (spec.input is not ActionInput)
