"""Webhook endpoints over HTTP (rule N2): a client registers one and sees its secret once,
rotates it, deletes it, reads its delivery log; nobody else touches it; and no endpoint may
point where only we can reach (SSRF)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import httpx
import pytest

from api.main import create_app
from bootstrap import relay, simulated_adapters
from tests.api.conftest import OPS, Api, api_settings
from tests.api.test_api_notifications import write
from tests.notify.support import FakeClock, Receiver
from tests.stack import CLIENT, CREATOR, MCN, OTHER_CLIENT, REVIEWER
from workflows.messages import Actor, Notification

REFUSED = [
    "https://10.0.0.1/hook",
    "https://10.255.255.255:8443/hook",
    "https://192.168.1.20/hook",
    "https://172.16.0.1/hook",
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://169.254.169.254/latest/meta-data/",
    "https://[fe80::1]/hook",
    "https://[fc00::1]/hook",
    "https://[::ffff:10.0.0.1]/hook",  # IPv4-mapped IPv6
    "https://[::ffff:127.0.0.1]/hook",
    "https://[2002:a00:1::]/hook",  # 6to4 of 10.0.0.1
    "https://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
    "https://0.0.0.0/hook",
    "https://[::]/hook",
    "https://224.0.0.1/hook",  # multicast
    "https://100.64.0.1/hook",  # carrier-grade NAT
    "https://127.0.0.1/hook",  # loopback over https: the dev exception is plain http only
    "https://[::1]/hook",
    "https://localhost/hook",
    "http://93.184.216.34/hook",  # plain http to a public address
    "ftp://127.0.0.1/hook",
    "https://user:pass@93.184.216.34/hook",
    "https:///hook",
    "not a url",
]


async def register(api: Api, url: str, actor: Actor = CLIENT) -> httpx.Response:
    return await api.http.post("/me/webhooks", json={"url": url}, headers=api.auth(actor))


async def test_a_client_registers_rotates_and_deletes_an_endpoint(api_on_every_db: Api) -> None:
    # rule N2 (SQLite, PostgreSQL)
    api = api_on_every_db
    made = await register(api, "http://127.0.0.1:9/xigua")
    assert made.status_code == 201, made.text
    endpoint = made.json()
    secret = endpoint["secret"]
    assert secret.startswith("whsec_")
    assert len(secret) > 40
    listed = (await api.http.get("/me/webhooks", headers=api.auth(CLIENT))).json()
    assert listed == [{k: v for k, v in endpoint.items() if k != "secret"}]
    assert secret not in str(listed)
    rotated = await api.http.post(
        f"/me/webhooks/{endpoint['id']}/rotate-secret", headers=api.auth(CLIENT)
    )
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != secret
    assert rotated.json()["secret_rotated_at"] is not None

    # Another client's, or a stranger's: not found, and nothing changes.
    for path, method in (
        (f"/me/webhooks/{endpoint['id']}/rotate-secret", "POST"),
        (f"/me/webhooks/{endpoint['id']}", "DELETE"),
        (f"/me/webhooks/{endpoint['id']}/deliveries", "GET"),
    ):
        response = await api.http.request(method, path, headers=api.auth(OTHER_CLIENT))
        assert response.status_code == 404, path
    assert (await api.http.get("/me/webhooks", headers=api.auth(OTHER_CLIENT))).json() == []
    # Only clients have webhooks.
    for actor in (CREATOR, MCN, REVIEWER, OPS):
        assert (await register(api, "http://127.0.0.1:9/x", actor)).status_code == 403
        listed_by = await api.http.get("/me/webhooks", headers=api.auth(actor))
        assert listed_by.status_code == 403

    deleted = await api.http.delete(f"/me/webhooks/{endpoint['id']}", headers=api.auth(CLIENT))
    assert deleted.status_code == 204
    assert (await api.http.get("/me/webhooks", headers=api.auth(CLIENT))).json() == []
    again = await api.http.delete(f"/me/webhooks/{endpoint['id']}", headers=api.auth(CLIENT))
    assert again.status_code == 404


async def test_endpoints_that_reach_inside_our_network_are_refused(api: Api) -> None:
    # rule N2: SSRF
    for url in REFUSED:
        response = await register(api, url)
        assert response.status_code == 422, (url, response.text)
    assert (await api.http.get("/me/webhooks", headers=api.auth(CLIENT))).json() == []
    for url in ("http://127.0.0.1:8080/hook", "http://localhost:8080/hook", "http://[::1]:8/h"):
        assert (await register(api, url)).status_code == 201, url


async def test_a_host_name_resolving_to_a_private_address_is_refused(api: Api) -> None:
    # rule N2: the name is resolved at registration, and every address it has is checked
    table = {
        "hooks.intranet.example": ["10.1.2.3"],
        "metadata.example": ["169.254.169.254"],
        "mixed.example": ["93.184.216.34", "192.168.0.9"],
        "v6.example": ["::ffff:10.0.0.1"],
        "hooks.client.example": ["93.184.216.34"],
    }
    engine = api.stack.engine
    adapters = dataclasses.replace(
        simulated_adapters(engine), resolver=lambda host, port: table[host]
    )
    app = create_app(api_settings(api.stack), engine=engine, adapters=adapters)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:

        async def post(host: str) -> httpx.Response:
            url = f"https://{host}/xigua"
            return await http.post("/me/webhooks", json={"url": url}, headers=api.auth(CLIENT))

        for host in ("hooks.intranet.example", "metadata.example", "mixed.example", "v6.example"):
            response = await post(host)
            assert response.status_code == 422, host
            detail = response.json()["detail"]
            assert detail.endswith(f"{host} does not resolve to public addresses only"), detail
            assert not any(address in detail for address in table[host])
        assert (await post("hooks.client.example")).status_code == 201


async def test_production_refuses_plain_http_even_to_loopback(api: Api) -> None:
    # rule N2: the development exception is configuration
    settings = api_settings(api.stack).model_copy(update={"webhook_allow_loopback_http": False})
    app = create_app(settings, engine=api.stack.engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        response = await http.post(
            "/me/webhooks", json={"url": "http://127.0.0.1:8080/h"}, headers=api.auth(CLIENT)
        )
        assert response.status_code == 422


async def test_the_endpoint_limit_answers_409(api: Api) -> None:
    # rule N2
    limit = api_settings(api.stack).webhook_max_per_client
    for n in range(limit):
        assert (await register(api, f"http://127.0.0.1:9/{n}")).status_code == 201
    over = await register(api, "http://127.0.0.1:9/over")
    assert over.status_code == 409
    assert "at most" in over.json()["detail"]


async def test_the_client_reads_its_endpoints_delivery_log_in_pages(api_on_every_db: Api) -> None:
    # rule N2: each attempt's time, status code or error, and event id (SQLite, PostgreSQL)
    api = api_on_every_db
    with Receiver(statuses=[500, 200]) as receiver:
        endpoint = (await register(api, receiver.url)).json()
        receiver.secret = endpoint["secret"]
        write(api, "o-log", 1, [Notification(recipient=CLIENT.id, kind="accepted", body="")])
        clock = FakeClock()
        engine = api.stack.engine
        delivering = relay(engine, api_settings(api.stack), simulated_adapters(engine), clock)
        delivering.run_once()
        clock.advance(timedelta(hours=2))
        delivering.run_once()
        assert [r.signature_valid for r in receiver.received] == [True, True]
    path = f"/me/webhooks/{endpoint['id']}/deliveries"
    first = (await api.http.get(path, params={"limit": 1}, headers=api.auth(CLIENT))).json()
    (newest,) = first["items"]
    assert newest["attempt"] == 2
    assert newest["outcome"] == "delivered"
    assert newest["status_code"] == 200
    assert newest["event_id"] == receiver.received[0].event_id
    cursor = first["next_cursor"]
    second = await api.http.get(
        path, params={"limit": 1, "cursor": cursor}, headers=api.auth(CLIENT)
    )
    (oldest,) = second.json()["items"]
    assert oldest["attempt"] == 1
    assert oldest["outcome"] == "retrying"
    assert oldest["status_code"] == 500
    assert oldest["error"] == "the endpoint answered HTTP 500"
    assert second.json()["next_cursor"] is None


@pytest.mark.parametrize(
    "bad",
    ["x" * 2049, "https://a\x00b.example/", "https://a\u202eb/", "https://example.com/\u202e"],
)
async def test_a_malformed_url_answers_422(api: Api, bad: str) -> None:
    # rule A1
    assert (await register(api, bad)).status_code == 422
