"""Excel workbooks (.xlsx) through Polars' calamine engine (fastexcel), every cell as text."""

from __future__ import annotations

import polars as pl

from dakl_etl.config import ExcelSource, Pipeline
from dakl_etl.errors import SourceError
from dakl_etl.sources.base import ROW, RawSource, as_text, describe_file, register, require_file


@register("excel")
class ExcelAdapter:
    def read(self, name: str, pipeline: Pipeline) -> RawSource:
        config: ExcelSource = pipeline.sources[name]  # type: ignore[assignment]
        path = require_file(name, pipeline)
        sheets = _sheet_names(name, path)
        sheet = config.sheet
        if isinstance(sheet, str) and sheet not in sheets:
            raise SourceError(
                f"source {name}: {path} has no sheet {sheet!r}; sheets: {', '.join(sheets)}; fix "
                f"`sheet:` at {pipeline.where('sources', name, 'sheet')}"
            )
        if isinstance(sheet, int) and not 0 <= sheet < len(sheets):
            raise SourceError(
                f"source {name}: {path} has {len(sheets)} sheet(s), no index {sheet} (0-based); "
                f"fix `sheet:` at {pipeline.where('sources', name, 'sheet')}"
            )
        sheet_name = sheet if isinstance(sheet, str) else sheets[sheet]
        try:
            frame = pl.read_excel(
                path,
                sheet_name=sheet_name,
                engine="calamine",
                infer_schema_length=0,  # every cell as text; meaning is parsed in mapping
                drop_empty_rows=False,  # keep row numbers equal to the sheet's
                drop_empty_cols=False,
                raise_if_empty=False,
                read_options={"header_row": config.header_row - 1},
            )
        except Exception as exc:  # fastexcel raises its own types; its text may hold values
            raise SourceError(
                f"source {name}: cannot read sheet {sheet_name!r} of {path} "
                f"({type(exc).__name__}); is it an .xlsx workbook?"
            ) from None
        raw = as_text(frame.lazy(), row_offset=config.header_row + 1)
        # Rows left empty in the sheet are not registrations.
        raw = raw.filter(pl.any_horizontal(pl.all().exclude(ROW).is_not_null()))
        return RawSource(name, raw, tuple(frame.columns), detail=f"sheet {sheet_name!r}")

    def describe(self, name: str, pipeline: Pipeline) -> dict:
        info = describe_file(name, pipeline)
        info["sheet"] = pipeline.sources[name].sheet  # type: ignore[union-attr]
        return info


def _sheet_names(name: str, path) -> list[str]:
    import fastexcel

    try:
        return list(fastexcel.read_excel(str(path)).sheet_names)
    except Exception as exc:
        raise SourceError(
            f"source {name}: {path} is not a readable .xlsx workbook ({type(exc).__name__})"
        ) from None
