"""Write data/seed/samples/: small illustrative samples of four demo datasets, so the demo can show
humanness reports.

These are NOT real records. The "human" samples are drawn from distributions with
the irregularities real data has (heavy tails, correlated fields, typos, varied
wording); the "synthetic" ones imitate the usual failings of generators
(distributions too narrow, correlations weakened, rare categories missing,
templated wording and repeated phrases).

Run it again and the files come out byte for byte the same (fixed seed):

    python scripts/make_demo_samples.py [OUTPUT_FOLDER]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261124
HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "data" / "seed" / "samples"
ROWS = 2_000
TEXTS = 800


def network_flows(rng: np.random.Generator, synthetic: bool) -> pd.DataFrame:
    attack = rng.random(ROWS) < (0.35 if synthetic else 0.12)
    protocols = ["tcp", "udp", "icmp"]
    protocol = rng.choice(protocols, ROWS, p=[0.7, 0.25, 0.05] if not synthetic else [0.8, 0.2, 0.0])
    services = ["http", "dns", "ssh", "smtp", "ftp", "telnet"]
    weights = [0.5, 0.2, 0.12, 0.1, 0.05, 0.03] if not synthetic else [0.55, 0.25, 0.1, 0.1, 0.0, 0.0]
    service = rng.choice(services, ROWS, p=weights)
    spread = 0.6 if synthetic else 1.0
    duration = np.round(np.exp(rng.normal(0.5, 1.4 * spread, ROWS)) * np.where(attack, 0.3, 1.0), 3)
    packets = np.maximum(1, np.round(duration * rng.lognormal(2.0, 0.6 * spread, ROWS))).astype(int)
    coupling = 0.4 if synthetic else 1.0  # generators often weaken the link between fields
    sent = np.round(packets ** coupling * rng.lognormal(6.0, 0.8 * spread, ROWS)).astype(int)
    received = np.round(sent * rng.lognormal(0.3 if not synthetic else 0.1, 0.9 * spread, ROWS)).astype(int)
    flag = np.where(attack & (rng.random(ROWS) < 0.6), rng.choice(["S0", "REJ"], ROWS), "SF")
    return pd.DataFrame({"duration_s": duration, "packets": packets, "bytes_sent": sent,
                         "bytes_received": received, "protocol": protocol, "service": service, "flag": flag,
                         "label": np.where(attack, "attack", "normal")})


def card_transactions(rng: np.random.Generator, synthetic: bool) -> pd.DataFrame:
    fraud = rng.random(ROWS) < (0.5 if synthetic else 0.08)
    categories = ["grocery", "fuel", "travel", "online retail", "restaurants", "electronics", "gambling"]
    weights = ([0.3, 0.15, 0.08, 0.2, 0.17, 0.07, 0.03] if not synthetic
               else [0.25, 0.15, 0.1, 0.25, 0.15, 0.1, 0.0])
    category = rng.choice(categories, ROWS, p=weights)
    amount = np.round(np.exp(rng.normal(3.4, 1.1 if not synthetic else 0.9, ROWS))
                      * np.where(fraud, 2.5 if not synthetic else 1.8, 1.0), 2)
    hour = np.where(fraud & (rng.random(ROWS) < 0.5), rng.integers(0, 6, ROWS), rng.integers(6, 24, ROWS))
    present = rng.random(ROWS) < np.where(fraud, 0.15, 0.65)
    start = pd.Timestamp("2026-01-01")
    day = (start + pd.to_timedelta(rng.integers(0, 180, ROWS), unit="D")).strftime("%Y-%m-%d")
    country = rng.choice(["GB", "FR", "DE", "ES", "US"], ROWS,
                         p=[0.6, 0.12, 0.12, 0.08, 0.08] if not synthetic else [0.4, 0.15, 0.15, 0.15, 0.15])
    return pd.DataFrame({"amount": amount, "hour": hour, "day": day, "merchant_category": category,
                         "country": country, "card_present": present, "is_fraud": fraud})


OPENERS = ["", "", "Honestly, ", "Well ", "ok so ", "Update: ", "Bought this for my mum. ", "Second order. "]
PRODUCTS = ["kettle", "headphones", "phone case", "desk lamp", "blender", "backpack", "charger", "jacket"]
PRAISE = ["works great", "does the job", "really solid", "better than expected", "love it", "fits perfectly",
          "quiet and quick", "arrived early", "good value for the money", "my kids like it too"]
COMPLAINTS = ["stopped working after a week", "smaller than the photos", "the lid leaks", "charger died",
              "smells of plastic", "arrived scratched", "way too loud", "instructions make no sense",
              "customer service never replied", "not worth the price"]
CLOSERS = ["", "", "", " Would buy again.", " 4 stars because of the packaging.", " Returned it.", " meh",
           " Recommend!", " Not sure yet.", " :)"]


def _typo(text: str, rng: np.random.Generator) -> str:
    if len(text) > 10 and rng.random() < 0.15:
        at = int(rng.integers(1, len(text) - 1))
        return text[:at] + text[at + 1] + text[at] + text[at + 2:]
    return text


def reviews(rng: np.random.Generator, synthetic: bool) -> pd.DataFrame:
    rows = []
    for _ in range(TEXTS):
        positive = rng.random() < 0.6
        product = rng.choice(PRODUCTS)
        if synthetic:
            # An LLM asked for reviews: polite, complete, similar length, and a few favourite phrasings.
            opinion = rng.choice(PRAISE[:5] if positive else COMPLAINTS[:5])
            text = (f"I recently purchased this {product} and overall I think it {opinion}. "
                    if positive else f"I recently purchased this {product}, but unfortunately it {opinion}. ")
            text += rng.choice(["Highly recommended!", "I would recommend it to others.",
                                "Overall, a great purchase."] if positive else
                               ["I would not recommend it.", "Overall, a disappointing purchase."])
        else:
            parts = [rng.choice(OPENERS), f"the {product} "]
            picks = rng.choice(PRAISE if positive else COMPLAINTS, size=int(rng.integers(1, 4)), replace=False)
            parts.append(", ".join(picks))
            parts.append("." if rng.random() < 0.7 else "")
            parts.append(rng.choice(CLOSERS))
            text = _typo("".join(parts).strip(), rng)
            text = text[0].upper() + text[1:] if rng.random() < 0.8 else text
        rows.append({"review": text, "sentiment": "positive" if positive else "negative"})
    return pd.DataFrame(rows)


FILES = {
    "network_flows_human.csv": (network_flows, False), "network_flows_synthetic.csv": (network_flows, True),
    "card_transactions_human.csv": (card_transactions, False),
    "card_transactions_synthetic.csv": (card_transactions, True),
    "reviews_human.csv": (reviews, False), "reviews_synthetic.csv": (reviews, True),
}


def main(out: Path = OUT) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for position, (name, (make, synthetic)) in enumerate(FILES.items()):
        frame = make(np.random.default_rng(SEED + position), synthetic)
        frame.to_csv(out / name, index=False, lineterminator="\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
