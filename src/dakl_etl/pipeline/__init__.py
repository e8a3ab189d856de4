"""Orchestration: a run from pipeline YAML to delivery, and its nightly operation."""
