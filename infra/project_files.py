"""`Pulumi.yaml` and the `Pulumi.<stack>.yaml` files: read and checked as the CLI reads them.

Used by the program itself (a kubernetes-layer stack inherits its cloud stack's file, see
infra/layers.py) and by the offline run and the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from infra.layers import CLOUD_KEYS, LAYER_KEYS, cloud_stack_file_name

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT = "ascent"


class ProjectFileError(ValueError):
    """`Pulumi.yaml` or a `Pulumi.<stack>.yaml` is missing or not what the CLI would accept; the
    message names the file (and the line, for YAML) and what is expected."""


class StackNotFound(ProjectFileError, LookupError):
    """No `Pulumi.<stack>.yaml` beside `Pulumi.yaml`."""


# What a stack file may hold at its top level besides `config` (the CLI's own keys).
STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")


def find_project_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds a `Pulumi.yaml`, as the CLI finds it."""
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    return None


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProjectFileError(f"{path.name}{where}: not valid YAML: {problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectFileError(f"{path.name}: cannot read it: {exc}") from None


def load_project(root: Path) -> dict[str, Any]:
    """`Pulumi.yaml`, checked for what the offline run reads: `name` and a `config` mapping."""
    path = root / "Pulumi.yaml"
    if not path.is_file():
        raise ProjectFileError(
            f"no Pulumi.yaml in {root}: --project-dir must name the folder that holds the project"
        )
    project = _load_yaml(path)
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        raise ProjectFileError(
            "Pulumi.yaml: must be a mapping with at least `name:` and `runtime:` (see pulumi.com/"
            "docs/iac/concepts/projects/project-file)"
        )
    if not isinstance(project.get("config") or {}, dict):
        raise ProjectFileError("Pulumi.yaml: `config:` must be a mapping of key: declaration")
    return project


def load_stack_file(path: Path) -> dict[str, Any]:
    """A stack file's `config:` mapping; every other shape is an error naming what is wrong."""
    doc = _load_yaml(path)
    if doc is None:
        raise ProjectFileError(
            f"{path.name}: is empty; a stack file holds `config:` with one `ascent:key: value` "
            "per line"
        )
    if not isinstance(doc, dict):
        raise ProjectFileError(
            f"{path.name}: must be a mapping with a `config:` key, not a {type(doc).__name__}"
        )
    stray = [k for k in doc if k not in STACK_FILE_KEYS]
    if stray:
        named = ", ".join(repr(k) for k in stray)
        raise ProjectFileError(
            f"{path.name}: top-level {named}: stack settings go under `config:` (a stack file "
            f"may hold {', '.join(STACK_FILE_KEYS)})"
        )
    config = doc.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ProjectFileError(
            f"{path.name}: `config:` must be a mapping of `ascent:key: value`, "
            f"not a {type(config).__name__}"
        )
    return config


def stack_names(root: Path = PROJECT_ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def _as_cli_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def stack_config(
    stack: str,
    root: Path = PROJECT_ROOT,
    overrides: dict[str, Any] | None = None,
    cloud_overrides: dict[str, Any] | None = None,
) -> dict[str, str]:
    """The config map the CLI would hand the program: project defaults, then the stack's values.

    `overrides` (keys with or without the `ascent:` namespace) play `pulumi config set`;
    `cloud_overrides` the same on a kubernetes layer's cloud stack.
    """
    project = load_project(root)
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        known = stack_names(root)
        raise StackNotFound(
            f"unknown stack {stack!r}: no {stack_file.name} in {root} "
            f"({'stacks: ' + ', '.join(known) if known else 'no Pulumi.<stack>.yaml there'})"
        )
    values: dict[str, Any] = {}
    for key, decl in (project.get("config") or {}).items():
        full = key if ":" in key else f"{project['name']}:{key}"
        if isinstance(decl, dict) and "default" in decl:
            values[full] = decl["default"]
        elif isinstance(decl, dict) and "value" in decl:
            values[full] = decl["value"]
    own: set[str] = set()
    for key, value in load_stack_file(stack_file).items():
        values[key if ":" in key else f"{project['name']}:{key}"] = value
        own.add(key if ":" in key else f"{project['name']}:{key}")
    for key, value in (overrides or {}).items():
        values[key if ":" in key else f"{project['name']}:{key}"] = value
        own.add(key if ":" in key else f"{project['name']}:{key}")
    values = inherit_cloud(values, own, root, cloud_overrides)
    return {k: _as_cli_string(v) for k, v in values.items()}


def linked_stacks(cloud: str, root: Path = PROJECT_ROOT) -> list[str]:
    """The kubernetes-layer stacks whose `cloudStack` is `cloud` (stack files beside it)."""
    linked = []
    for name in stack_names(root):
        values = {_full(k): v for k, v in load_stack_file(root / f"Pulumi.{name}.yaml").items()}
        ref = str(values.get(f"{PROJECT}:cloudStack") or "")
        if values.get(f"{PROJECT}:layer") == "kubernetes" and cloud_stack_file_name(ref) == cloud:
            linked.append(name)
    return linked


def _full(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


def _comparable(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value if isinstance(value, (list, dict)) else _as_cli_string(value)


def inherit_cloud(
    values: dict[str, Any],
    own_keys: set[str],
    root: Path,
    cloud_overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A kubernetes-layer stack's config: its cloud stack's file under its own values.

    `values` is what the CLI hands the program (project defaults, then this stack's file);
    `own_keys` the keys this stack's file (or `pulumi config set`) really sets. Every other key
    of the cloud stack's file is inherited; an own key the cloud layer owns must not differ from
    the cloud stack's value (infra/layers.py). Other stacks' values come back unchanged.
    """
    from infra.config import ConfigError

    if str(values.get(f"{PROJECT}:layer", "all")) != "kubernetes":
        return values
    ref = str(values.get(f"{PROJECT}:cloudStack") or "")
    if not ref:
        return values  # the config check names the missing key
    path = root / f"Pulumi.{cloud_stack_file_name(ref)}.yaml"
    if not path.is_file():
        raise ConfigError(
            [f"cloudStack: {ref!r}: no {path.name} in {root}; a kubernetes-layer stack inherits "
             "its cloud stack's file from the same checkout"]
        )  # fmt: skip
    cloud = {_full(k): v for k, v in load_stack_file(path).items()}
    cloud.update({_full(k): v for k, v in (cloud_overrides or {}).items()})
    problems = []
    if str(cloud.get(f"{PROJECT}:layer")) != "cloud":
        problems.append(f"cloudStack: {ref!r}: {path.name} must set ascent:layer: cloud")
    merged = dict(values)
    for key, value in sorted(cloud.items()):
        namespace, _, short = key.partition(":")
        if namespace == PROJECT and short in LAYER_KEYS:
            continue
        if isinstance(value, dict) and "secure" in value:
            problems.append(f"{short}: {path.name} holds it as a secret, which another stack "
                            "cannot decrypt; set it in this stack's own file")  # fmt: skip
        elif key not in own_keys:
            merged[key] = value
        elif (namespace == PROJECT and short in CLOUD_KEYS
              and _comparable(values[key]) != _comparable(value)):  # fmt: skip
            problems.append(f"{short}: belongs to the cloud layer: set it in {path.name} (this "
                            "stack inherits it), not here")  # fmt: skip
    for key in sorted(own_keys - set(cloud)):
        short = key.partition(":")[2]
        if key.startswith(f"{PROJECT}:") and short in CLOUD_KEYS and short != "target":
            problems.append(f"{short}: belongs to the cloud layer: set it in {path.name} (this "
                            "stack inherits it), not here")  # fmt: skip
    if problems:
        raise ConfigError(problems)
    return merged
