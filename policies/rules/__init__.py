"""Every rule of the pack: each module here (but those starting with `_`, shared helpers) holds
one rule as `RULE`. Found by listing the package, so adding a rule is adding its file."""

from __future__ import annotations

import importlib
import pkgutil

from policies.core import Rule


def _discover() -> tuple[Rule, ...]:
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    rules = [importlib.import_module(f"{__name__}.{name}").RULE for name in names]
    return tuple(sorted(rules, key=lambda r: r.name))


RULES: tuple[Rule, ...] = _discover()
