"""Contract tests: what the program declares, checked against upstream's own files rather than
against our reading of upstream's documentation (issue 17).

The upstream files live under `tests/contracts/`, each with a header naming the repository, path,
commit and the version the program pins (see `tests/contracts/README.md`):

- every Helm release's `values`, key by key, against the chart's own `values.yaml`;
- every KEDA `kafka` trigger and its TriggerAuthentication against the scaler's parameter struct;
- every Strimzi resource against its CRD's `openAPIV3Schema`, strictly (unknown fields rejected,
  as `kubectl --validate=strict` and server-side field validation do);
- the vpc-cni add-on's `configurationValues` against the aws-vpc-cni chart's values.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from infra.offline import Inventory, Resource, run_program

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
RELEASE = "kubernetes:helm.sh/v3:Release"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
TRIGGER_AUTH = "kubernetes:keda.sh/v1alpha1:TriggerAuthentication"
CLUSTER_TRIGGER_AUTH = "kubernetes:keda.sh/v1alpha1:ClusterTriggerAuthentication"
ADDON = "aws:eks/addon:Addon"
STRIMZI_PREFIX = "kubernetes:kafka.strimzi.io/"

# Every shipped stack, plus the optional add-ons (monitoring, GPU operator) switched on.
RUNS: dict[str, tuple[str, dict[str, Any]]] = {
    "local": ("local", {}),
    "aws-dev": ("aws-dev", {}),
    "aws-prod+monitoring": ("aws-prod", {"enableMonitoring": True}),
    "aws-prod+gpu-operator": ("aws-prod", {"enableMonitoring": True, "enableGpuOperator": True}),
}
AWS_RUNS = [label for label, (stack, _) in RUNS.items() if stack.startswith("aws")]


@functools.cache
def inventory(label: str) -> Inventory:
    stack, overrides = RUNS[label]
    return run_program(stack, overrides=overrides)


# ---------------------------------------------------------------------------------------------
# Saved files and their headers
# ---------------------------------------------------------------------------------------------

_HEADER_FIELD = re.compile(r"^(?:#|//)\s*(repo|path|commit|pinned|stored):\s*(.+)$")
_HEADER_END = ("# ----", "// ----")


def header(path: Path) -> dict[str, str]:
    """The `key: value` lines of a contract file's header (or of its `<file>.source` sidecar)."""
    source = path.with_name(path.name + ".source")
    text = (source if source.is_file() else path).read_text()
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith(_HEADER_END):
            break
        match = _HEADER_FIELD.match(line)
        if match:
            fields.setdefault(match[1], match[2].strip())
    return fields


def pinned_version(path: Path) -> str:
    return header(path)["pinned"].split()[0]


def load_yaml(relative: str) -> Any:
    return yaml.safe_load((CONTRACTS / relative).read_text())


def contract_files() -> list[Path]:
    return sorted(
        p
        for p in CONTRACTS.rglob("*")
        if p.is_file() and p.name != "README.md" and not p.name.endswith(".source")
    )


def test_every_contract_file_names_its_source() -> None:
    files = contract_files()
    assert files, f"no contract files under {CONTRACTS}"
    bad = {}
    for path in files:
        fields = header(path)
        missing = [k for k in ("repo", "path", "commit", "pinned") if k not in fields]
        if missing:
            bad[str(path.relative_to(CONTRACTS))] = f"header lacks {missing}"
        elif not re.fullmatch(r"[0-9a-f]{40}", fields["commit"]):
            bad[str(path.relative_to(CONTRACTS))] = f"commit {fields['commit']!r} is not a SHA"
        elif not re.fullmatch(r"[\w.-]+/[\w.-]+", fields["repo"].split()[0]):
            bad[str(path.relative_to(CONTRACTS))] = f"repo {fields['repo']!r} is not owner/name"
    assert not bad, bad


# ---------------------------------------------------------------------------------------------
# 1. Helm values against the chart's own values.yaml
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartContract:
    values: str  # under tests/contracts/
    # Dotted paths whose default is not `{}` / `[]` but which upstream documents as free-form
    # (anything below them is passed through), with the reason.
    free_form: tuple[str, ...] = ()


