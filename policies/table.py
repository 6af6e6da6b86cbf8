"""The pack's rules as a Markdown table (the README's copy is generated from this, and a test
keeps the two equal): `python -m policies.table`."""

from __future__ import annotations

from policies.core import Rule
from policies.rules import RULES

BEGIN, END = "<!-- rules:begin (python -m policies.table) -->", "<!-- rules:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(rules: tuple[Rule, ...] = RULES) -> str:
    lines = [
        BEGIN,
        "| rule | level | severity | checks | fix |",
        "|---|---|---|---|---|",
    ]
    for r in sorted(rules, key=lambda r: (r.enforcement != "mandatory", r.name)):
        lines.append(
            f"| `{r.name}` | {r.enforcement} | {r.severity} | {_cell(r.description)} "
            f"| {_cell(r.fix)} |"
        )
    lines.append(END)
    return "\n".join(lines) + "\n"


def with_table(readme: str) -> str:
    """`readme` with the block between the markers replaced by the current table."""
    head, sep, rest = readme.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise ValueError(f"the README has no {BEGIN} ... {END} block")
    return head + markdown().rstrip("\n") + tail


if __name__ == "__main__":
    import sys
    from pathlib import Path

    if sys.argv[1:] == ["--readme"]:  # rewrite the README's copy in place
        path = Path(__file__).resolve().parent.parent / "README.md"
        path.write_text(with_table(path.read_text()))
    else:
        print(markdown(), end="")
