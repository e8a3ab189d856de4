"""The pipeline YAML: pydantic models, loading with line:column errors, JSON Schema."""
