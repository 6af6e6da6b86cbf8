"""The record schema: decoding (columnar and fallback), features, the generator, the metrics."""

from __future__ import annotations

import itertools
import math
import time

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


def test_decode_throughput():
    values = [encode(r) for r in generate(10_000, seed=3)]
    decode_batch(values)
    start = time.perf_counter()
    decode_batch(values)
    assert 10_000 / (time.perf_counter() - start) > 50_000  # measured ~500k/s


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
