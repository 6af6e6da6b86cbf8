"""`python -m ci <step>`: the pipeline's one entry point, for any CI system or a laptop."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ci.shell import ROOT, StepFailed

DEFAULT_OUT = Path(os.environ.get("ASCENT_CI_OUT", ROOT / ".ci-out"))


def cmd_lint(args: argparse.Namespace) -> int:
    from ci.steps.lint import lint

    return lint()


def cmd_test(args: argparse.Namespace) -> int:
    from ci.steps.test import run_tests

    return run_tests(args.out, args.pytest_args)


def cmd_build(args: argparse.Namespace) -> int:
    from ci.images import parse_image, parse_pairs
    from ci.steps.build import STEP, build, stack_cache

    specs = [parse_image(STEP, i, args.context) for i in args.image] if args.image else None
    build_args = parse_pairs(STEP, "--build-arg", args.build_arg)
    cache = stack_cache(args.cache_from_stack) if args.cache_from_stack else None
    return build(specs, args.out, args.tag, build_args, args.cache_from, cache)


def cmd_scan(args: argparse.Namespace) -> int:
    from ci.steps.scan import scan

    return scan(args.out, images=not args.dockerfiles_only, allow_offline=args.allow_offline)


def cmd_push(args: argparse.Namespace) -> int:
    from ci.steps.push import push

    return push(args.out, args.registry, args.stack)


def cmd_sign(args: argparse.Namespace) -> int:
    from ci.steps.sign import sign

    return sign(args.out)


def cmd_promote(args: argparse.Namespace) -> int:
    from ci.steps.promote import promote

    return promote(args.out, args.to_registry, args.stack, args.from_stack)


def cmd_preview(args: argparse.Namespace) -> int:
    from ci.steps.pulumi_steps import preview

    return preview(args.stack, args.out, args.compare_base)


def cmd_deploy(args: argparse.Namespace) -> int:
    from ci.steps.pulumi_steps import deploy

    return deploy(args.stack, args.out, args.context, args.timeout)


def cmd_smoke(args: argparse.Namespace) -> int:
    from ci.steps.smoke import connect, smoke

    return smoke(connect("smoke", args.context), args.timeout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ci", description=__doc__)
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="records and reports (default .ci-out)"
    )
    sub = parser.add_subparsers(dest="step", required=True)
    sub.add_parser("lint", help="ruff, mypy, hadolint, checkov").set_defaults(func=cmd_lint)

    test = sub.add_parser("test", help="the test suite, with JUnit XML in OUT/junit.xml")
    test.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    test.set_defaults(func=cmd_test)

    build = sub.add_parser("build", help="build the images (workloads/*/Dockerfile)")
    build.add_argument(
        "--image", action="append", default=[], metavar="NAME=DOCKERFILE",
        help="build this image instead of discovering workloads/*/Dockerfile (repeatable)",
    )  # fmt: skip
    build.add_argument(
        "--context", type=Path, default=ROOT, help="build context of --image (default: repo root)"
    )
    build.add_argument("--build-arg", action="append", default=[], metavar="KEY=VALUE")
    build.add_argument("--tag", help="tag instead of the commit SHA (never latest)")
    build.add_argument(
        "--cache-from", action="append", default=[], metavar="REF",
        help="registry cache image; {name} is the image name (repeatable)",
    )  # fmt: skip
    build.add_argument(
        "--cache-from-stack", metavar="STACK",
        help="use the images STACK last ran (by digest) as the layer cache",
    )  # fmt: skip
    build.set_defaults(func=cmd_build)

    scan = sub.add_parser("scan", help="Dockerfiles and built images, offline")
    scan.add_argument("--dockerfiles-only", action="store_true", help="no built image needed")
    scan.add_argument(
        "--allow-offline", action="store_true",
        help="succeed when no CVE scan can run here (no Trivy or no database), saying so",
    )  # fmt: skip
    scan.set_defaults(func=cmd_scan)

    push = sub.add_parser("push", help="push the built images; digests in OUT/release.json")
    push.add_argument("--registry", help="e.g. 127.0.0.1:5000/ascent (or ASCENT_REGISTRY)")
    push.add_argument("--stack", help="push to this stack's registry (its ECR on AWS)")
    push.set_defaults(func=cmd_push)

    sub.add_parser(
        "sign", help="cosign keyless signatures and SBOM attestations on the released images"
    ).set_defaults(func=cmd_sign)

    promote = sub.add_parser(
        "promote", help="copy the released images by digest to another registry (skopeo)"
    )
    promote.add_argument("--to-registry", help="e.g. 123.dkr.ecr.us-east-1.amazonaws.com/x")
    promote.add_argument("--stack", help="promote into this stack's registry (its ECR on AWS)")
    promote.add_argument(
        "--from-stack", help="promote what this stack runs (its ascent:images), not release.json"
    )
    promote.set_defaults(func=cmd_promote)

    preview = sub.add_parser("preview", help="pulumi preview with the policy pack")
    preview.add_argument("--stack", required=True)
    preview.add_argument(
        "--compare-base", type=Path, help="base plan JSON: post `ascent plan --compare` to the PR"
    )
    preview.set_defaults(func=cmd_preview)

    for name, func, what in (
        ("deploy", cmd_deploy, "pulumi up, smoke, roll back if smoke fails"),
        ("smoke", cmd_smoke, "wait for the rollouts, readiness and one inference"),
    ):
        p = sub.add_parser(name, help=what)
        if name == "deploy":
            p.add_argument("--stack", required=True)
        p.add_argument("--context", help="kubeconfig context (default: the current one)")
        p.add_argument("--timeout", type=float, default=600, help="rollout wait, seconds")
        p.set_defaults(func=func)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except StepFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    if code:
        print(f"{args.step}: failed (exit {code})", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
