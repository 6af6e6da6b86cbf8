"""The record schema: decoding (columnar and fallback), features, the generator, the metrics."""

from __future__ import annotations

import itertools
import math

import numpy as np
import orjson
import pytest
import torch

from workloads.common import schema
from workloads.common.schema import (
    FEATURE_DIM,
    FEATURES,
    decode_batch,
    encode,
    features_from_records,
    generate,
    precision_recall_at,
    roc_auc,
)


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return generate(2000, seed=7)


def _record(**changes: object) -> dict:
    base = {
        "card_id": "card-00001", "ts": 1767225600.0, "amount": 99.0, "merchant_category": 4,
        "country": "FR", "home_country": "US", "hour": 6, "device": "web", "velocity_1h": 3,
        "velocity_24h": 0, "distance_km": 0.0, "card_age_days": 730, "is_fraud": 1,
    }  # fmt: skip
    return base | changes


def test_clean_batch_decodes_columnar_to_the_documented_features(monkeypatch, records):
    def no_fallback(values):
        raise AssertionError("per-record path used on a clean batch")

    monkeypatch.setattr(schema, "_decode_per_record", no_fallback)
    values = [encode(_record())] + [encode(r) for r in records]
    batch = decode_batch(values)
    assert batch.features.dtype == torch.float32 and batch.labels.dtype == torch.float32
    assert batch.features.shape == (len(values), FEATURE_DIM) and not batch.rejects
    assert batch.valid.tolist() == list(range(len(values))) and not batch.fallback
    f = dict(zip(FEATURES, batch.features[0].tolist(), strict=True))
    assert f["log_amount"] == pytest.approx((math.log1p(99.0) - 3.7) / 1.0, abs=1e-5)
    assert f["hour_sin"] == pytest.approx(1.0, abs=1e-6)  # 6 h is a quarter turn
    assert f["hour_cos"] == pytest.approx(0.0, abs=1e-6)
    assert f["is_foreign"] == 1.0
    assert f["log_velocity_1h"] == pytest.approx((math.log1p(3) - 0.3) / 0.5, abs=1e-5)
    assert f["card_age_years"] == pytest.approx((2.0 - 2.7) / 1.6, abs=1e-5)
    hot = {k for k, v in f.items() if v == 1.0 and k.startswith(("device_", "mcc_", "country_"))}
    assert hot == {"device_web", "mcc_4", "country_FR"}
    assert batch.labels[0] == 1.0
    labels = [r["is_fraud"] for r in records]
    assert batch.labels[1:].tolist() == labels


def test_bad_records_are_rejected_with_reasons_and_the_rest_kept(records):
    good = [encode(r) for r in records[:6]]
    values = [
        good[0],
        b'{"card_id": "card-1", "amount": ',  # malformed JSON
        good[1],
        encode(_record(amount=-5.0)),  # out of range
        encode(_record(hour="noon")),  # wrong type
        good[2],
        encode(_record(country="ZZ")),  # unknown enum
        b"[1, 2]",  # not an object
        encode({k: v for k, v in _record().items() if k != "velocity_24h"}),  # missing
        good[3],
        encode(_record(merchant_category=3.0)),  # float where an integer belongs
        encode(_record(is_fraud=True)),  # bool is not 0/1
    ]
    batch = decode_batch(values)
    assert batch.fallback
    assert batch.valid.tolist() == [0, 2, 5, 9]
    expected = decode_batch([good[0], good[1], good[2], good[3]])
    assert torch.equal(batch.features, expected.features)
    assert torch.equal(batch.labels, expected.labels)
    reasons = dict(batch.rejects)
    assert sorted(reasons) == [1, 3, 4, 6, 7, 8, 10, 11]
    assert reasons[1].startswith("malformed JSON")
    assert reasons[3] == "amount: -5 not >= 0"
    assert reasons[4] == "hour: expected integer, got str"
    assert reasons[6].startswith("country: ZZ not one of")
    assert reasons[7].startswith("not a JSON object")
    assert reasons[8] == "velocity_24h: missing"
    assert reasons[10] == "merchant_category: expected integer, got float"
    assert reasons[11] == "is_fraud: expected integer, got bool"


