"""Humanness metrics for text: structure, lexical diversity, repetition, detection and neighbourhood
fidelity, each a score in 0–1 where 1 means "as the human texts are".

Diversity counts depend on how many texts are counted, so both sides are
compared on samples of the same size.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import normalize

from strategy.quality.tabular import DETECTION_MIN_ROWS, detection_score, fidelity_diversity, ks_statistic

TEXT_ROWS = 5_000          # per side, for every text metric
SVD_COMPONENTS = 50
NEAR_DUPLICATE_COSINE = 0.9
_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?…]+(?:\s|$)")


def clean_texts(column: pd.Series) -> pd.Series:
    """Non-empty texts as strings, whitespace-trimmed."""
    texts = column.dropna().astype(str).str.strip()
    return texts[texts != ""].reset_index(drop=True)


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def structure(human: pd.Series, synthetic: pd.Series) -> dict:
    """Distributions of characters, words and sentences per text, compared by 1 − KS."""
    measures = {}
    for name, measure in (("characters", lambda t: len(t)),
                          ("words", lambda t: len(_tokens(t))),
                          ("sentences", lambda t: max(1, len(_SENTENCE_END.findall(t))))):
        h = np.array([measure(t) for t in human], dtype=float)
        s = np.array([measure(t) for t in synthetic], dtype=float)
        measures[name] = {"score": 1.0 - ks_statistic(h, s), "human_median": float(np.median(h)),
                          "synthetic_median": float(np.median(s))}
    return {"measures": measures, "score": float(np.mean([m["score"] for m in measures.values()]))}


def _ngrams(tokens: list[str], n: int):
    return zip(*(tokens[i:] for i in range(n)), strict=False)


def distinct_n(token_lists: list[list[str]], n: int) -> float:
    """Distinct n-grams over all n-grams of a set of texts (Li et al. 2016's distinct-n)."""
    counts = Counter(gram for tokens in token_lists for gram in _ngrams(tokens, n))
    total = sum(counts.values())
    return len(counts) / total if total else 0.0


def jensen_shannon(p: Counter, q: Counter) -> float:
    """Jensen–Shannon divergence (base 2, so 0–1) between two unigram distributions."""
    vocabulary = list(set(p) | set(q))
    a = np.array([p.get(w, 0) for w in vocabulary], dtype=float)
    b = np.array([q.get(w, 0) for w in vocabulary], dtype=float)
    a, b = a / a.sum(), b / b.sum()
    middle = (a + b) / 2

    def kl(x, y):
        keep = x > 0
        return float(np.sum(x[keep] * np.log2(x[keep] / y[keep])))

    return 0.5 * kl(a, middle) + 0.5 * kl(b, middle)


def _ratio(a: float, b: float) -> float:
    return min(a, b) / max(a, b) if max(a, b) > 0 else 1.0


def lexical(human: pd.Series, synthetic: pd.Series) -> dict:
    """distinct-1 and distinct-2 of each side, vocabulary overlap, and unigram Jensen–Shannon divergence."""
    h_tokens = [_tokens(t) for t in human]
    s_tokens = [_tokens(t) for t in synthetic]
    h_counts = Counter(w for tokens in h_tokens for w in tokens)
    s_counts = Counter(w for tokens in s_tokens for w in tokens)
    if not h_counts or not s_counts:
        return {"score": None, "note": "one side has no words"}
    result = {
        "distinct_1": {"human": distinct_n(h_tokens, 1), "synthetic": distinct_n(s_tokens, 1)},
        "distinct_2": {"human": distinct_n(h_tokens, 2), "synthetic": distinct_n(s_tokens, 2)},
        "vocabulary_overlap": len(set(h_counts) & set(s_counts)) / len(set(h_counts) | set(s_counts)),
        "unigram_jsd": jensen_shannon(h_counts, s_counts),
    }
    result["score"] = float(np.mean([
        _ratio(result["distinct_1"]["human"], result["distinct_1"]["synthetic"]),
        _ratio(result["distinct_2"]["human"], result["distinct_2"]["synthetic"]),
        1.0 - result["unigram_jsd"],
    ]))
    return result


def _duplicate_share(texts: pd.Series) -> float:
    normalised = texts.str.lower().str.split().str.join(" ")
    return float(normalised.duplicated(keep="first").mean()) if len(texts) else 0.0


def _near_duplicate_share(texts: pd.Series) -> float:
    """Share of texts whose most similar other text (TF-IDF cosine) is at least 0.9 alike."""
    if len(texts) < 2:
        return 0.0
    try:
        vectors = TfidfVectorizer(sublinear_tf=True).fit_transform(texts)
    except ValueError:  # no word at all
        return 0.0
    distances, _ = NearestNeighbors(n_neighbors=2, metric="cosine", algorithm="brute").fit(vectors).kneighbors(vectors)
    return float(np.mean(1.0 - distances[:, 1] >= NEAR_DUPLICATE_COSINE))


def repetition(human: pd.Series, synthetic: pd.Series) -> dict:
    """Exact and near duplicates within each side; only repetition beyond the human level lowers the score."""
    result = {"duplicates": {"human": _duplicate_share(human), "synthetic": _duplicate_share(synthetic)},
              "near_duplicates": {"human": _near_duplicate_share(human),
                                  "synthetic": _near_duplicate_share(synthetic)}}
    excess = [max(0.0, result[key]["synthetic"] - result[key]["human"]) for key in ("duplicates", "near_duplicates")]
    result["score"] = float(1.0 - np.mean(excess))
    return result


def _vectoriser() -> TfidfVectorizer:
    return TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=50_000, sublinear_tf=True)


