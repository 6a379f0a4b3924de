"""Helpers that build small real assets for the tests."""
