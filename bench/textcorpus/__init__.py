"""Generated, labelled free-text corpus with a dev and a held-out split (see generate.py)."""

from bench.textcorpus.generate import HIGH_RISK, Labelled, generate

__all__ = ["HIGH_RISK", "Labelled", "generate"]
