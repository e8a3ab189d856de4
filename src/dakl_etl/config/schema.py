"""The JSON Schema of the pipeline format, for editors (yaml-language-server) and docs."""

from __future__ import annotations

import json

from dakl_etl.config.models import Pipeline


def pipeline_json_schema() -> dict:
    schema = Pipeline.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "dakl-etl pipeline"
    return schema


def pipeline_json_schema_text() -> str:
    return json.dumps(pipeline_json_schema(), indent=2, ensure_ascii=False) + "\n"