CHART_CONTRACTS: dict[str, ChartContract] = {
    "metrics-server": ChartContract("metrics-server/values.yaml"),
    "keda": ChartContract("keda/values.yaml"),
    "nvidia-device-plugin": ChartContract("nvidia-device-plugin/values.yaml"),
    "gpu-operator": ChartContract("gpu-operator/values.yaml"),
    "kube-prometheus-stack": ChartContract("kube-prometheus-stack/values.prometheusSpec.yaml"),
    "prometheus-adapter": ChartContract("prometheus-adapter/values.yaml"),
    "dcgm-exporter": ChartContract("dcgm-exporter/values.yaml"),
    # extraArgs: "Additional container arguments ... Refer to the FAQ for the full list" -- each
    # key becomes a `--key=value` flag; the default only holds logtostderr/stderrthreshold/v.
    "cluster-autoscaler": ChartContract("cluster-autoscaler/values.yaml", ("extraArgs",)),
    # resources: a Kubernetes ResourceRequirements ("Configure resource requests and limits").
    "minio": ChartContract("minio/values.yaml", ("resources",)),
    "strimzi-kafka-operator": ChartContract("strimzi-kafka-operator/values.yaml"),
}


def chart_key(release: Resource) -> str:
    """`oci://quay.io/strimzi-helm/strimzi-kafka-operator` -> `strimzi-kafka-operator`."""
    return str(release.inputs["chart"]).rstrip("/").rsplit("/", 1)[-1]


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path) or "<root>"


def undeclared_values(
    ours: Any, upstream: Any, free_form: tuple[str, ...] = (), path: tuple[str, ...] = ()
) -> list[str]:
    """Every key path in `ours` that the chart's values.yaml (`upstream`) does not declare.

    Free-form, so not descended into: a default of `{}`, `[]` or null (values.yaml cannot say
    what goes there), any list (its items are not keyed), and the chart's documented `free_form`
    paths. A mapping set where upstream has a scalar or list, or the reverse, is reported too.
    """
    if not isinstance(ours, dict) or upstream is None or upstream == {}:
        return []
    if not isinstance(upstream, dict):
        kind = type(upstream).__name__
        return [f"{_dotted(path)}: we set a mapping, upstream's default is a {kind} ({upstream!r})"]
    problems: list[str] = []
    for key, value in ours.items():
        sub = (*path, str(key))
        if _dotted(sub) in free_form:
            continue
        if key not in upstream:
            why = "not in the saved excerpt" if upstream.get("__excerpt__") else "not a chart value"
            problems.append(f"{_dotted(sub)}: {why}")
            continue
        default = upstream[key]
        if isinstance(value, dict):
            problems += undeclared_values(value, default, free_form, sub)
        elif isinstance(default, dict) and default and value is not None:
            kind = type(value).__name__
            problems.append(f"{_dotted(sub)}: we set a {kind}, upstream's default is a mapping")
    return problems


def release_problems(release: Resource) -> list[str]:
    key = chart_key(release)
    contract = CHART_CONTRACTS.get(key)
    if contract is None:
        return [f"chart {key!r}: no saved values.yaml under tests/contracts/"]
    upstream = load_yaml(contract.values)
    values = release.inputs.get("values") or {}
    return [
        f"{contract.values}: {p}" for p in undeclared_values(values, upstream, contract.free_form)
    ]


def releases(label: str) -> list[Resource]:
    return inventory(label).of_type(RELEASE)


@pytest.mark.parametrize("label", list(RUNS))
def test_release_values_are_chart_values(label: str) -> None:
    found = releases(label)
    assert found, f"{label}: no Helm releases"
    problems = {f"{r.name} ({chart_key(r)})": release_problems(r) for r in found}
    problems = {k: v for k, v in problems.items() if v}
    assert not problems, f"{label}: values the charts do not declare: {problems}"


def test_every_declared_chart_has_a_contract_and_its_pin() -> None:
    """Each chart the program installs has a saved values.yaml whose header pins the same version
    the program declares: bumping a chart without re-fetching its contract fails here."""
    mismatches = {}
    for label in RUNS:
        for release in releases(label):
            key = chart_key(release)
            if key not in CHART_CONTRACTS:
                mismatches[key] = "no contract"
                continue
            pinned = pinned_version(CONTRACTS / CHART_CONTRACTS[key].values)
            if pinned != str(release.inputs["version"]):
                mismatches[key] = (
                    f"contract pins {pinned}, program declares {release.inputs['version']}"
                )
    assert not mismatches, mismatches


