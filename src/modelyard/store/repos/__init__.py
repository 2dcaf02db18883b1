"""Repositories: one module per aggregate, each translating between rows and domain records.

Every function takes the ``Connection`` of the caller's transaction, so a service can change
several aggregates (and later append an audit event) atomically.
"""