def text_detection(human: pd.Series, synthetic: pd.Series, *, seed: int, folds: int = 3) -> dict:
    """A TF-IDF logistic regression telling human texts from synthetic ones, cross-validated."""
    size = min(len(human), len(synthetic))
    if size < DETECTION_MIN_ROWS:
        return {"score": None, "note": f"needs at least {DETECTION_MIN_ROWS} texts on each side"}
    texts = pd.concat([human.iloc[:size], synthetic.iloc[:size]], ignore_index=True)
    labels = np.r_[np.zeros(size), np.ones(size)]
    try:
        features = _vectoriser().fit_transform(texts)
    except ValueError:
        features = TfidfVectorizer(analyzer="char", ngram_range=(1, 3)).fit_transform(texts)
    aucs = []
    for train, test in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(features, labels):
        model = LogisticRegression(max_iter=1000, C=4.0).fit(features[train], labels[train])
        aucs.append(roc_auc_score(labels[test], model.predict_proba(features[test])[:, 1]))
    auc = float(np.mean(aucs))
    return {"rows_per_side": int(size),
            "tfidf_logistic": {"auc": auc, "auc_low": float(min(aucs)), "auc_high": float(max(aucs)),
                               "score": detection_score(auc)},
            "score": detection_score(auc)}


def text_fidelity(human: pd.Series, synthetic: pd.Series, *, seed: int) -> dict:
    """k-NN precision, recall, density and coverage on TF-IDF vectors reduced by SVD (fitted on human texts)."""
    try:
        vectoriser = _vectoriser().fit(human)
        h, s = vectoriser.transform(human), vectoriser.transform(synthetic)
    except ValueError:
        return {"score": None, "note": "too few repeated words to build a vocabulary"}
    components = min(SVD_COMPONENTS, h.shape[1] - 1, len(human) - 1)
    if components < 2:
        return {"score": None, "note": "too small a vocabulary for a neighbourhood comparison"}
    svd = TruncatedSVD(n_components=components, random_state=seed).fit(h)
    result = fidelity_diversity(normalize(svd.transform(h)), normalize(svd.transform(s)))
    result["svd_components"] = components
    return result


def equal_samples(human: pd.Series, synthetic: pd.Series, *, seed: int) -> tuple[pd.Series, pd.Series]:
    """Equal-size samples of the two sides (at most TEXT_ROWS texts each), which every text metric compares."""
    size = min(len(human), len(synthetic), TEXT_ROWS)
    h = human.sample(n=size, random_state=seed).reset_index(drop=True) if len(human) > size else human
    s = synthetic.sample(n=size, random_state=seed + 1).reset_index(drop=True) if len(synthetic) > size else synthetic
    return h, s
