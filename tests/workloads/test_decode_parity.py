"""`decode_batch` (arrow's hot path, its guards and its retries) against the reference semantics:
each value decoded alone by the per-record path (orjson, then the same validation and features).

Hypothesis builds polls that mix valid records with what a broken producer or a bit flip makes:
wrong JSON types per field, repeated fields, escaped keys, odd numbers (1e2, 3.0, 2**63, NaN,
1e400), invalid UTF-8 and bad escapes inside strings, line breaks (\\r, \\n, \\r\\n) inside and
between objects, two objects in one value, BOMs, blank and empty values, non-object JSON and
random bytes; and keys that match, differ or are absent. Every poll must give the verdict of its
records decoded one by one: the same valid indices, bit for bit the same features and labels and
card ids, the same rejected indices, each with a reason naming its field or its cause.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workloads.common import schema
from workloads.common.schema import COUNTRIES, DEVICES, DecodedBatch, decode_batch, generate

POOL = generate(256, seed=11)
DECLARED = ("card_id", *schema.ENUMS, *schema.NUMERIC)
FIELDS = (*DECLARED, "ts", "note", "meta")
# what a reason may start with: a field, the key, or the cause
CAUSES = {*DECLARED, "key", "malformed JSON", "not a JSON object"}

NUMBERS = [
    b"0", b"-0", b"-0.0", b"0e0", b"3", b"3.0", b"1e2", b"1E2", b"2.5", b"-5", b"24", b"19",
    b"9007199254740993", b"9223372036854775807", b"9223372036854775808",
    b"18446744073709551615", b"18446744073709551616", b"-9223372036854775809",
    b"123456789012345678901234567890", b"0.1000000000000000055511151231257827021181583404541015625",
    b"1e400", b"-1e400", b"1e-400", b"2e308", b"1.7976931348623157e308", b"5e-324",
    b"01", b"1.", b".5", b"+1", b"-", b"1e", b"0x1", b"NaN", b"-NaN", b"Infinity", b"-Infinity",
    b"Inf", b"nan", b"true", b"false", b"null", b"tru", b"nul",
]  # fmt: skip
STRINGS = [
    b'""', b'"card-00001"', b'"US"', b'"web"', b'"ZZ"', b'"mobile "', b'"\\u0055S"', b'"w\\u0065b"',
    b'"\\u00e9"', b'"\\ud83d\\ude00"', b'"\\ud800"', b'"\\udc00x"', b'"\\/"', b'"\\x"', b'"\\u12"',
    b'"a\\u0000"', b'"\t"', b'"\x01"', b'"\x7f"', b'"\xff"', b'"\xc0\xaf"', b'"\xed\xa0\x80"',
    b'"\xe2\x82"', b'"\xf4\x90\x80\x80"', b'"caf\xc3\xa9"', b'"\xef\xbb\xbf"', b'"a\rb"', b'"a\nb"',
    b'"NaN"', b'"Inf"', b'"}{"', b'"\\"', b"'x'",
]  # fmt: skip
NESTED = [b"[]", b"{}", b"[1,2]", b'{"a":1}', b'{"hour":"x"}', b"[[[]]]", b"[1,", b"{", b"]"]
BLANKS = [b" ", b"\t", b"\r", b"\n", b"\r\n", b"  \t"]
INVALID_UTF8 = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf4\x90\x80\x80", b"\x80"]
RAW = [
    b"", b" ", b"\t", b"\r\n", b"\n", b"\r", b"null", b"[]", b"[1,2]", b"1", b"-2.5", b'"x"',
    b"true", b"{}", b"{ }", b"\xef\xbb\xbf{}", b"{}\x00", b"\x00", b"NaN", b"[{}]", b"{}}", b"{{}",
]  # fmt: skip
DEEP = b'{"card_id":"c","meta":' + b"[" * 1030 + b"]" * 1030 + b"}"


def _scalar(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind <= 2:
        return draw(st.sampled_from(NUMBERS))
    if kind == 3:
        x = draw(st.floats(allow_nan=False, allow_infinity=False))
        return orjson.dumps(x)
    if kind == 4:
        return str(draw(st.integers(-(2**70), 2**70))).encode()
    if kind == 5:
        return draw(
            st.from_regex(rb"\A-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,24})?([eE][-+]?[0-9]{1,3})?\Z")
        )
    if kind <= 7:
        return draw(st.sampled_from(STRINGS))
    if kind == 8:
        return orjson.dumps(draw(st.sampled_from((*COUNTRIES, *DEVICES, "card-1", "")) | st.text()))
    return draw(st.sampled_from(NESTED))


def _key(draw: st.DrawFn, name: str) -> bytes:
    """A key as written: plain, or with one character escaped (the same key to JSON)."""
    if name and draw(st.integers(0, 9)) == 0:
        i = draw(st.integers(0, len(name) - 1))
        return f'"{name[:i]}\\u{ord(name[i]):04x}{name[i + 1 :]}"'.encode()
    return orjson.dumps(name)


def _render(draw: st.DrawFn, pairs: list[tuple[bytes, bytes]], blanks: list[bytes]) -> bytes:
    def blank() -> bytes:
        return draw(st.sampled_from([b""] * 8 + blanks)) if blanks else b""

    inner = b",".join(blank() + k + blank() + b":" + blank() + v + blank() for k, v in pairs)
    return b"{" + inner + b"}"


def _pairs(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    record: dict[str, Any] = draw(st.sampled_from(POOL))
    return [(orjson.dumps(k), orjson.dumps(v)) for k, v in record.items()]


def _spaced(record: dict[str, Any], rng: np.random.Generator) -> bytes:
    def blank() -> bytes:
        return [b"", b"", b" ", b"\t", b"  "][rng.integers(5)]

    pairs = [(orjson.dumps(k), orjson.dumps(v)) for k, v in record.items()]
    inner = b",".join(blank() + k + blank() + b":" + blank() + v + blank() for k, v in pairs)
    return b"{" + inner + b"}"


# Records as producers write them: compact (orjson), or with spaces and tabs between tokens.
_rng = np.random.default_rng(5)
CLEAN = [orjson.dumps(r) for r in POOL] + [_spaced(r, _rng) for r in POOL[:64]]
CLEAN_SET = set(CLEAN)


def clean_records() -> st.SearchStrategy[bytes]:
    return st.sampled_from(CLEAN)


def _invalid_utf8_string(draw: st.DrawFn) -> bytes:
    text = draw(st.sampled_from([b"", b"card-0", b"caf", b"\\u00e9"]))
    at = draw(st.integers(0, len(text)))
    return b'"' + text[:at] + draw(st.sampled_from(INVALID_UTF8)) + text[at:] + b'"'


@st.composite
def odd_records(draw: st.DrawFn) -> bytes:
    """A pool record with one thing wrong, or odd but valid."""
    pairs = _pairs(draw)
    i = draw(st.integers(0, len(pairs) - 1))
    what = draw(
        st.sampled_from(
            ["type", "number", "string", "utf8", "repeat", "drop", "extra", "escape", "breaks",
             "edit", "bom", "trailing"]
        )
    )  # fmt: skip
    if what == "type":  # any JSON value in place of a field's
        pairs[i] = (pairs[i][0], _scalar(draw))
    elif what == "number":
        pairs[i] = (pairs[i][0], draw(st.sampled_from(NUMBERS)))
    elif what == "string":
        pairs[i] = (pairs[i][0], draw(st.sampled_from(STRINGS)))
    elif what == "utf8":  # in a field, in an unknown field, or in a key
        where = draw(st.integers(0, 2))
        if where == 0:
            pairs[i] = (pairs[i][0], _invalid_utf8_string(draw))
        elif where == 1:
            pairs.insert(i, (b'"note"', _invalid_utf8_string(draw)))
        else:
            pairs.insert(i, (_invalid_utf8_string(draw), b"1"))
    elif what == "repeat":  # the same field again, before or after, maybe escaped
        name = orjson.loads(pairs[i][0])
        value = draw(st.sampled_from([pairs[i][1], *STRINGS[:6], *NUMBERS[:8]]))
        pairs.insert(draw(st.integers(0, len(pairs))), (_key(draw, name), value))
    elif what == "drop":
        del pairs[i]
    elif what == "extra":  # another field (unknown, or a repeated one): anything JSON or nearly
        name = draw(st.sampled_from(FIELDS))
        pairs.insert(i, (_key(draw, name), _scalar(draw)))
    elif what == "escape":  # the same key, one character escaped
        pairs[i] = (_key(draw, orjson.loads(pairs[i][0])), pairs[i][1])
    value = _render(draw, pairs, BLANKS if what == "breaks" else [])
    if what == "edit":
        kind = draw(st.integers(0, 2))
        at = draw(st.integers(0, len(value) - 1))
        if kind == 0:  # truncated
            value = value[:at]
        elif kind == 1:  # one byte changed
            value = value[:at] + bytes([draw(st.integers(0, 255))]) + value[at + 1 :]
        else:  # one byte put in
            byte = draw(
                st.sampled_from([*BLANKS, *INVALID_UTF8, b"}", b"{", b",", b'"', b"\x00", b"\\"])
            )
            value = value[:at] + byte + value[at:]
    elif what == "bom":
        value = b"\xef\xbb\xbf" + value
    elif what == "trailing":
        value = draw(st.sampled_from([b"", *BLANKS])) + value
        value += draw(st.sampled_from([*BLANKS, b"\x00", b"}", b"]", b" 1", b"//", b"null"]))
    return value


@st.composite
def odd_values(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind <= 3:
        return draw(odd_records())
    if kind <= 5:  # two objects in one value
        sep = draw(st.sampled_from([b"", b" ", b"\t", b"\r", b"\n", b"\r\n", b",", b"\n\n"]))
        first = draw(clean_records() | odd_records())
        return first + sep + draw(clean_records() | odd_records())
    if kind == 6:
        return draw(st.sampled_from(RAW))
    if kind == 7:
        return draw(st.binary(max_size=40))
    if kind == 8:
        return draw(st.sampled_from([b"", *BLANKS]))
    return draw(st.sampled_from([DEEP, DEEP.replace(b"1030", b"100")]))


def _card_id(value: bytes) -> Any:
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return obj.get("card_id") if isinstance(obj, dict) else None


@st.composite
def polls(draw: st.DrawFn) -> tuple[list[bytes], list[bytes | None] | None]:
    """Mostly clean records with a few odd values among them (a poll that is all odd never
    reaches arrow's path), and maybe keys."""
    vs = draw(st.lists(clean_records(), max_size=10))
    for _ in range(draw(st.integers(0 if vs else 1, 4))):
        vs.insert(draw(st.integers(0, len(vs))), draw(odd_values()))
    if draw(st.booleans()):
        return vs, None
    keys: list[bytes | None] = []
    for v in vs:
        card = _card_id(v)
        choice = draw(st.integers(0, 7))
        if choice <= 1:
            keys.append(None)
        elif choice <= 5 and isinstance(card, str):
            keys.append(card.encode())
        elif choice == 6 and isinstance(card, str):
            keys.append(card.encode() + b"x")
        else:
            keys.append(draw(st.binary(max_size=12)))
    return vs, keys


def _reference_one(
    value: bytes, key: bytes | None, require_label: bool
) -> tuple[torch.Tensor, torch.Tensor, str] | str:
    """Decode one value alone through the per-record path: features, label and card id, or why
    it is rejected."""
    _, records, rejects = schema._decode_per_record([value])
    if rejects:
        return rejects[0][1]
    cols = schema._from_dicts(records)
    rows, more = schema._validate(cols, require_label)
    if more:
        return more[0][1]
    card_id = records[0]["card_id"]
    if key is not None and key != card_id.encode():
        return f"key: {key!r} does not match card_id {card_id!r}"
    features, labels = schema._features(cols, rows)
    return features[0], labels[0], card_id


def _bits(t: torch.Tensor) -> list[int]:
    return t.contiguous().view(torch.int32).flatten().tolist()


def _check_reasons(batch: DecodedBatch) -> None:
    for _, reason in batch.rejects:
        assert reason.split(":")[0] in CAUSES, reason


def _same(a: DecodedBatch, b: DecodedBatch) -> None:
    assert a.valid.tolist() == b.valid.tolist()
    assert [i for i, _ in a.rejects] == [i for i, _ in b.rejects]
    assert _bits(a.features) == _bits(b.features)
    assert _bits(a.labels) == _bits(b.labels)
    assert a.card_ids == b.card_ids


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(poll=polls(), require_label=st.booleans())
def test_a_poll_decodes_as_its_records_one_by_one(poll, require_label):
    vs, keys = poll
    batch = decode_batch(vs, require_label=require_label, with_ids=True, keys=keys)
    _check_reasons(batch)
    assert sorted([*batch.valid.tolist(), *(i for i, _ in batch.rejects)]) == list(range(len(vs)))
    assert batch.features.shape == (len(batch.valid), schema.FEATURE_DIM)
    if set(vs) <= CLEAN_SET and keys is None:
        assert not batch.fallback  # clean records never take the per-record path

    # the reference: each value alone through the per-record path
    one_by_one = [
        _reference_one(v, None if keys is None else keys[i], require_label)
        for i, v in enumerate(vs)
    ]
    valid = [i for i, r in enumerate(one_by_one) if not isinstance(r, str)]
    assert batch.valid.tolist() == valid
    assert [i for i, _ in batch.rejects] == [
        i for i, r in enumerate(one_by_one) if isinstance(r, str)
    ]
    expect = [r for r in one_by_one if not isinstance(r, str)]
    features = torch.stack([f for f, _, _ in expect]) if expect else batch.features[:0]
    assert _bits(batch.features) == _bits(features)
    assert _bits(batch.labels) == _bits(
        torch.stack([y for _, y, _ in expect]) if expect else batch.labels[:0]
    )
    assert batch.card_ids == [c for _, _, c in expect]
    # a key rejection where, and only where, the reference rejects the key
    keyed = [i for i, r in batch.rejects if r.startswith("key: ")]
    assert keyed == [i for i, r in enumerate(one_by_one) if isinstance(r, str) and r[:5] == "key: "]

    # the same poll, one value at a time through decode_batch itself (whatever path each takes)
    singles = [
        decode_batch([v], require_label, True, None if keys is None else [keys[i]])
        for i, v in enumerate(vs)
    ]
    joined = DecodedBatch(
        torch.cat([s.features for s in singles]),
        torch.cat([s.labels for s in singles]),
        np.array([i for i, s in enumerate(singles) for _ in s.valid], dtype=np.int64),
        [(i, r) for i, s in enumerate(singles) for _, r in s.rejects],
        card_ids=[c for s in singles for c in s.card_ids or []],
    )
    _same(batch, joined)
