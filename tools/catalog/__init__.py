"""Catalogue grounding: covers whose music is known, embedded and indexed, as evidence for new covers.

rows (read and validate a CSV/JSONL) → embed (EfficientNet-Lite0 features, or CLIP) → index (sqlite-vec)
→ search (nearest covers) → train (scikit-learn predictors) → evaluate (measured accuracy against baselines).
It knows nothing of the agent: the pipeline turns neighbours and predictions into evidence items.
"""
