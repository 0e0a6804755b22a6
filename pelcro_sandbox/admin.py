"""Admin endpoints under /_sandbox/ to drive a separately running sandbox (loopback only)."""

import ipaddress
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from pelcro_sandbox.sandbox import Sandbox


def allowed(client_host: str) -> bool:
    """Unauthenticated by design, so only a client on this machine may use them."""
    try:
        return ipaddress.ip_address(client_host).is_loopback
    except ValueError:
        return False


def handle(
    sandbox: "Sandbox", method: str, path: str, params: dict[str, str], body: bytes, *, origin: str
) -> tuple[int, Any]:
    """(status, JSON payload) for one admin call; KeyError/ValueError become 400s upstream."""
    parts = path.removeprefix("/_sandbox/").strip("/").split("/")
    data: dict[str, Any] = orjson.loads(body) if body else {}
    if method == "GET" and parts == ["info"]:
        return 200, {
            "base_url": f"{origin}/api/v1/core",
            "oauth_url": origin,
            "api_key": sandbox.api_key,
            "site_ids": sandbox.site_ids,
            "other_site_id": sandbox.other_site_id,
            "oauth_client_id": sandbox.oauth_client.client_id,
            "oauth_client_secret": sandbox.oauth_client.client_secret,
            "oauth_redirect_uri": sandbox.oauth_client.redirect_uri,
        }
    if method == "GET" and parts == ["stats"]:
        stats = sandbox.stats
        return 200, {
            "requests": stats.requests,
            "throttled": stats.throttled,
            "served": len(stats.served),
            "max_in_60s": stats.max_in_window(),
            "by_status": {str(k): v for k, v in stats.by_status.items()},
            "faults": stats.faults,
        }
    if method == "GET" and len(parts) == 2 and parts[0] == "truth":
        return 200, {"data": sandbox.truth(parts[1], int(params["site_id"]))}
    if method != "POST":
        return 404, {"message": "Not Found"}
    return _post(sandbox, parts, data)


def _post(sandbox: "Sandbox", parts: list[str], data: dict[str, Any]) -> tuple[int, Any]:
    if parts == ["mutate"]:
        return 200, sandbox.mutate(
            updates=data.get("updates"), creates=data.get("creates"), deletes=data.get("deletes")
        )
    if parts == ["keys"]:
        return 201, {"key": sandbox.create_key(restricted=bool(data.get("restricted")))}
    if len(parts) == 3 and parts[0] == "keys":
        action = {
            "revoke": sandbox.revoke_key,
            "reactivate": sandbox.reactivate_key,
            "delete": sandbox.delete_key,
        }[parts[2]]
        action(parts[1])
        return 200, {"key": parts[1], "action": parts[2]}
    if parts == ["rate-limit"]:
        sandbox.set_rate_limit(data.get("limit"))
        return 200, {"rate_limit": data.get("limit")}
    if parts == ["latency"]:
        sandbox.set_latency(float(data.get("latency", 0)), jitter=float(data.get("jitter", 0)))
        return 200, {"latency": sandbox.config.latency}
    if parts == ["faults"]:
        sandbox.set_faults(**data)
        return 200, vars(sandbox.config.faults)
    if parts == ["expire-tokens"]:
        sandbox.expire_tokens()
        return 200, {"expired": True}
    if parts == ["reset-stats"]:
        sandbox.reset_stats()
        return 200, {"reset": True}
    return 404, {"message": "Not Found"}
