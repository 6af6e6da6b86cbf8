"""Synthetic card transactions with a documented fraud rule (the world the model learns).

Cards: `N_CARDS` cards (`card-00000` …) with a home country, a usual spend, a usual device and an
issue date, all fixed by the seed, so records of one card recur and keying by card spreads the
stream over partitions. Transaction `i` happens at `BASE_TS + 60 * i` (+ jitter) seconds.

The fraud rule, a logistic score (`fraud_logit`) over what the record shows:

    logit = -10.0
          + 3.6 * foreign            (country != home_country)
          + 2.2 * night              (hour 0..5)
          + 2.0 * clip(ln(amount / card's usual amount), 0, 3)
          + 1.3 * min(velocity_1h, 6)
          + 1.2 * (distance_km > 1500)
          + 2.6 * (card_age_days < 30)
          + 2.6 * (merchant_category in RISKY_MERCHANTS)
          + 0.8 * (device == "web")
    is_fraud ~ Bernoulli(sigmoid(logit)), then flipped to 1 with probability LABEL_NOISE.

That gives about 2 % positives. The usual amount of a card is hidden from the model (only the
amount is in the record), so the rule is learnable but not exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

COUNTRIES: tuple[str, ...] = (
    "US",
    "GB",
    "DE",
    "FR",
    "ES",
    "IT",
    "NL",
    "SE",
    "PL",
    "BR",
    "IN",
    "SG",
)
DEVICES: tuple[str, ...] = ("mobile", "web", "pos")
N_MERCHANT_CATEGORIES = 20
RISKY_MERCHANTS: tuple[int, ...] = (4, 11, 17)  # electronics, gift cards, money transfer
N_CARDS = 2000
BASE_TS = 1_767_225_600.0  # 2026-01-01T00:00:00Z
LABEL_NOISE = 0.0005
_BLOCK = 1024  # records are drawn in blocks, so generate(n, seed, start) is slice-consistent
_HOME_WEIGHTS = np.array([30, 12, 10, 8, 6, 6, 5, 4, 4, 6, 5, 4], dtype=np.float64)
_MCC_WEIGHTS = np.array(
    [9, 8, 8, 7, 3, 7, 6, 6, 5, 5, 5, 2, 5, 5, 4, 4, 4, 2, 3, 2], dtype=np.float64
)


def _cards(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, 0xCA4D])
    return {
        "home": rng.choice(len(COUNTRIES), N_CARDS, p=_HOME_WEIGHTS / _HOME_WEIGHTS.sum()),
        "usual": np.exp(rng.normal(np.log(40.0), 0.6, N_CARDS)),
        "device": rng.choice(len(DEVICES), N_CARDS, p=[0.55, 0.25, 0.20]),
        "age0": np.where(
            rng.random(N_CARDS) < 0.04,
            rng.integers(0, 20, N_CARDS),
            rng.integers(20, 2000, N_CARDS),
        ),
    }


def fraud_logit(
    foreign: np.ndarray,
    hour: np.ndarray,
    amount_ratio: np.ndarray,
    velocity_1h: np.ndarray,
    distance_km: np.ndarray,
    card_age_days: np.ndarray,
    merchant_category: np.ndarray,
    device: np.ndarray,
) -> np.ndarray:
    """The documented rule above, vectorised (device is an index into DEVICES)."""
    return (
        -10.0
        + 3.6 * foreign
        + 2.2 * (hour < 6)
        + 2.0 * np.clip(np.log(amount_ratio), 0.0, 3.0)
        + 1.3 * np.minimum(velocity_1h, 6)
        + 1.2 * (distance_km > 1500)
        + 2.6 * (card_age_days < 30)
        + 2.6 * np.isin(merchant_category, RISKY_MERCHANTS)
        + 0.8 * (device == DEVICES.index("web"))
    )


def _block(seed: int, b: int, cards: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, 1, b])
    n = _BLOCK
    idx = np.arange(b * n, (b + 1) * n)
    card = rng.integers(0, N_CARDS, n)
    ts = BASE_TS + 60.0 * idx + rng.uniform(0, 60, n)
    hour = ((ts // 3600) % 24).astype(np.int64)
    home = cards["home"][card]
    foreign = rng.random(n) < 0.06
    country = np.where(foreign, (home + rng.integers(1, len(COUNTRIES), n)) % len(COUNTRIES), home)
    amount = np.round(cards["usual"][card] * np.exp(rng.normal(0, 0.8, n)), 2)
    device = np.where(rng.random(n) < 0.8, cards["device"][card], rng.integers(0, 3, n))
    mcc = rng.choice(N_MERCHANT_CATEGORIES, n, p=_MCC_WEIGHTS / _MCC_WEIGHTS.sum())
    v1 = rng.poisson(0.4, n) + rng.binomial(1, 0.03, n) * rng.integers(3, 10, n)
    v24 = v1 + rng.poisson(3.0, n)
    distance = np.where(foreign, 400 + rng.exponential(3000, n), rng.exponential(20, n))
    distance = np.where(rng.random(n) < 0.01, distance + rng.exponential(2500, n), distance)
    age = np.maximum(cards["age0"][card] + (ts - BASE_TS) // 86400, 0).astype(np.int64)
    logit = fraud_logit(
        country != home, hour, amount / cards["usual"][card], v1, distance, age, mcc, device
    )
    fraud = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))) | (rng.random(n) < LABEL_NOISE)
    return {
        "card": card,
        "ts": ts,
        "amount": amount,
        "mcc": mcc,
        "country": country,
        "home": home,
        "hour": hour,
        "device": device,
        "v1": v1,
        "v24": v24,
        "distance": np.round(distance, 1),
        "age": age,
        "fraud": fraud.astype(np.int64),
    }


def generate(n: int, seed: int, start: int = 0) -> list[dict[str, Any]]:
    """Transactions `start .. start+n-1` of the stream for `seed` (deterministic, slice-consistent:
    `generate(a, s) + generate(b, s, a) == generate(a + b, s)`)."""
    if n <= 0:
        return []
    cards = _cards(seed)
    first, last = start // _BLOCK, (start + n - 1) // _BLOCK
    blocks = [_block(seed, b, cards) for b in range(first, last + 1)]
    cols = {k: np.concatenate([blk[k] for blk in blocks]) for k in blocks[0]}
    lo = start - first * _BLOCK
    cols = {k: v[lo : lo + n].tolist() for k, v in cols.items()}
    return [
        {
            "card_id": f"card-{c:05d}",
            "ts": round(ts, 3),
            "amount": amount,
            "merchant_category": mcc,
            "country": COUNTRIES[country],
            "home_country": COUNTRIES[home],
            "hour": hour,
            "device": DEVICES[device],
            "velocity_1h": v1,
            "velocity_24h": v24,
            "distance_km": distance,
            "card_age_days": age,
            "is_fraud": fraud,
        }
        for c, ts, amount, mcc, country, home, hour, device, v1, v24, distance, age, fraud in zip(
            *(
                cols[k]
                for k in (
                    "card",
                    "ts",
                    "amount",
                    "mcc",
                    "country",
                    "home",
                    "hour",
                    "device",
                    "v1",
                    "v24",
                    "distance",
                    "age",
                    "fraud",
                )
            ),
            strict=True,
        )
    ]