def test_range_errors_alone_stay_on_the_columnar_path(monkeypatch, records):
    monkeypatch.setattr(schema, "_decode_per_record", lambda v: pytest.fail("fallback used"))
    values = [encode(records[0]), encode(_record(hour=24)), encode(_record(device="tablet"))]
    values.append(encode(_record(card_id="")))
    batch = decode_batch(values)
    assert batch.valid.tolist() == [0]
    assert batch.rejects == [
        (1, "hour: 24 not 0..23"),
        (2, "device: tablet not one of ('mobile', 'web', 'pos')"),
        (3, "card_id: missing or empty"),
    ]


def test_labels_can_be_optional_and_records_convert_directly(records):
    unlabeled = {k: v for k, v in records[0].items() if k != "is_fraud"}
    batch = decode_batch([encode(unlabeled)], require_label=False)
    assert batch.features.shape == (1, FEATURE_DIM) and torch.isnan(batch.labels[0])
    assert decode_batch([encode(unlabeled)]).rejects == [(0, "is_fraud: missing")]
    direct = features_from_records([unlabeled, records[1]])
    assert torch.equal(direct, decode_batch([encode(records[0]), encode(records[1])]).features)
    with pytest.raises(ValueError, match=r"record 1: amount: -1 not >= 0"):
        features_from_records([records[0], _record(amount=-1.0)])


def test_edge_batches():
    assert decode_batch([]).features.shape == (0, FEATURE_DIM)
    batch = decode_batch([b"", b'{"a":\n1}', encode(_record())])
    assert batch.valid.tolist() == [2] and [i for i, _ in batch.rejects] == [0, 1]


def test_generator_rate_determinism_and_slices():
    data = generate(20_000, seed=1)
    rate = np.mean([r["is_fraud"] for r in data])
    assert 0.01 <= rate <= 0.03
    assert generate(500, seed=1) == data[:500]
    assert generate(300, seed=1, start=900) == data[900:1200]
    assert generate(500, seed=2) != data[:500]
    assert len({r["card_id"] for r in data}) > 1000
    assert not decode_batch([encode(r) for r in data]).rejects
    assert set(orjson.loads(encode(data[0]))) == set(schema.input_schema()["fields"])


def test_a_clean_poll_takes_the_vectorised_path():
    """Speed lives in benchmarks/training.py; here, that a clean poll never falls back."""
    values = [encode(r) for r in generate(10_000, seed=3)]
    batch = decode_batch(values)
    assert not batch.fallback and len(batch.valid) == 10_000


def _pairwise_auc(scores, labels):
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_roc_auc_by_hand_with_ties_and_against_brute_force():
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert roc_auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    assert roc_auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]) == 0.5
    assert roc_auc([0.1, 0.4, 0.4, 0.8], [0, 0, 1, 1]) == pytest.approx(0.875)
    assert math.isnan(roc_auc([0.1, 0.2], [1, 1]))
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores = rng.integers(0, 6, 40) / 5.0  # many ties
        labels = rng.integers(0, 2, 40)
        assert roc_auc(scores, labels) == pytest.approx(_pairwise_auc(scores, labels))


def test_precision_recall_at_threshold():
    scores = np.array([0.9, 0.8, 0.7, 0.3, 0.2, 0.6])
    labels = np.array([1, 0, 1, 1, 0, 0])
    assert precision_recall_at(scores, labels, 0.65) == pytest.approx((2 / 3, 2 / 3))
    assert precision_recall_at(scores, labels, 0.3) == pytest.approx((3 / 5, 1.0))
    assert precision_recall_at(scores, labels, 0.95) == (0.0, 0.0)
    assert precision_recall_at(torch.tensor([0.5]), torch.tensor([1.0]), 0.5) == (1.0, 1.0)


# --- the hot path gives the per-record path's verdict (see also test_decode_parity.py) ---------


def _spy_per_record(monkeypatch) -> list[bytes]:
    """The values that reach the per-record path, as it is called."""
    seen: list[bytes] = []
    real = schema._decode_per_record

    def spy(values):
        seen.extend(values)
        return real(values)

    monkeypatch.setattr(schema, "_decode_per_record", spy)
    return seen