def _autoscaler_values() -> dict[str, Any]:
    (release,) = [r for r in releases("aws-dev") if chart_key(r) == "cluster-autoscaler"]
    return copy.deepcopy(release.inputs["values"])


def test_a_misspelt_value_fails_the_contract() -> None:
    contract = CHART_CONTRACTS["cluster-autoscaler"]
    upstream = load_yaml(contract.values)
    values = _autoscaler_values()
    assert not undeclared_values(values, upstream, contract.free_form)

    values["autoDiscovry"] = values.pop("autoDiscovery")
    values["rbac"]["serviceAccount"]["nmae"] = values["rbac"]["serviceAccount"].pop("name")
    values["nodeSelector"]["any.label/is-fine"] = "x"  # free-form: upstream default {}
    values["extraArgs"]["scan-interval"] = "10s"  # free-form: documented container flags
    assert sorted(undeclared_values(values, upstream, contract.free_form)) == [
        "autoDiscovry: not a chart value",
        "rbac.serviceAccount.nmae: not a chart value",
    ]


def test_a_misspelt_top_level_value_fails_for_the_device_plugin() -> None:
    (release,) = [r for r in releases("aws-dev") if chart_key(r) == "nvidia-device-plugin"]
    values = copy.deepcopy(release.inputs["values"])
    values["priorityClass"] = values.pop("priorityClassName")
    assert release_problems(release) == []
    upstream = load_yaml(CHART_CONTRACTS["nvidia-device-plugin"].values)
    assert undeclared_values(values, upstream) == ["priorityClass: not a chart value"]


def test_a_mapping_under_a_scalar_fails_the_contract() -> None:
    upstream = load_yaml(CHART_CONTRACTS["metrics-server"].values)
    assert undeclared_values({"priorityClassName": {"name": "x"}}, upstream) == [
        "priorityClassName: we set a mapping, upstream's default is a str "
        "('system-cluster-critical')"
    ]


# ---------------------------------------------------------------------------------------------
# 2. KEDA kafka triggers against the scaler's parameter struct
# ---------------------------------------------------------------------------------------------

KAFKA_SCALER = CONTRACTS / "keda" / "kafka_scaler.go"
_FIELD = re.compile(r"^\s*(\w+)\s+(\S+)\s+`keda:\"([^\"]+)\"`", re.M)
_TOKEN_PROVIDER = re.compile(
    r"KafkaSASLOAuthTokenProvider\w+\s+kafkaSaslOAuthTokenProvider\s*=\s*\"(\w+)\""
)


@dataclass(frozen=True)
class ScalerParam:
    name: str
    go_type: str
    sources: frozenset[str]  # triggerMetadata, authParams, resolvedEnv
    enum: tuple[str, ...] | None


@functools.cache
def kafka_scaler_params() -> dict[str, ScalerParam]:
    """The `keda:"name=...,order=...,enum=..."` tags of the scaler's metadata struct."""
    source = KAFKA_SCALER.read_text()
    params: dict[str, ScalerParam] = {}
    for _field, go_type, tag in _FIELD.findall(source):
        parts = dict(p.split("=", 1) if "=" in p else (p, "") for p in tag.split(","))
        enum = tuple(parts["enum"].split(";")) if "enum" in parts else None
        name = parts["name"]
        if name == "saslTokenProvider" and enum is None:  # validated from the constants instead
            enum = tuple(_TOKEN_PROVIDER.findall(source))
        params[name] = ScalerParam(name, go_type, frozenset(parts["order"].split(";")), enum)
    return params


def _scaler_rule(message: str) -> str:
    """A rule the tests enforce, tied to the saved source: its error text must be in there."""
    assert message in KAFKA_SCALER.read_text(), f"kafka_scaler.go no longer says {message!r}"
    return message


_GO_BOOLS = {"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"}


