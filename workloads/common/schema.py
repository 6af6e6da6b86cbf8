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

Decoding (`decode_batch`). What a value means is what orjson makes of it alone: one JSON object
(strict UTF-8, no BOM, no NaN or Infinity, at most 1024 levels deep, nothing after it); a field
given twice takes its last value; a field's JSON type must match (an integer field takes no 1.0,
no true); null or absent is "missing". The per-record path does exactly that. The hot path gives
the same verdict and bit for bit the same features without a Python object per row: the values
are joined as one NDJSON block, parsed by pyarrow with an explicit schema, validated and turned
into features with numpy. Where arrow would read a value otherwise than orjson, the value never
reaches it: a screen of a few numpy passes over the block sets aside for the per-record path the
values not of the form `{...}` (empty, blank, BOM, not an object), those with a NUL, invalid
UTF-8, a NaN/Inf token or deep nesting. A line break inside a value is no matter (arrow reads it
as a blank in the poll's one block); a value holding two objects shows as an extra row. When
arrow rejects the rest (broken JSON, wrong types, a repeated field), the bad rows are found
without parsing the others in Python: those whose shape (their structural bytes) is not the
poll's usual one (looked at first when the screen already set some aside), then the row that
arrow's error names; arrow then reads the others again, with the bad ones blanked out, and only
the bad ones take the per-record path (`DecodedBatch.fallback`: it ran).

Keys (`keys=`, parallel to the values; the Kafka message keys). A record without a key (None) is
accepted: the key only routes it, and per-card ordering is then not guaranteed. A record whose
key is present but is not the UTF-8 bytes of its `card_id` was routed as another card (a
producer bug) and is rejected: `key: <key> does not match card_id <card_id>`.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections import Counter
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
# Arrow reads of one poll at most (the first, one after the bad shapes left, then one per row an
# error names); past that the rest takes the per-record path.
_READS = 4
# When the screen sets aside this many values of a poll, the shapes are looked at before arrow's
# first read.
_SHAPES_FIRST = 2
# A value longer than this may nest deeper than orjson's 1024 levels: its brackets are counted.
_LONG = 2048
# A value's shape: the bytes kept by `bytes.translate(None, _SHAPE_DROP)`: structure, the decimal
# point (a float where an integer belongs), u and f (true, false, null), escapes.
_SHAPE_DROP = bytes(sorted(set(range(256)) - set(b'{}[]":,.\\uf\n')))
_TWO_OBJECTS = re.compile(rb"}[ \t\r\n]*{")
_ERROR_ROW = re.compile(r"\bin row (\d+)")
_ERROR_TOKEN = re.compile(r"couldn't parse:(.+)$", re.DOTALL)


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
    fallback: bool = False  # True when the per-record path decoded some of the values
    card_ids: list[str] | None = None  # of the valid rows, when asked for (`with_ids`)


@dataclass
class _Columns:
    num: dict[str, np.ndarray]  # float64, NaN where missing
    codes: dict[str, np.ndarray]  # enum index; -1 unknown value, -2 missing
    card_ok: np.ndarray  # card_id present and non-empty
    card_id: Any  # the card_id column (arrow array or list), read only for `with_ids`
    raw: dict[str, Any]  # the enum columns as given, only read to word a reject reason


def _from_arrow(table: pa.Table) -> _Columns:
    # safe=False: an integer beyond 2**53 rounds to the nearest double, as numpy does on the
    # per-record path (a safe cast raises)
    num = {
        f: pc.fill_null(table[f].cast(pa.float64(), safe=False), np.nan).to_numpy() for f in NUMERIC
    }
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


def _clip(x: object) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


def _card_id(cols: _Columns, i: int) -> Any:
    return cols.card_id[i] if isinstance(cols.card_id, list) else cols.card_id[i].as_py()


def _key_mismatch(cols: _Columns, keys: Sequence[bytes | None]) -> np.ndarray:
    """Rows whose key is given and is not the UTF-8 bytes of their card_id."""
    if isinstance(cols.card_id, list):
        return np.array(
            [
                k is not None and (type(c) is not str or k != c.encode())
                for k, c in zip(keys, cols.card_id, strict=True)
            ],
            dtype=bool,
        )
    same = pc.equal(pc.cast(cols.card_id, pa.binary()), pa.array(keys, pa.binary()))
    mismatch: np.ndarray = pc.fill_null(pc.invert(same), False).to_numpy()
    return mismatch


def _validate(
    cols: _Columns, require_label: bool, keys: Sequence[bytes | None] | None = None
) -> tuple[np.ndarray, list[tuple[int, str]]]:
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
    if keys is not None and any(k is not None for k in keys):
        checks.append(
            (
                _key_mismatch(cols, keys),
                lambda i: (
                    f"key: {_clip(keys[i])} does not match card_id {_clip(_card_id(cols, i))}"
                ),
            )
        )
    failed = np.full(n, -1, dtype=np.int64)
    for k, (mask, _) in enumerate(checks):
        failed[(failed < 0) & mask] = k
    rejects = []
    for i in np.flatnonzero(failed >= 0).tolist():
        reason = checks[failed[i]][1]
        rejects.append((i, reason if isinstance(reason, str) else reason(i)))
    return np.flatnonzero(failed < 0), rejects


def _features(cols: _Columns, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    x, labels = _features_np(cols, rows)
    return torch.from_numpy(x), torch.from_numpy(labels)


def _features_np(cols: _Columns, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    return x, labels


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


# --- the hot path's guards ------------------------------------------------------------------


@dataclass
class _Poll:
    """A poll's values joined as one NDJSON block, and where each lies in it."""

    values: Sequence[bytes]
    block: bytes
    lens: np.ndarray
    ends: np.ndarray  # each value's separator (the last: the block's end)

    @classmethod
    def of(cls, values: Sequence[bytes]) -> _Poll:
        lens = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        return cls(values, b"\n".join(values), lens, np.cumsum(lens + 1) - 1)

    def rows_at(self, positions: np.ndarray) -> np.ndarray:
        """The value each byte position of the block falls in."""
        return np.searchsorted(self.ends, positions, side="right")


def _find(buf: np.ndarray, token: bytes) -> np.ndarray:
    """Every position of `token` (3 bytes or more) in `buf`."""
    # its first two bytes as one 16-bit word, at even then odd offsets: two passes over half as
    # many elements, and none of numpy's position finding unless one matches
    pair = token[0] | token[1] << 8
    found = []
    for offset in (0, 1):
        words = buf[offset : offset + (len(buf) - offset) // 2 * 2].view("<u2")
        hit = words == pair
        if hit.any():
            found.append(np.flatnonzero(hit) * 2 + offset)
    at = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
    for k, byte in enumerate(token[2:], start=2):
        at = at[at + k < len(buf)]
        at = at[buf[at + k] == byte]
    return at


def _invalid_utf8(poll: _Poll) -> list[int]:
    """The values that are not UTF-8: decoding on from the value after each error (a value's
    bytes decode alike in the block, between two ASCII line feeds)."""
    view, at, bad = memoryview(poll.block), 0, []
    while at < len(view):
        try:
            codecs.utf_8_decode(view[at:], "strict", True)
            break
        except UnicodeDecodeError as error:
            row = int(np.searchsorted(poll.ends, at + error.start, side="right"))
            bad.append(row)
            at = int(poll.ends[row]) + 1
    return bad


def _screen(poll: _Poll) -> np.ndarray:
    """The values arrow must not see (a mask): those it would read otherwise than orjson does
    alone, or as other than one row of the block. A few vectorised passes when none is found.

    Line breaks inside a value are no matter: the poll is one block, in which arrow reads them as
    blanks. What makes rows shift is a value that arrow reads as no row (empty or blank) or as
    two (two objects): the first never reaches it, the second shows in the row count."""
    values, block, lens, ends = poll.values, poll.block, poll.lens, poll.ends
    buf = np.frombuffer(block, dtype=np.uint8)
    out = lens == 0
    if out.any():
        head = np.zeros(len(values), dtype=np.uint8)
        tail = np.zeros(len(values), dtype=np.uint8)
        full = ~out
        head[full] = buf[(ends - lens)[full]]
        tail[full] = buf[ends[full] - 1]
    else:
        head = buf[ends - lens]
        tail = buf[ends - 1]
    # not `{...}`: not an object (arrow crashes on a first line `null` and reads a later one as a
    # row of nulls), a BOM, blanks around it (a blank one is no row to arrow)
    out |= (head != ord("{")) | (tail != ord("}"))
    if b"\x00" in block:  # arrow stops reading at a NUL
        out[poll.rows_at(np.flatnonzero(buf == 0))] = True
    if not block.isascii():  # arrow keeps invalid UTF-8; orjson rejects it
        out[_invalid_utf8(poll)] = True
    for token in (b"NaN", b"Inf"):  # arrow reads NaN, Inf, Infinity; JSON (orjson) has none
        if len(block) < 1 << 16 and token not in block:  # (quicker than numpy when small)
            continue
        at = _find(buf, token)
        if len(at):
            out[poll.rows_at(at)] = True
    if lens.max() > _LONG:  # may nest deeper than orjson reads
        for i in np.flatnonzero(lens > _LONG).tolist():
            out[i] |= values[i].count(b"[") + values[i].count(b"{") > 1000
    return out


def _odd_shapes(poll: _Poll, rows: np.ndarray) -> np.ndarray:
    """Those of `rows` whose shape is none of the usual ones among them (each shared by at least
    two rows of a sample and a quarter of it: a poll may mix two producers' layouts)."""
    shapes = poll.block.translate(None, _SHAPE_DROP).split(b"\n")
    if len(shapes) != len(poll.values):  # a value holds a line break
        shapes = [v.translate(None, _SHAPE_DROP) for v in poll.values]
    sample = rows[:: max(1, len(rows) // 64)].tolist()
    counts = Counter(shapes[i] for i in sample)
    usual = [shape for shape, k in counts.items() if k >= max(2, len(sample) / 4)]
    if not usual:
        return rows[:0]
    every = np.empty(len(shapes), dtype=object)
    every[:] = shapes
    odd = every != usual[0]
    for shape in usual[1:]:
        odd &= every != shape
    return rows[odd[rows]]


def _two_objects(poll: _Poll, rows: np.ndarray) -> np.ndarray:
    """Those of `rows` that may hold a second object (arrow reads it as a second row)."""
    return np.array(
        [i for i in rows.tolist() if _TWO_OBJECTS.search(poll.values[i])], dtype=np.int64
    )


def _named_rows(error: Exception, poll: _Poll, rows: np.ndarray) -> np.ndarray | None:
    """Those of `rows` an arrow error points at, or None when it names none."""
    text = str(error)
    if match := _ERROR_ROW.search(text):
        # the row counts the records arrow was given; a value with something after its object
        # is reported as the next one
        row = int(match[1])
        return rows[[r for r in (row - 1, row) if 0 <= r < len(rows)]]
    if match := _ERROR_TOKEN.search(text):  # a number that does not convert (1e2, 2**63)
        token = match[1].encode()
        at, positions = poll.block.find(token), []
        while at >= 0:
            positions.append(at)
            at = poll.block.find(token, at + 1)
        if positions:
            return np.intersect1d(poll.rows_at(np.array(positions)), rows)
    return None


@functools.cache
def _read_options(bits: int) -> pj.ReadOptions:
    # No threads: arrow's pool costs more than it saves at a poll's size and would compete with
    # the trainer for the cores.
    return pj.ReadOptions(use_threads=False, block_size=1 << bits)


def _read(block: bytes | bytearray) -> pa.Table:
    # the whole poll in one block: the row an error names counts from the poll's first record,
    # and arrow reads a line break inside a value as a blank (at a block's edge it would cut)
    if len(block) >= 1 << 30:
        raise pa.ArrowInvalid("a poll of 1 GiB or more is not read as one block")
    bits = max(24, (len(block) + 1).bit_length())
    return pj.read_json(
        pa.BufferReader(block), parse_options=_PARSE, read_options=_read_options(bits)
    )


def _read_fast(poll: _Poll, keep: np.ndarray) -> tuple[pa.Table | None, np.ndarray]:
    """Arrow's table of the values `keep` marks, and their indices. The rows arrow cannot take
    leave `keep` (for the per-record path): in the block read, their bytes are blanked out, as
    arrow skips a blank line."""
    buffer: bytes | bytearray = poll.block
    blank = np.zeros(0, dtype=bool)
    rows = np.flatnonzero(keep)
    # a poll in which the screen found bad values likely holds others: look for them first
    # rather than after a failed read
    shaped = len(keep) - len(rows) >= _SHAPES_FIRST
    if shaped:
        keep[_odd_shapes(poll, rows)] = False
        rows = np.flatnonzero(keep)
    for _ in range(_READS):
        if not len(rows):
            break
        if len(rows) < len(keep):
            if isinstance(buffer, bytes):
                buffer, blank = bytearray(buffer), np.zeros(len(keep), dtype=bool)
            view = np.frombuffer(buffer, dtype=np.uint8)
            for i in np.flatnonzero(~keep & ~blank).tolist():
                view[poll.ends[i] - poll.lens[i] : poll.ends[i]] = ord(" ")
            blank = ~keep
        bad: np.ndarray | None
        try:
            table = _read(buffer)
        except pa.ArrowException as error:
            bad = None if shaped else _odd_shapes(poll, rows)
            shaped = True
            if bad is None or not len(bad):
                bad = _named_rows(error, poll, rows)
        else:
            if table.num_rows == len(rows):
                return table, rows
            bad = _two_objects(poll, rows)
            if not len(bad):
                bad = _odd_shapes(poll, rows)
        if bad is None or not len(bad):
            break
        keep[bad] = False
        rows = np.flatnonzero(keep)
    keep[:] = False
    return None, np.zeros(0, dtype=np.int64)


@dataclass
class _Part:
    valid: np.ndarray  # indices into the poll
    features: np.ndarray
    labels: np.ndarray
    rejects: list[tuple[int, str]]
    ids: list[str] | None


def _decode_fast(
    table: pa.Table,
    rows: np.ndarray,
    require_label: bool,
    with_ids: bool,
    keys: Sequence[bytes | None] | None,
) -> _Part:
    cols = _from_arrow(table)
    sub = None if keys is None else [keys[i] for i in rows.tolist()]
    ok, rejects = _validate(cols, require_label, sub)
    ids = _ids(cols, ok) if with_ids else None
    if rejects:
        index = rows.tolist()
        rejects = [(index[i], r) for i, r in rejects]
    return _Part(rows[ok], *_features_np(cols, ok), rejects, ids)


def _decode_slow(
    values: Sequence[bytes],
    rows: np.ndarray,
    require_label: bool,
    with_ids: bool,
    keys: Sequence[bytes | None] | None,
) -> _Part:
    index = rows.tolist()
    good, records, rejects = _decode_per_record([values[i] for i in index])
    cols = _from_dicts(records)
    where = [index[g] for g in good]
    ok, more = _validate(cols, require_label, None if keys is None else [keys[i] for i in where])
    ids = _ids(cols, ok) if with_ids else None
    rejects = [(index[i], r) for i, r in rejects] + [(where[i], r) for i, r in more]
    return _Part(np.asarray(where, dtype=np.int64)[ok], *_features_np(cols, ok), rejects, ids)


def decode_batch(
    values: Sequence[bytes],
    require_label: bool = True,
    with_ids: bool = False,
    keys: Sequence[bytes | None] | None = None,
) -> DecodedBatch:
    """Features and labels of the valid records among `values`, and why the others failed;
    with `with_ids`, also the card ids of the valid rows (the scorer keys its output by them);
    with `keys` (one per value, None for none), a record keyed as another card is rejected."""
    n = len(values)
    if keys is not None and len(keys) != n:
        raise ValueError(f"{len(keys)} keys for {n} values")
    if not n:
        empty = torch.zeros((0, FEATURE_DIM), dtype=torch.float32)
        ids: list[str] | None = [] if with_ids else None
        return DecodedBatch(empty, torch.zeros(0), np.zeros(0, dtype=np.int64), card_ids=ids)
    poll = _Poll.of(values)
    keep = ~_screen(poll)
    table, fast = _read_fast(poll, keep)
    slow = np.flatnonzero(~keep)
    parts = []
    if table is not None:
        parts.append(_decode_fast(table, fast, require_label, with_ids, keys))
    if len(slow):
        parts.append(_decode_slow(values, slow, require_label, with_ids, keys))
    if len(parts) == 1:
        (p,) = parts
        valid, features, labels, ids = p.valid, p.features, p.labels, p.ids
    else:  # each part is in order: place its rows among the others'
        valid = np.sort(np.concatenate([p.valid for p in parts]))
        features = np.empty((len(valid), FEATURE_DIM), dtype=np.float32)
        labels = np.empty(len(valid), dtype=np.float32)
        slots: list[str] = [""] * len(valid) if with_ids else []
        for p in parts:
            at = np.searchsorted(valid, p.valid)
            features[at] = p.features
            labels[at] = p.labels
            for i, card in zip(at.tolist(), p.ids or [], strict=False):
                slots[i] = card
        ids = slots if with_ids else None
    rejects = sorted(r for p in parts for r in p.rejects)
    fallback = bool(len(slow))
    return DecodedBatch(
        torch.from_numpy(features), torch.from_numpy(labels), valid, rejects, fallback, ids
    )


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