def _alone(value: bytes, **kw) -> schema.DecodedBatch:
    """`value` decoded alone through the per-record path (the reference)."""
    _, records, rejects = schema._decode_per_record([value])
    cols = schema._from_dicts(records)
    rows, more = schema._validate(cols, kw.get("require_label", True))
    features, labels = schema._features(cols, rows)
    return schema.DecodedBatch(features, labels, rows, rejects + more, True)


def test_an_empty_value_beside_two_objects_split_by_cr_shifts_no_row(records):
    # arrow skips the empty line and reads the \r as one: four values, four rows, one of them
    # another record's; each record must keep its own features
    a, b, c, d = (encode(r) for r in records[:4])
    batch = decode_batch([a, b"", b + b"\r" + c, d])
    assert batch.valid.tolist() == [0, 3]
    assert [i for i, _ in batch.rejects] == [1, 2]
    assert torch.equal(batch.features[1], decode_batch([d]).features[0])
    assert torch.equal(batch.labels, torch.tensor([records[0]["is_fraud"], records[3]["is_fraud"]]))


def test_invalid_utf8_in_a_string_is_rejected_on_both_paths(records):
    good = [encode(r) for r in records[:3]]
    in_card = encode(records[3]).replace(b'"card-', b'"\xffcard-', 1)
    in_unknown = encode(records[4] | {"note": "x"}).replace(b'"x"', b'"\xc0\xaf"')
    for noise in ([], [b"{broken"]):  # alone with clean records (arrow's path) or not
        batch = decode_batch([*good, in_card, in_unknown, *noise], with_ids=True)
        assert batch.valid.tolist() == [0, 1, 2]
        assert batch.card_ids == [r["card_id"] for r in records[:3]]
        reasons = dict(batch.rejects)
        assert reasons[3].startswith("malformed JSON") and reasons[4].startswith("malformed JSON")


def test_what_arrow_reads_and_orjson_does_not_is_rejected(records, monkeypatch):
    seen = _spy_per_record(monkeypatch)
    unlabeled = {k: v for k, v in records[1].items() if k != "is_fraud"}
    odd = [
        b"null",  # first: arrow crashed on a first line `null`; later, a row of nulls
        b"\xef\xbb\xbf" + encode(records[0]),  # a BOM (arrow skips it at the block's start)
        encode(unlabeled)[:-1] + b',"is_fraud":NaN}',  # arrow reads NaN: a missing label
        encode(records[2])[:-1] + b',"note":-Infinity}',  # in a field nobody reads
        encode(records[3])[:-1] + b',"meta":' + b"[" * 1100 + b"]" * 1100 + b"}",  # too deep
        encode(records[4]) + encode(records[5]),  # two objects, one value
        b" \t",  # blank: arrow skips the line
    ]
    values = [*odd, encode(records[6])]
    batch = decode_batch(values, require_label=False)
    assert batch.valid.tolist() == [len(odd)]
    assert [i for i, _ in batch.rejects] == list(range(len(odd)))
    assert batch.rejects[0][1] == "not a JSON object: NoneType"
    assert all(r.startswith("malformed JSON") for _, r in batch.rejects[1:])
    assert seen == odd  # the valid record stayed on arrow's path
    assert torch.equal(batch.features, decode_batch([encode(records[6])]).features)


def test_integers_beyond_float_precision_decode_as_on_the_per_record_path(records):
    def with_velocity(v: int) -> bytes:
        return encode(records[0]).replace(b'"velocity_1h":', f'"velocity_1h":{v},"x":'.encode())

    # in int64 but not exact as doubles: arrow's safe cast raised on them (a crash, not a reject)
    exact = [with_velocity(v) for v in (2**53 + 1, 2**63 - 1)]
    # beyond int64: orjson reads 2**63 as an int, 2**64 as a float; arrow converts neither
    beyond = [with_velocity(v) for v in (2**63, 2**64)]
    for values, valid in ((exact, [0, 1, 2]), (exact + beyond, [0, 1, 2, 3])):
        batch = decode_batch([encode(records[0]), *values])
        assert batch.valid.tolist() == valid
        for row, i in zip(batch.features[1:].tolist(), valid[1:], strict=True):
            assert row == _alone(values[i - 1]).features[0].tolist()
    assert dict(batch.rejects)[4] == "velocity_1h: expected integer, got float"


