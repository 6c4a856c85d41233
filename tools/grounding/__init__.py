"""Grounding: the cover's evidence, the prior it gives every spec field, coherence rules, decision records
and the evidence picture (cover -> evidence -> prior -> decisions)."""
