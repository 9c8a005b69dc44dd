"""Consensus facts, exact: compact bits, targets and difficulty, subsidy and supply
(:mod:`.consensus`), and the retarget rule recomputed from block times (:mod:`.retarget`)."""
