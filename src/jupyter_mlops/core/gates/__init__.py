"""Validation gates: a challenger is compared with the champion on the same rows (accuracy,
fairness, stability) under a per-model policy, and the decision is recorded.

Layer: above ``registry`` (it reads versions and moves aliases through the ledger), below
``jobs`` (a job validates before its held alias moves are applied).
"""