def _type_problem(param: ScalerParam, value: str) -> str | None:
    if param.go_type in ("int64", "int32", "int"):
        if not re.fullmatch(r"-?\d+", value):
            return f"{param.name}={value!r}: not an integer ({param.go_type})"
    elif param.go_type == "bool" and value not in _GO_BOOLS:
        return f"{param.name}={value!r}: not a Go bool"
    elif param.go_type == "[]int32" and not re.fullmatch(r"[\d,\s-]+", value):
        return f"{param.name}={value!r}: not a list of partitions"
    return None


def kafka_trigger_problems(metadata: dict[str, Any], auth_params: set[str]) -> list[str]:
    """What the kafka scaler would reject: unknown metadata keys or auth parameters, values outside
    an enum or of the wrong type, and the Validate() rules for the chosen SASL mechanism."""
    params = kafka_scaler_params()
    problems: list[str] = []
    for key, raw in metadata.items():
        param = params.get(key)
        if param is None and key.endswith("FromEnv"):
            base = params.get(key[: -len("FromEnv")])
            if base is not None and "resolvedEnv" in base.sources:
                continue
        if param is None or "triggerMetadata" not in param.sources:
            problems.append(f"metadata.{key}: not a kafka trigger parameter")
            continue
        value = str(raw)
        if param.enum is not None and value not in param.enum:
            problems.append(f"metadata.{key}={value!r}: not one of {list(param.enum)}")
        type_problem = _type_problem(param, value)
        if type_problem:
            problems.append(f"metadata.{type_problem}")
    for name in sorted(auth_params):
        param = params.get(name)
        if param is None or "authParams" not in param.sources:
            problems.append(f"TriggerAuthentication parameter {name!r}: not a kafka auth parameter")

    def given(name: str) -> bool:
        return name in metadata or name in auth_params

    sasl = str(metadata.get("sasl", ""))
    tls = str(metadata.get("tls", ""))
    provider = str(metadata.get("saslTokenProvider", "") or "bearer")
    if sasl in ("plaintext", "scram_sha256", "scram_sha512"):
        for name, rule in (("username", "no username given"), ("password", "no password given")):
            if not given(name):
                problems.append(f"sasl={sasl}: {_scaler_rule(rule)}")
    if sasl == "oauthbearer" and provider == "aws_msk_iam":
        if tls != "enable":
            problems.append(
                f"sasl=oauthbearer: {_scaler_rule('TLS is required for AWS MSK authentication')}"
            )
        if not metadata.get("awsRegion"):
            problems.append(f"sasl=oauthbearer: {_scaler_rule('no awsRegion given')}")
    if sasl == "oauthbearer" and provider == "bearer":
        for name in ("username", "password", "oauthTokenEndpointUri"):
            if not given(name):
                problems.append(f"sasl=oauthbearer, saslTokenProvider=bearer: needs {name}")
    if tls == "enable" and given("cert") != given("key"):
        problems.append(
            f"tls=enable: {_scaler_rule('cert and key must both be provided or both be empty')}"
        )
    return problems


def _trigger_auth(inv: Inventory, namespace: str, ref: dict[str, Any]) -> Resource | None:
    kind = ref.get("kind", "TriggerAuthentication")
    token = CLUSTER_TRIGGER_AUTH if kind == "ClusterTriggerAuthentication" else TRIGGER_AUTH
    for res in inv.of_type(token):
        meta = res.inputs.get("metadata") or {}
        if meta.get("name") == ref.get("name") and (
            token == CLUSTER_TRIGGER_AUTH or meta.get("namespace") == namespace
        ):
            return res
    return None


def kafka_triggers(inv: Inventory) -> list[tuple[str, dict[str, Any], set[str] | None]]:
    """(where, trigger metadata, TriggerAuthentication parameter names or None if unresolved)."""
    found = []
    for scaled in inv.of_type(SCALED_OBJECT):
        meta = scaled.inputs.get("metadata") or {}
        namespace = meta.get("namespace", "default")
        for i, trigger in enumerate((scaled.inputs.get("spec") or {}).get("triggers", [])):
            if trigger.get("type") != "kafka":
                continue
            where = f"ScaledObject {namespace}/{meta.get('name')} triggers[{i}]"
            ref = trigger.get("authenticationRef")
            auth_params: set[str] | None = set()
            if ref:
                auth = _trigger_auth(inv, namespace, ref)
                if auth is None:
                    auth_params = None
                else:
                    spec = auth.inputs.get("spec") or {}
                    refs = [*spec.get("secretTargetRef", []), *spec.get("configMapTargetRef", [])]
                    auth_params = {str(r["parameter"]) for r in refs}
                    auth_params |= {str(e["parameter"]) for e in spec.get("env", [])}
            found.append((where, dict(trigger.get("metadata") or {}), auth_params))
    return found


