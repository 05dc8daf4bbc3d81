"""The five built-in metrics of a text column. Detection and the embedding-space fidelity weigh most: they
see what the surface statistics (length, vocabulary, repetition) miss."""

from strategy.quality.metrics import ComparedSamples, HumannessMetric, register
from strategy.quality.text import lexical, repetition, structure, text_detection, text_fidelity


def _structure(samples: ComparedSamples) -> dict:
    return structure(samples.human, samples.synthetic)


def _lexical(samples: ComparedSamples) -> dict:
    return lexical(samples.human, samples.synthetic)


def _repetition(samples: ComparedSamples) -> dict:
    return repetition(samples.human, samples.synthetic)


def _detection(samples: ComparedSamples) -> dict:
    return text_detection(samples.human, samples.synthetic, seed=samples.seed)


def _fidelity(samples: ComparedSamples) -> dict:
    return text_fidelity(samples.human, samples.synthetic, seed=samples.seed)


register(HumannessMetric("structure", "Length and structure", "text", 0.20, _structure, position=10))
register(HumannessMetric("lexical", "Lexical diversity", "text", 0.20, _lexical, position=20))
register(HumannessMetric("repetition", "Repetition", "text", 0.10, _repetition, position=30))
register(HumannessMetric("detection", "Detection", "text", 0.25, _detection, position=40))
register(HumannessMetric("fidelity", "Fidelity and diversity (k-NN)", "text", 0.25, _fidelity, position=50))
