"""The transaction record, its validation and its features: one columnar code path.

A record is a JSON object (see `input_schema()`); `ts` is carried but is not a feature, so the
decoder does not read it, and unknown fields are ignored. Features (`FEATURES`, float32):

    log_amount                 log1p(amount), centred and scaled*
    hour_sin, hour_cos         the hour on the unit circle (23h is next to 0h)
    is_foreign                 country != home_country (0/1)
    log_velocity_1h, _24h      log1p(transactions of the card in the last 1 h / 24 h)*
    log_distance_km            log1p(distance from the card's usual location)*
    card_age_years             card_age_days / 365, clipped to [0, 10]*
    device_<d>                 one-hot over DEVICES
    mcc_<k>                    one-hot over merchant categories 0..19
    country_<c>                one-hot over COUNTRIES (the transaction's country)

* minus a fixed centre, over a fixed scale (`_CENTER`, `_SCALE`): constants, not fitted.

`decode_batch` is the hot path: values joined as NDJSON, parsed by pyarrow with an explicit schema,
validated and turned into features with numpy, no Python object per row. Only when pyarrow
rejects the block (malformed JSON, wrong types) does a per-record orjson pass sort out the bad
records; the good ones then take the same vectorised path.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
import torch

from workloads.common.synthetic import (
    COUNTRIES,
    DEVICES,
    N_MERCHANT_CATEGORIES,
    generate,
)

__all__ = [
    "COUNTRIES",
    "DEVICES",
    "FEATURES",
    "FEATURE_DIM",
    "DecodedBatch",
    "decode_batch",
    "encode",
    "features_from_records",
    "generate",
    "input_schema",
    "precision_recall_at",
    "roc_auc",
]

ENUMS: dict[str, tuple[str, ...]] = {
    "country": COUNTRIES,
    "home_country": COUNTRIES,
    "device": DEVICES,
}
# numeric field -> (is integer, minimum, maximum or None)
NUMERIC: dict[str, tuple[bool, float, float | None]] = {
    "amount": (False, 0, None),
    "merchant_category": (True, 0, N_MERCHANT_CATEGORIES - 1),
    "hour": (True, 0, 23),
    "velocity_1h": (True, 0, None),
    "velocity_24h": (True, 0, None),
    "distance_km": (False, 0, None),
    "card_age_days": (True, 0, None),
    "is_fraud": (True, 0, 1),
}
LABEL = "is_fraud"
FEATURES: tuple[str, ...] = (
    "log_amount",
    "hour_sin",
    "hour_cos",
    "is_foreign",
    "log_velocity_1h",
    "log_velocity_24h",
    "log_distance_km",
    "card_age_years",
    *(f"device_{d}" for d in DEVICES),
    *(f"mcc_{k}" for k in range(N_MERCHANT_CATEGORIES)),
    *(f"country_{c}" for c in COUNTRIES),
)
FEATURE_DIM = len(FEATURES)
_DEVICE0, _MCC0, _COUNTRY0 = (FEATURES.index(f) for f in ("device_mobile", "mcc_0", "country_US"))
# Fixed centring and scaling of the first 8 features (about the synthetic stream's mean and
# spread): a fresh MLP trains in one epoch, and there is no fitted state to ship with a model.
_CENTER = np.array([3.7, 0, 0, 0, 0.3, 1.4, 3.0, 2.7], dtype=np.float32)
_SCALE = np.array([1.0, 1, 1, 1, 0.5, 0.5, 1.6, 1.6], dtype=np.float32)
_ARROW_SCHEMA = pa.schema(
    [("card_id", pa.string())]
    + [(f, pa.string()) for f in ENUMS]
    + [(f, pa.int64() if is_int else pa.float64()) for f, (is_int, _, _) in NUMERIC.items()]
)
_PARSE = pj.ParseOptions(explicit_schema=_ARROW_SCHEMA, unexpected_field_behavior="ignore")
# One poll is one block; arrow's own thread pool costs more than it saves at that size and
# would compete with the trainer for the cores.
_READ = pj.ReadOptions(use_threads=False, block_size=1 << 24)


def input_schema() -> dict[str, Any]:
    """Field names, types and ranges of a record, for the model manifest."""
    fields: dict[str, Any] = {
        "card_id": {"type": "string"},
        "ts": {"type": "number|string", "doc": "epoch seconds or ISO 8601; not a feature"},
    }
    fields |= {f: {"type": "string", "enum": list(values)} for f, values in ENUMS.items()}
    for f, (is_int, lo, hi) in NUMERIC.items():
        fields[f] = {"type": "integer" if is_int else "number", "minimum": lo}
        if hi is not None:
            fields[f]["maximum"] = hi
    fields[LABEL]["doc"] = "label: 1 = fraud; optional for scoring"
    return {"format": "json", "fields": fields, "features": list(FEATURES)}


def encode(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record)


@dataclass
class DecodedBatch:
    features: torch.Tensor  # float32 [n_valid, FEATURE_DIM]
    labels: torch.Tensor  # float32 [n_valid]; NaN where a label was allowed to be missing
    valid: np.ndarray  # indices into the input of the rows above
    rejects: list[tuple[int, str]] = field(default_factory=list)  # (index, reason)
    fallback: bool = False  # True when the per-record path ran
    card_ids: list[str] | None = None  # of the valid rows, when asked for (`with_ids`)


@dataclass
class _Columns:
    num: dict[str, np.ndarray]  # float64, NaN where missing
    codes: dict[str, np.ndarray]  # enum index; -1 unknown value, -2 missing
    card_ok: np.ndarray  # card_id present and non-empty
    card_id: Any  # the card_id column (arrow array or list), read only for `with_ids`
    raw: dict[str, Any]  # the enum columns as given, only read to word a reject reason


def _from_arrow(table: pa.Table) -> _Columns:
    num = {f: pc.fill_null(table[f].cast(pa.float64()), np.nan).to_numpy() for f in NUMERIC}
    codes = {}
    for f, values in ENUMS.items():
        idx = pc.fill_null(pc.index_in(table[f], value_set=pa.array(values)), -1).to_numpy()
        codes[f] = np.where(table[f].is_null().to_numpy(), -2, idx).astype(np.int64)
    card_ok = pc.fill_null(pc.greater(pc.utf8_length(table["card_id"]), 0), False).to_numpy()
    return _Columns(num, codes, card_ok, table["card_id"], {f: table[f] for f in ENUMS})


def _from_dicts(records: Sequence[dict[str, Any]]) -> _Columns:
    num = {f: np.array([r.get(f) for r in records], dtype=np.float64) for f in NUMERIC}
    codes, raw = {}, {}
    for f, values in ENUMS.items():
        lookup: dict[Any, int] = {v: i for i, v in enumerate(values)} | {None: -2}
        raw[f] = [r.get(f) for r in records]
        codes[f] = np.array([lookup.get(v, -1) for v in raw[f]], dtype=np.int64)
    card_id = [r.get("card_id") for r in records]
    card_ok = np.array([bool(c) for c in card_id], dtype=bool)
    return _Columns(num, codes, card_ok, card_id, raw)


def _validate(cols: _Columns, require_label: bool) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Vectorised checks: the rows that pass, and (row, reason) for the first failure of others."""
    n = len(cols.card_ok)
    checks: list[tuple[np.ndarray, Any]] = [(~cols.card_ok, "card_id: missing or empty")]
    for f, code in cols.codes.items():
        checks.append((code == -2, f"{f}: missing"))
        checks.append((code == -1, lambda i, f=f: f"{f}: {cols.raw[f][i]} not one of {ENUMS[f]}"))
    for f, (_, lo, hi) in NUMERIC.items():
        x = cols.num[f]
        missing = np.isnan(x)
        if f != LABEL or require_label:
            checks.append((missing, f"{f}: missing"))
        bad = ~missing & ((x < lo) | ~np.isfinite(x) | ((x > hi) if hi is not None else False))
        bound = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        checks.append((bad, lambda i, f=f, bound=bound: f"{f}: {cols.num[f][i]:g} not {bound}"))
    failed = np.full(n, -1, dtype=np.int64)
    for k, (mask, _) in enumerate(checks):
        failed[(failed < 0) & mask] = k
    rejects = []
    for i in np.flatnonzero(failed >= 0).tolist():
        reason = checks[failed[i]][1]
        rejects.append((i, reason if isinstance(reason, str) else reason(i)))
    return np.flatnonzero(failed < 0), rejects


