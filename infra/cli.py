"""`ascent`, the project's command line: `ascent plan` shows what `pulumi up` would create, what
the policy pack says about it and what it would cost a month, all offline; `ascent train` starts
a training run on a stack's cluster (runs are not infrastructure: `pulumi up` declares only
their template) and follows it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, NoReturn, TextIO

from infra.config import ConfigError, parse_config
from infra.offline import (
    PROJECT_ROOT,
    Inventory,
    ProjectFileError,
    find_project_root,
    linked_stacks,
    run_program,
    stack_config,
)
from infra.report import (
    compare_markdown,
    cost_estimate,
    pack_config,
    policy_document,
    policy_report,
    render_cost,
    render_policy,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _short_type(token: str) -> str:
    """`aws:eks/cluster:Cluster` -> `aws:eks:Cluster`."""
    pkg, _, rest = token.partition(":")
    module, _, kind = rest.rpartition(":")
    return f"{pkg}:{module.split('/')[0]}:{kind}" if module else token


def plan_document(inventory: Inventory) -> dict[str, Any]:
    """The plan as plain data: components with their resources, counts by type, outputs."""
    components: dict[str, list[dict[str, str]]] = {}
    runs = list(inventory.layers.values()) or [inventory]
    for run in runs:  # layers in deploy order, each sorted
        prefix = f"{run.stack}: " if inventory.layers else ""
        layer: dict[str, list[dict[str, str]]] = defaultdict(list)
        for res in run.custom():
            parent = run.by_urn(res.parent)
            owner = f"{parent.name} ({parent.type})" if parent else "(stack)"
            layer[prefix + owner].append({"type": res.type, "name": res.name})
        for members in layer.values():  # registration order varies with the engine's awaits
            members.sort(key=lambda m: (m["type"], m["name"]))
        components.update(sorted(layer.items()))
    outputs = {
        k: "[secret]" if k in inventory.secret_outputs else v
        for k, v in sorted(inventory.outputs.items())
    }
    counts = inventory.count_by_type()
    return {
        "stack": inventory.stack,
        "resources": sum(counts.values()),
        "layers": {run.stack: sum(run.count_by_type().values()) for run in runs},
        "components": components,
        "countsByType": dict(sorted(counts.items())),
        "outputs": outputs,
    }


def render_table(doc: dict[str, Any], out: TextIO) -> None:
    print(f"Stack {doc['stack']}: {doc['resources']} resources would be created\n", file=out)
    if len(doc["layers"]) > 1:  # a split stack (infra/layers.py): each layer is its own stack
        each = ", ".join(f"{name} {n}" for name, n in doc["layers"].items())
        print(f"Layers, deployed in this order: {each}\n", file=out)
    for owner, members in doc["components"].items():
        print(f"{owner}", file=out)
        for m in members:
            print(f"  + {_short_type(m['type']):<44} {m['name']}", file=out)
    print("\nCounts by type", file=out)
    for token, n in doc["countsByType"].items():
        print(f"  {n:>4}  {token}", file=out)
    print("\nOutputs", file=out)
    for key, value in doc["outputs"].items():
        text = value if isinstance(value, str) else json.dumps(value)
        print(f"  {key:<28} {text}", file=out)


def full_plan(stack: str, root: Path) -> dict[str, Any]:
    """The inventory, the policy report and the cost estimate of one stack, as plain data."""
    inventory = run_program(stack, root=root)
    config = parse_config(stack_config(stack, root))
    doc = plan_document(inventory)
    # the engine runs the pack on each stack's own resources: so does the plan, layer by layer
    violations = [
        v
        for run in (inventory.layers.values() or [inventory])
        for v in policy_report(run, parse_config(stack_config(run.stack, root)))
    ]
    doc["policy"] = policy_document(violations, pack_config(config))
    doc["cost"] = cost_estimate(inventory, config).as_dict()
    return doc


def _load_base(path: Path) -> dict[str, Any]:
    try:
        base: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"--compare {path}: not a saved `ascent plan --format json`: {exc}"
        ) from None
    if not {"cost", "resources", "countsByType"} <= set(base):
        raise ValueError(f"--compare {path}: not a saved `ascent plan --format json`")
    return base


def default_project_dir() -> Path:
    """The project the CLI would use here: the nearest Pulumi.yaml at or above the current
    folder, else the checkout this package was installed from (an editable install), else the
    current folder."""
    here = Path.cwd()
    found = find_project_root(here)
    if found is None and (PROJECT_ROOT / "Pulumi.yaml").is_file():
        found = PROJECT_ROOT
    return found or here  # the error then names the folder the user is in


def _usage_error(verb: str, stack: str, exc: ValueError) -> int:
    """A user's mistake (a project file, the stack config, a flag's file) as one line, exit 2."""
    detail = f"stack {stack!r}: {exc.one_line}" if isinstance(exc, ConfigError) else str(exc)
    print(f"ascent {verb}: {detail}", file=sys.stderr)
    return EXIT_USAGE


def cmd_plan(args: argparse.Namespace) -> int:
    try:
        base = _load_base(args.compare) if args.compare else None
        doc = full_plan(args.stack, args.project_dir or default_project_dir())
    except ValueError as exc:  # project files, stack config, a bad --compare file
        return _usage_error("plan", args.stack, exc)
    if base is not None:
        sys.stdout.write(compare_markdown(base, doc, base_name=str(args.compare)))
    elif args.format == "json":
        json.dump(doc, sys.stdout, indent=2, default=str)
        print()
    else:
        render_table(doc, sys.stdout)
        render_policy(doc["policy"], sys.stdout)
        render_cost(doc["cost"], sys.stdout)
    code = EXIT_OK
    if doc["policy"]["mandatoryViolations"]:
        print(f"ascent plan: {doc['policy']['mandatoryViolations']} mandatory policy "
              "violation(s)", file=sys.stderr)  # fmt: skip
        code = EXIT_FAILED
    if args.budget is not None and doc["cost"]["maxMonthly"] > args.budget:
        print(f"ascent plan: estimated ${doc['cost']['maxMonthly']:,.2f}/month at maximum scale "
              f"exceeds --budget ${args.budget:,.2f}", file=sys.stderr)  # fmt: skip
        code = EXIT_FAILED
    return code


def cmd_train(args: argparse.Namespace) -> int:
    """Start a run of the stack's training template on the cluster of the kubeconfig context
    (`--context`, else the stack's `kubeconfigContext`, else the current one); with `--follow`,
    wait for it: exit 0 when it succeeded, 1 when it failed."""
    from infra.train import Runs, TrainError, connect, job_from_template, run_name, template_images

    root = args.project_dir or default_project_dir()
    try:
        config = parse_config(stack_config(args.stack, root))
        # a split stack's template is its kubernetes layer's (infra/layers.py)
        declaring = next(iter(linked_stacks(args.stack, root)), args.stack)
    except (ProjectFileError, ConfigError) as exc:
        return _usage_error("train", args.stack, exc)
    context = args.context or config.kubeconfig_context or None
    try:
        runs = Runs(connect(context), declaring)
        template = runs.template()
        pinned = (f":{config.image_tag}", f"@{config.image_tag}")
        digests = set(config.pinned_images.values())  # `images` wins over imageTag
        stale = [
            i for i in template_images(template) if i not in digests and not i.endswith(pinned)
        ]
        if stale:
            note = f"the cluster's template runs {', '.join(stale)}, not imageTag"
            print(f"ascent train: note: {note} {config.image_tag}: run `pulumi up` to update it",
                  file=sys.stderr)  # fmt: skip
        job = job_from_template(template, args.name or run_name())
        if args.dry_run:
            json.dump(job, sys.stdout, indent=2)
            print()
            return EXIT_OK
        name = runs.submit(job)
        print(f"started run {name} (kubectl -n {runs.namespace} logs -f job/{name})", flush=True)
        return runs.follow(name, poll_s=args.poll) if args.follow else EXIT_OK
    except TrainError as exc:
        print(f"ascent train: {exc}", file=sys.stderr)
        return EXIT_FAILED


def cmd_pipeline(extra: list[str]) -> int:
    from workloads.pipeline import main as pipeline_main  # the workloads' extras, only when asked

    return pipeline_main(extra)


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake as one line (what is wrong, where to read more), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ascent", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    plan = sub.add_parser("plan", help="show what `pulumi up` would create, offline")
    plan.add_argument("--stack", default="aws-prod", help="stack name (Pulumi.<stack>.yaml)")
    plan.add_argument("--format", choices=("table", "json"), default="table")
    plan.add_argument(
        "--project-dir",
        type=Path,
        default=None,
        help="folder holding Pulumi.yaml (default: the nearest one at or above the current "
        "folder, else this checkout)",
    )
    plan.add_argument(
        "--budget", type=float, default=None, help="fail when the max monthly cost exceeds USD"
    )
    plan.add_argument(
        "--compare",
        type=Path,
        default=None,
        help="a saved `--format json` plan: print the cost/resource delta as Markdown",
    )
    plan.set_defaults(func=cmd_plan)
    train = sub.add_parser(
        "train", help="start a training run on the stack's cluster from its run template"
    )
    train.add_argument("--stack", required=True, help="stack name (Pulumi.<stack>.yaml)")
    train.add_argument(
        "--follow", action="store_true", help="wait for the run: exit 0 succeeded, 1 failed"
    )
    train.add_argument(
        "--context",
        default=None,
        help="kubeconfig context (default: the stack's kubeconfigContext, else the current one)",
    )
    train.add_argument("--name", default=None, help="the run's Job name (default: trainer-<UTC>)")
    train.add_argument(
        "--dry-run", action="store_true", help="print the run's Job as JSON, create nothing"
    )
    train.add_argument("--poll", type=float, default=15.0, help="--follow poll interval, seconds")
    train.add_argument(
        "--project-dir", type=Path, default=None, help="folder holding Pulumi.yaml (as for plan)"
    )
    train.set_defaults(func=cmd_train)
    # its flags are the pipeline's own (`ascent pipeline --help`), passed through unparsed
    sub.add_parser(
        "pipeline", add_help=False, help="the workloads end to end on this machine (make pipeline)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "pipeline":
        return cmd_pipeline(extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    code: int = args.func(args)
    return code


def run() -> None:
    """The `ascent` console script: `main`, with a closed pipe (`ascent plan | head`) ending
    quietly as Python's docs advise, and Ctrl-C as exit 130 without a traceback."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush must not fail too
        code = EXIT_FAILED
    except KeyboardInterrupt:
        print("ascent: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    run()
