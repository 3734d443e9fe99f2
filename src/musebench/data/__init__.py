"""MUSE data: the typed corpus model, loaders for every source, validation, and the mini-benchmark generator."""

from musebench.data.corpus import CRITERION_REQUIREMENTS, CRITERION_TITLES, Corpus
from musebench.data.records import QAPair, VerbMemRecord

__all__ = ["CRITERION_REQUIREMENTS", "CRITERION_TITLES", "Corpus", "QAPair", "VerbMemRecord"]
