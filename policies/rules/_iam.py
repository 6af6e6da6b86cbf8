"""IAM policy documents as the IAM rules read them: where a resource keeps its documents
(`policy`; a Role's `inlinePolicies[].policy`), its statements, and what a statement grants, with
IAM's own matching (`*` and `?` wildcards, actions case-insensitive, NotAction / NotResource).

Whether a statement covers "every resource" or "every action" is decided by matching its patterns
against probe ARNs and actions, so `*`, `arn:aws:*` and `*:*` are all caught, and NotResource /
NotAction read as what they are: everything but the listed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policies.core import as_list, get, is_list, is_map, json_doc

POLICY_TYPES = (
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
ROLE = "aws:iam/role:Role"
DOCUMENT_TYPES = (*POLICY_TYPES, ROLE)

# Resource probes, ARN templates: a pattern covers "any role" when it matches an arbitrary role's
# ARN in its own partition and account (so `arn:aws:iam::123:role/*` does, `.../role/app-*` not).
ROLE_ARN = "arn:{partition}:iam::{account}:role/any-role"
USER_ARN = "arn:{partition}:iam::{account}:user/any-user"
GROUP_ARN = "arn:{partition}:iam::{account}:group/any-group"
POLICY_ARN = "arn:{partition}:iam::{account}:policy/any-policy"
# A statement whose resources match all of these covers every resource ("*").
EVERY_RESOURCE = (
    ROLE_ARN,
    "arn:{partition}:s3:::any-bucket/any-key",
    "arn:{partition}:ec2:us-east-1:{account}:instance/i-0123456789abcdef0",
    "arn:{partition}:kms:eu-west-1:{account}:key/any-key",
)
_DEFAULTS = {"partition": "aws", "account": "123456789012"}


def _literal(value: str) -> bool:
    return bool(value) and "*" not in value and "?" not in value


def probe(template: str, pattern: str | None = None) -> str:
    """An arbitrary ARN of the template's kind, in the pattern's partition and account where the
    pattern names them literally."""
    fields = (pattern or "").split(":", 5)
    fill = dict(_DEFAULTS)
    if len(fields) > 1 and _literal(fields[1]):
        fill["partition"] = fields[1]
    if len(fields) > 4 and _literal(fields[4]):
        fill["account"] = fields[4]
    return template.format(**fill)


# A statement whose actions match all of these grants every action ("*").
EVERY_ACTION = (
    "iam:CreateUser",
    "s3:GetObject",
    "ec2:RunInstances",
    "kms:Decrypt",
    "sts:AssumeRole",
    "kafka-cluster:Connect",
    "organizations:LeaveOrganization",
)
# ... and these, every IAM action ("iam:*").
EVERY_IAM_ACTION = (
    "iam:CreateUser",
    "iam:PassRole",
    "iam:AttachRolePolicy",
    "iam:DeleteAccountPasswordPolicy",
    "iam:ListUsers",
    "iam:UpdateAssumeRolePolicy",
)


def glob(pattern: str, value: str) -> bool:
    """IAM wildcard matching (`*` any run, `?` one character), linear in practice: no regex, so
    no pattern can make it backtrack for long."""
    p = v = 0
    star, mark = -1, 0
    while v < len(value):
        if p < len(pattern) and pattern[p] == "*":  # before literals: a `*` in the value too
            star, mark, p = p, v, p + 1
        elif p < len(pattern) and pattern[p] in ("?", value[v]):
            p, v = p + 1, v + 1
        elif star >= 0:
            p, mark = star + 1, mark + 1
            v = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def _strings(value: Any) -> list[str]:
    return [v for v in as_list(value) if isinstance(v, str)]


@dataclass(frozen=True)
class Statement:
    sid: str
    allow: bool
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] | None  # None: the statement has no NotAction
    resources: tuple[str, ...]
    not_resources: tuple[str, ...] | None

    def grants(self, action: str) -> bool:
        action = action.lower()
        if self.not_actions is not None:
            return not any(glob(p.lower(), action) for p in self.not_actions)
        return any(glob(p.lower(), action) for p in self.actions)

    def covers(self, template: str) -> bool:
        """Whether the statement applies to an arbitrary resource of the template's kind."""
        if self.not_resources is not None:
            return not any(glob(p, probe(template, p)) for p in self.not_resources)
        return any(glob(p, probe(template, p)) for p in self.resources)

    def every_action(self) -> bool:
        return all(map(self.grants, EVERY_ACTION))

    def every_resource(self) -> bool:
        return all(map(self.covers, EVERY_RESOURCE))

    def where(self) -> str:
        if self.not_resources is not None:
            return f"everything but {', '.join(self.not_resources) or 'nothing'}"
        if self.every_resource():
            return "*"
        return ", ".join(self.resources) or "no resource"


def statement(raw: Mapping[str, Any], index: int) -> Statement:
    sid = get(raw, "Sid")
    return Statement(
        sid=sid if isinstance(sid, str) and sid else f"#{index + 1}",
        allow=get(raw, "Effect") == "Allow",
        actions=tuple(_strings(get(raw, "Action"))),
        not_actions=tuple(_strings(get(raw, "NotAction"))) if "NotAction" in raw else None,
        resources=tuple(_strings(get(raw, "Resource"))),
        not_resources=tuple(_strings(get(raw, "NotResource"))) if "NotResource" in raw else None,
    )


def _load(value: Any) -> tuple[Any, str | None]:
    try:
        doc, problem = json_doc(value)
    except RecursionError:
        return None, "a policy document nested too deeply to read"
    if problem is None and doc is not None and not is_map(doc):
        return None, "not a JSON policy document (not an object)"
    return doc, problem


@dataclass(frozen=True)
class Document:
    label: str  # "the policy", "inline policy NAME"
    statements: tuple[Statement, ...]
    problem: str | None = None


def documents(props: Mapping[str, Any]) -> list[Document]:
    """The policy documents a resource carries: `policy` (aws:iam policies) and each of a Role's
    `inlinePolicies[].policy`. Trust policies (`assumeRolePolicy`) are not among them."""
    found: list[tuple[str, Any]] = []
    if get(props, "policy") is not None:
        found.append(("the policy", get(props, "policy")))
    inline = get(props, "inlinePolicies")
    for i, entry in enumerate(inline if is_list(inline) else []):
        name = get(entry, "name")
        label = f"inline policy {name}" if isinstance(name, str) and name else f"inline policy #{i}"
        if get(entry, "policy") is not None:
            found.append((label, get(entry, "policy")))
    out = []
    for label, value in found:
        doc, problem = _load(value)
        raw = as_list(get(doc, "Statement"))
        statements = tuple(statement(s, i) for i, s in enumerate(raw) if is_map(s))
        out.append(Document(label, statements, problem))
    return out


def admin_grant(s: Statement) -> str | None:
    """What makes an Allow statement administrator-like (`aws-iam-no-admin-wildcard`'s
    findings), or None: NotAction with Allow, every action, or every IAM action on *."""
    if not s.allow:
        return None
    if s.not_actions is not None:
        but = ", ".join(s.not_actions) or "nothing"
        return f"statement {s.sid} allows every action but {but} (NotAction with Allow)"
    if s.every_action():
        return f"statement {s.sid} allows * on {s.where()}"
    if all(map(s.grants, EVERY_IAM_ACTION)) and s.every_resource():
        return f"statement {s.sid} allows iam:* on *"
    return None


def label_of(doc: Document, message: str) -> str:
    return message if doc.label == "the policy" else f"{doc.label}: {message}"
