"""Shared builders of the test world (synthetic data only)."""
