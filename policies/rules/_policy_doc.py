"""IAM-style policy documents (S3 bucket, KMS key and ECR repository policies): parsing any JSON
value safely, their statements, and whether an Allow is open to everyone (Principal `"*"` with
no condition that pins the caller, the way AWS's own "is this policy public" check reads it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.core import as_list, get, is_map, json_doc, text

# Condition keys that, given a fixed value under a positive operator, pin the caller down.
RESTRICTING_KEYS = (
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalservicename",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceip",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:sourceowner",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:userid",
    "kms:calleraccount",
    "s3:dataaccesspointaccount",
    "s3:dataaccesspointarn",
)
POSITIVE_OPERATORS = (
    "arnequals",
    "arnlike",
    "ipaddress",
    "stringequals",
    "stringequalsignorecase",
    "stringlike",
)


def policy_document(value: Any) -> tuple[Mapping[str, Any] | None, str | None]:
    """A policy input as a document: (document, problem); (None, None) when unset."""
    doc, problem = json_doc(value)
    if problem is not None or doc is None:
        return None, problem
    if not is_map(doc):
        return None, "not a JSON policy document"
    return doc, None


def statements(doc: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The document's statements (one object or a list of them); other shapes are skipped."""
    return [s for s in as_list(get(doc, "Statement")) if is_map(s)]


def label(statement: Mapping[str, Any], index: int) -> str:
    sid = statement.get("Sid")
    return f"{sid!r}" if isinstance(sid, str) and sid else f"#{index}"


def everyone(principal: Any) -> bool:
    """`"*"`, or a principal map with `"*"` among its values (`{"AWS": "*"}`, `{"AWS": ["*"]}`)."""
    if principal == "*":
        return True
    return is_map(principal) and any(v == "*" for p in principal.values() for v in as_list(p))


def _specific(operator: str, values: list[Any]) -> bool:
    def one(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return False
        value = str(value).strip()
        if not value.strip("*?"):
            return False
        return not (operator == "ipaddress" and value.endswith("/0"))

    return bool(values) and all(one(v) for v in values)


def restricting(condition: Any) -> bool:
    """Whether a statement's Condition pins the caller to a fixed account, org, network, ..."""
    if not is_map(condition):
        return False
    for operator, clauses in condition.items():
        op = text(operator).lower()
        if op.startswith("forallvalues:") or op.endswith("ifexists") or not is_map(clauses):
            continue
        op = op.removeprefix("foranyvalue:")
        if op not in POSITIVE_OPERATORS:
            continue
        for key, values in clauses.items():
            if text(key).lower() in RESTRICTING_KEYS and _specific(op, as_list(values)):
                return True
    return False


def public_allows(doc: Mapping[str, Any] | None) -> list[tuple[str, Mapping[str, Any]]]:
    """(label, statement) for each statement that allows any principal without a restricting
    condition."""
    out = []
    for i, s in enumerate(statements(doc)):
        if s.get("Effect") != "Allow":
            continue
        anyone = s.get("NotPrincipal") is not None or everyone(s.get("Principal"))
        if anyone and not restricting(s.get("Condition")):
            out.append((label(s, i), s))
    return out
