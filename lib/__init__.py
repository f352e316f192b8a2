"""Shared code of the OCR and indexer functions: plain functions over plain data."""