def test_kafka_scaler_contract_is_parsed() -> None:
    params = kafka_scaler_params()
    assert {"bootstrapServers", "consumerGroup", "topic", "lagThreshold", "sasl", "tls"} <= set(
        params
    )
    assert params["sasl"].enum == (
        "none",
        "plaintext",
        "scram_sha256",
        "scram_sha512",
        "oauthbearer",
        "gssapi",
    )
    assert params["saslTokenProvider"].enum == ("bearer", "aws_msk_iam")
    assert params["tls"].enum == ("enable", "disable")
    assert params["awsRegion"].sources == frozenset({"triggerMetadata"})
    assert params["password"].sources == frozenset({"authParams"})
    assert pinned_version(KAFKA_SCALER) == pinned_version(CONTRACTS / "keda" / "values.yaml")


@pytest.mark.parametrize("label", list(RUNS))
def test_kafka_triggers_meet_the_scaler_contract(label: str) -> None:
    triggers = kafka_triggers(inventory(label))
    assert triggers, f"{label}: no kafka trigger (the scorer should have one)"
    problems = {}
    for where, metadata, auth_params in triggers:
        found = (
            [f"authenticationRef: no such TriggerAuthentication among {TRIGGER_AUTH}"]
            if auth_params is None
            else kafka_trigger_problems(metadata, auth_params)
        )
        if found:
            problems[where] = found
    assert not problems, f"{label}: the kafka scaler would reject: {problems}"


@pytest.mark.parametrize("label", list(RUNS))
def test_every_lag_scaled_consumer_has_a_trigger_the_scaler_accepts(label: str) -> None:
    """The scorer's and the feature stage's triggers, each with its resolved authentication."""
    triggers = {where: (meta, auth) for where, meta, auth in kafka_triggers(inventory(label))}
    assert set(triggers) == {
        "ScaledObject serving/scorer triggers[0]",
        "ScaledObject training/features triggers[0]",
    }
    meta, auth = triggers["ScaledObject training/features triggers[0]"]
    assert meta["consumerGroup"] == "features" and auth is not None
    assert kafka_trigger_problems(meta, auth) == []


def test_kafka_contract_rejects_what_the_scaler_rejects() -> None:
    msk = {
        "bootstrapServers": "b-1:9098",
        "consumerGroup": "g",
        "topic": "t",
        "tls": "enable",
        "awsRegion": "us-east-1",
    }
    assert (
        kafka_trigger_problems(
            {**msk, "sasl": "oauthbearer", "saslTokenProvider": "aws_msk_iam"}, set()
        )
        == []
    )
    assert kafka_trigger_problems({**msk, "sasl": "aws_msk_iam"}, set()) == [
        "metadata.sasl='aws_msk_iam': not one of "
        "['none', 'plaintext', 'scram_sha256', 'scram_sha512', 'oauthbearer', 'gssapi']"
    ]
    no_tls = {**msk, "tls": "disable", "sasl": "oauthbearer", "saslTokenProvider": "aws_msk_iam"}
    assert kafka_trigger_problems(no_tls, set()) == [
        "sasl=oauthbearer: TLS is required for AWS MSK authentication"
    ]
    scram = {"bootstrapServers": "k:9093", "consumerGroup": "g", "sasl": "scram_sha512"}
    assert kafka_trigger_problems(scram, {"username"}) == ["sasl=scram_sha512: no password given"]
    assert kafka_trigger_problems({**scram, "consumergroup": "g"}, {"username", "password"}) == [
        "metadata.consumergroup: not a kafka trigger parameter"
    ]
    assert kafka_trigger_problems({**scram, "lagThreshold": "lots"}, {"username", "password"}) == [
        "metadata.lagThreshold='lots': not an integer (int64)"
    ]
    assert kafka_trigger_problems(scram, {"username", "password", "passwd"}) == [
        "TriggerAuthentication parameter 'passwd': not a kafka auth parameter"
    ]