def _features(cols: _Columns, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    num = {f: x[rows] for f, x in cols.num.items()}
    code = {f: c[rows] for f, c in cols.codes.items()}
    n = len(rows)
    x = np.zeros((n, FEATURE_DIM), dtype=np.float32)
    angle = num["hour"] * (2 * np.pi / 24)
    x[:, 0] = np.log1p(num["amount"])
    x[:, 1], x[:, 2] = np.sin(angle), np.cos(angle)
    x[:, 3] = code["country"] != code["home_country"]
    x[:, 4] = np.log1p(num["velocity_1h"])
    x[:, 5] = np.log1p(num["velocity_24h"])
    x[:, 6] = np.log1p(num["distance_km"])
    x[:, 7] = np.clip(num["card_age_days"] / 365.0, 0.0, 10.0)
    x[:, :8] -= _CENTER
    x[:, :8] /= _SCALE
    at = np.arange(n)
    x[at, _DEVICE0 + code["device"]] = 1.0
    x[at, _MCC0 + num["merchant_category"].astype(np.int64)] = 1.0
    x[at, _COUNTRY0 + code["country"]] = 1.0
    labels = num[LABEL].astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(labels)


def _decode_per_record(
    values: Sequence[bytes],
) -> tuple[list[int], list[dict[str, Any]], list[tuple[int, str]]]:
    """The slow path: parse each record alone; wrong JSON or types are rejected here."""
    good: list[int] = []
    records: list[dict[str, Any]] = []
    rejects: list[tuple[int, str]] = []
    for i, value in enumerate(values):
        try:
            obj = orjson.loads(value)
        except orjson.JSONDecodeError as e:
            rejects.append((i, f"malformed JSON: {e}"))
            continue
        reason = _type_error(obj)
        if reason:
            rejects.append((i, reason))
        else:
            good.append(i)
            records.append(obj)
    return good, records, rejects


def _type_error(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return f"not a JSON object: {type(obj).__name__}"
    for f in ("card_id", *ENUMS):
        if obj.get(f) is not None and not isinstance(obj[f], str):
            return f"{f}: expected string, got {type(obj[f]).__name__}"
    for f, (is_int, _, _) in NUMERIC.items():
        v = obj.get(f)
        ok = v is None or (type(v) is int if is_int else type(v) in (int, float))
        if not ok:
            return f"{f}: expected {'integer' if is_int else 'number'}, got {type(v).__name__}"
    return None


def _ids(cols: _Columns, rows: np.ndarray) -> list[str]:
    if isinstance(cols.card_id, list):
        return [cols.card_id[i] for i in rows.tolist()]
    ids: list[str] = cols.card_id.take(pa.array(rows)).to_pylist()
    return ids


def decode_batch(
    values: Sequence[bytes], require_label: bool = True, with_ids: bool = False
) -> DecodedBatch:
    """Features and labels of the valid records among `values`, and why the others failed;
    with `with_ids`, also the card ids of the valid rows (the scorer keys its output by them)."""
    if not values:
        empty = torch.zeros((0, FEATURE_DIM), dtype=torch.float32)
        ids: list[str] | None = [] if with_ids else None
        return DecodedBatch(empty, torch.zeros(0), np.zeros(0, dtype=np.int64), card_ids=ids)
    block = b"\n".join(values)
    table = None
    if block.count(b"\n") == len(values) - 1:  # no value carries its own newline
        try:
            table = pj.read_json(io.BytesIO(block), parse_options=_PARSE, read_options=_READ)
        except pa.ArrowException:
            table = None
    if table is not None and table.num_rows == len(values):
        cols = _from_arrow(table)
        rows, rejects = _validate(cols, require_label)
        ids = _ids(cols, rows) if with_ids else None
        return DecodedBatch(*_features(cols, rows), rows, rejects, card_ids=ids)
    good, records, rejects = _decode_per_record(values)
    cols = _from_dicts(records)
    rows, more = _validate(cols, require_label)
    features, labels = _features(cols, rows)
    index = np.asarray(good, dtype=np.int64)
    rejects = sorted(rejects + [(good[i], reason) for i, reason in more])
    ids = _ids(cols, rows) if with_ids else None
    return DecodedBatch(features, labels, index[rows], rejects, fallback=True, card_ids=ids)


def features_from_records(records: Sequence[dict[str, Any]]) -> torch.Tensor:
    """Features of already-parsed records (labels optional); ValueError naming every bad one."""
    rejects = [(i, r) for i, rec in enumerate(records) if (r := _type_error(rec))]
    if not rejects:
        cols = _from_dicts(records)
        rows, rejects = _validate(cols, require_label=False)
    if rejects:
        raise ValueError("; ".join(f"record {i}: {reason}" for i, reason in rejects))
    return _features(cols, rows)[0]


def roc_auc(scores: Any, labels: Any) -> float:
    """Area under the ROC curve from ranks (Mann-Whitney U), ties given their average rank.
    NaN when the labels hold only one class."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel() > 0.5
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    average_rank = ends - (counts - 1) / 2.0  # 1-based rank, ties averaged
    rank_sum = float(average_rank[inverse][y].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def precision_recall_at(scores: Any, labels: Any, threshold: float) -> tuple[float, float]:
    """Precision and recall flagging `score >= threshold`; each is 0.0 when undefined."""
    flagged = np.asarray(scores, dtype=np.float64).ravel() >= threshold
    y = np.asarray(labels).ravel() > 0.5
    tp = int((flagged & y).sum())
    n_flagged, n_pos = int(flagged.sum()), int(y.sum())
    return (tp / n_flagged if n_flagged else 0.0), (tp / n_pos if n_pos else 0.0)