def test_a_repeated_field_takes_its_last_value_on_both_paths(records):
    body = encode(records[0])[1:]
    last_wins = b'{"amount":"x",' + body.replace(b'"amount":', b'"amount":5.0,"y":', 1)
    last_fails = b'{"amount":5.0,' + body[:-1] + b',"amount":"x"}'
    for noise in ([], [b"{broken"]):
        batch = decode_batch([last_wins, last_fails, *noise])
        assert batch.valid.tolist() == [0]
        assert batch.features[0, 0].item() == pytest.approx(math.log1p(5.0) - 3.7, abs=1e-6)
        assert dict(batch.rejects)[1] == "amount: expected number, got str"


def test_a_record_keyed_as_another_card_is_rejected_on_both_paths(records, monkeypatch):
    seen = _spy_per_record(monkeypatch)
    own = [r["card_id"].encode() for r in records[:5]]
    keys = [own[0], None, own[0], b"", b"k" * 100]  # its own, none, another's, empty, long
    clean = [encode(r) for r in records[:5]]
    spaced = [b" " + v for v in clean]  # valid JSON that the per-record path decodes
    for values, path in ((clean, []), (spaced, spaced)):
        seen.clear()
        batch = decode_batch(values, keys=keys, with_ids=True)
        assert seen == path
        assert batch.valid.tolist() == [0, 1]
        assert batch.card_ids == [records[0]["card_id"], records[1]["card_id"]]
        reasons = dict(batch.rejects)
        assert reasons[2] == f"key: {own[0]!r} does not match card_id {records[2]['card_id']!r}"
        assert reasons[3] == f"key: b'' does not match card_id {records[3]['card_id']!r}"
        clipped = repr(b"k" * 100)[:37] + "..."  # a key's repr is cut at 40 characters
        assert reasons[4] == f"key: {clipped} does not match card_id {records[4]['card_id']!r}"
    # a rejected record stays rejected for its own reason, whatever its key
    assert decode_batch([encode(_record(hour=24))], keys=[b"x"]).rejects == [
        (0, "hour: 24 not 0..23")
    ]
    with pytest.raises(ValueError, match="2 keys for 1 values"):
        decode_batch(clean[:1], keys=[None, None])


def test_a_few_bad_records_leave_the_others_on_arrows_path(records, monkeypatch):
    seen = _spy_per_record(monkeypatch)
    values = [encode(r) for r in records[:400]]
    assert not decode_batch(values).fallback and not seen
    bad = {
        7: values[7][: len(values[7]) // 2],  # truncated
        50: b"\x93\x00garbage",
        90: encode(records[90] | {"hour": "noon"}),  # string for a number
        130: encode(records[130] | {"card_id": 123}),  # number for a string
        170: encode(records[170] | {"merchant_category": 3.0}),  # float for an integer
        210: encode(records[210] | {"is_fraud": True}),
        250: values[250].replace(b',"', b'"', 1),  # a comma missing
        290: values[290][:-1] + b',"amount":"7"}',  # repeated, wrong type last
        330: values[330][:-1] + b',"x":[1,2,{"y":NaN}]}',
    }
    out_of_range = {370: encode(records[370] | {"hour": 24})}  # arrow reads it; validation fails
    for i, v in (bad | out_of_range).items():
        values[i] = v
    batch = decode_batch(values)
    assert batch.fallback
    assert sorted(seen) == sorted(bad.values())  # the per-record path saw the bad ones only
    assert [i for i, _ in batch.rejects] == sorted(bad | out_of_range)
    good = [i for i in range(400) if i not in bad and i not in out_of_range]
    assert batch.valid.tolist() == good
    assert torch.equal(batch.features, decode_batch([values[i] for i in good]).features)
