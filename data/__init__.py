"""Bundled corpora, installed as the package `rnnviz.data` (provenance in SOURCES.md beside this file)."""
