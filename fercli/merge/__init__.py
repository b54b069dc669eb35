"""Combining face sets: exact-duplicate removal with a leakage report (:mod:`.dedupe`), and
progressive multi-source domain adaptation, i.e. relevance to a target domain, curriculum
stages and a density-based memory (:mod:`.curriculum`)."""
