"""Reading what the local components declared: single resources and their Secrets."""

from __future__ import annotations

from infra.k8s.render import SECRET_SIG
from infra.offline import Inventory, Resource

SECRET = "kubernetes:core/v1:Secret"


def one(inv: Inventory, type_token: str) -> Resource:
    found = inv.of_type(type_token)
    assert len(found) == 1, f"{len(found)} x {type_token}"
    return found[0]


def secret_data(res: Resource) -> dict[str, str]:
    """A Secret's `stringData`, which must travel as a Pulumi secret."""
    data = res.inputs["stringData"]
    assert SECRET_SIG in data, f"{res.name}: stringData is not a Pulumi secret"
    value: dict[str, str] = data["value"]
    return value


def secrets_by_name(inv: Inventory) -> dict[tuple[str, str], Resource]:
    return {
        (s.inputs["metadata"]["namespace"], s.inputs["metadata"]["name"]): s
        for s in inv.of_type(SECRET)
    }