# ---------------------------------------------------------------------------------------------
# 3. Strimzi resources against the CRDs' openAPIV3Schema
# ---------------------------------------------------------------------------------------------

STRIMZI_CRDS = {
    "Kafka": "strimzi-crds/040-Crd-kafka.subtree.yaml",
    "KafkaNodePool": "strimzi-crds/04A-Crd-kafkanodepool.yaml",
    "KafkaTopic": "strimzi-crds/043-Crd-kafkatopic.yaml",
    "KafkaUser": "strimzi-crds/044-Crd-kafkauser.yaml",
}
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf")


def strict_schema(node: Any) -> Any:
    """A copy of an OpenAPI v3 schema in which objects with `properties` reject unknown fields,
    unless upstream preserves unknown fields there. Our markers: `x-ascent-omitted` (a subtree not
    saved: anything goes) and `x-ascent-partial` (only some properties saved: unknown siblings
    pass)."""
    if not isinstance(node, dict):
        return node
    if node.get("x-ascent-omitted"):
        return {}
    out = {k: v for k, v in node.items() if k != "x-ascent-partial"}
    if isinstance(node.get("properties"), dict):
        out["properties"] = {k: strict_schema(v) for k, v in node["properties"].items()}
        if not (
            node.get("x-ascent-partial")
            or node.get("x-kubernetes-preserve-unknown-fields")
            or "additionalProperties" in node
        ):
            out["additionalProperties"] = False
    if isinstance(node.get("items"), dict):
        out["items"] = strict_schema(node["items"])
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = strict_schema(node["additionalProperties"])
    for key in _SUBSCHEMA_LISTS:
        if isinstance(node.get(key), list):
            out[key] = [strict_schema(s) for s in node[key]]
    return out


