"""The pipeline YAML: pydantic models, loading with line:column errors, JSON Schema."""

from dakl_etl.config.loader import load_pipeline
from dakl_etl.config.models import (
    EXCLUDE,
    SOURCE_KINDS,
    CsvSource,
    Delivery,
    Episodes,
    ExcelSource,
    ParquetSource,
    Persons,
    Pipeline,
    SourceConfig,
    SqlSource,
    ValueMappings,
)
from dakl_etl.config.schema import pipeline_json_schema

__all__ = [
    "EXCLUDE",
    "SOURCE_KINDS",
    "CsvSource",
    "Delivery",
    "Episodes",
    "ExcelSource",
    "ParquetSource",
    "Persons",
    "Pipeline",
    "SourceConfig",
    "SqlSource",
    "ValueMappings",
    "load_pipeline",
    "pipeline_json_schema",
]