@functools.cache
def crd_validator(kind: str, version: str) -> jsonschema.Draft7Validator:
    crd = load_yaml(STRIMZI_CRDS[kind])
    assert crd["spec"]["names"]["kind"] == kind
    (entry,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = strict_schema(copy.deepcopy(entry["schema"]["openAPIV3Schema"]))
    return jsonschema.Draft7Validator(schema)


def crd_errors(doc: dict[str, Any]) -> list[str]:
    kind = doc["kind"]
    if kind not in STRIMZI_CRDS:
        return [f"{kind}: no saved CRD under tests/contracts/strimzi-crds/"]
    version = doc["apiVersion"].split("/", 1)[1]
    errors = crd_validator(kind, version).iter_errors(doc)
    return sorted(f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors)


def strimzi_documents(inv: Inventory) -> list[dict[str, Any]]:
    keys = ("apiVersion", "kind", "metadata", "spec")
    return [
        {k: r.inputs[k] for k in keys if k in r.inputs}
        for r in inv.resources
        if r.type.startswith(STRIMZI_PREFIX)
    ]


def test_strimzi_resources_validate_against_the_crds() -> None:
    docs = strimzi_documents(inventory("local"))
    assert {d["kind"] for d in docs} == set(STRIMZI_CRDS)
    errors = {f"{d['kind']}/{d['metadata']['name']}": crd_errors(d) for d in docs}
    errors = {k: v for k, v in errors.items() if v}
    assert not errors, errors


def test_strimzi_crd_pins_match_the_program() -> None:
    from infra.local.kafka import API_VERSION, STRIMZI_VERSION

    for relative in STRIMZI_CRDS.values():
        assert pinned_version(CONTRACTS / relative) == STRIMZI_VERSION, relative
    assert {d["apiVersion"] for d in strimzi_documents(inventory("local"))} == {API_VERSION}


def _doc(kind: str) -> dict[str, Any]:
    (doc,) = [d for d in strimzi_documents(inventory("local")) if d["kind"] == kind][:1]
    return copy.deepcopy(doc)


def test_strimzi_contract_rejects_misspelt_and_invalid_fields() -> None:
    kafka = _doc("Kafka")
    listener = kafka["spec"]["kafka"]["listeners"][0]
    listener["authentification"] = listener.pop("authentication")
    kafka["spec"]["kafka"]["authorization"]["type"] = "simpel"
    assert crd_errors(kafka) == [
        "spec.kafka.authorization.type: 'simpel' is not one of "
        "['simple', 'opa', 'keycloak', 'custom']",
        "spec.kafka.listeners.0: Additional properties are not allowed "
        "('authentification' was unexpected)",
    ]
    pool = _doc("KafkaNodePool")
    del pool["spec"]["roles"]
    assert crd_errors(pool) == ["spec: 'roles' is a required property"]
    user = _doc("KafkaUser")
    user["spec"]["authorization"]["acls"][0]["operations"] = ["Reed"]
    assert len(crd_errors(user)) == 1 and "'Reed' is not one of" in crd_errors(user)[0]
    topic = _doc("KafkaTopic")
    topic["spec"]["partitions"] = 0
    assert crd_errors(topic) == ["spec.partitions: 0 is less than the minimum of 1"]


# ---------------------------------------------------------------------------------------------
# 4. The EKS vpc-cni add-on's configurationValues against the aws-vpc-cni chart
# ---------------------------------------------------------------------------------------------

VPC_CNI_VALUES = "aws-vpc-cni/values.yaml"


def scalar_type_problems(ours: Any, upstream: Any, path: tuple[str, ...] = ()) -> list[str]:
    """Scalars whose type differs from upstream's default. The add-on's configuration schema is
    typed (its flags are strings "true"/"false", as the chart's defaults are), unlike Helm."""
    if not isinstance(ours, dict) or not isinstance(upstream, dict):
        return []
    problems: list[str] = []
    for key, value in ours.items():
        sub = (*path, str(key))
        default = upstream.get(key)
        if isinstance(value, dict):
            problems += scalar_type_problems(value, default, sub)
        elif isinstance(default, str) and not isinstance(value, str):
            problems.append(f"{_dotted(sub)}: {value!r} must be a string like {default!r}")
    return problems


def vpc_cni_problems(configuration: dict[str, Any]) -> list[str]:
    upstream = load_yaml(VPC_CNI_VALUES)
    # env: the CNI's environment variables (upstream lists a subset; every value is a string)
    found = undeclared_values(configuration, upstream, free_form=("env",))
    found += scalar_type_problems(configuration, upstream)
    known = upstream["env"]  # those are type-checked above
    env = configuration.get("env", {})
    found += [
        f"env.{k}: {v!r} must be a string"
        for k, v in env.items()
        if k not in known and not isinstance(v, str)
    ]
    return found


@pytest.mark.parametrize("label", AWS_RUNS)
def test_vpc_cni_configuration_values_meet_the_chart(label: str) -> None:
    addons = [a for a in inventory(label).of_type(ADDON) if a.inputs.get("addonName") == "vpc-cni"]
    assert len(addons) == 1, f"{label}: {len(addons)} vpc-cni add-ons"
    (addon,) = addons
    assert addon.inputs["addonVersion"] == pinned_version(CONTRACTS / VPC_CNI_VALUES)
    raw = addon.inputs.get("configurationValues")
    if raw is None:
        return  # nothing configured: the add-on's defaults apply
    configuration = json.loads(raw)
    assert isinstance(configuration, dict), f"configurationValues is not a JSON object: {raw}"
    assert not vpc_cni_problems(configuration), vpc_cni_problems(configuration)


def test_vpc_cni_contract_rejects_misspelt_and_mistyped_values() -> None:
    assert vpc_cni_problems({"enableNetworkPolicy": "true"}) == []
    assert vpc_cni_problems({"enableNetworkPolicy": True}) == [
        "enableNetworkPolicy: True must be a string like 'false'"
    ]
    assert vpc_cni_problems({"enableNetworkPolicies": "true"}) == [
        "enableNetworkPolicies: not a chart value"
    ]
    assert vpc_cni_problems({"env": {"ENABLE_PREFIX_DELEGATION": True, "X": "1"}}) == [
        "env.ENABLE_PREFIX_DELEGATION: True must be a string like 'false'"
    ]
    assert vpc_cni_problems({"env": {"NOT_IN_THE_CHART": 1}}) == [
        "env.NOT_IN_THE_CHART: 1 must be a string"
    ]
