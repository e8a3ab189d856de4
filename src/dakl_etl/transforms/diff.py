"""What changed between two deliveries: rows and persons added, removed and changed.

Pure: two DAKL frames (the nine fields as strings, as read from the files) in, counts and masked
examples out. A row is identified by its episode: person, TypeOpvang, gemeentecode and
Startdatum; the other fields (Einddatum, Reden, Datum melding, V-nummer) can change. The person
is the BSN, or for BSN 999999999 the V-nummer; rows with neither cannot be followed from one
file to the next (RULES.md: two unknown persons are never the same person), so they are matched
on their whole content and counted as rows only. Aanmaakdatum is ignored: it always differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from dakl_etl.protocol.codes import TYPE_OPVANG, UNKNOWN_BSN
from dakl_etl.protocol.fields import COLUMNS
from dakl_etl.protocol.privacy import mask_expr

GROUP = ("type_opvang", "gemeentecode")
EPISODE = ("type_opvang", "gemeentecode", "startdatum")
#: fields that may change while the row stays the same episode
VALUES = ("datum_melding", "einddatum", "reden", "v_nummer", "bsn")
STATUSES = ("added", "removed", "changed", "unchanged")
_ALL = (
    "bsn",
    "datum_melding",
    "type_opvang",
    "gemeentecode",
    "startdatum",
    "einddatum",
    "reden",
    "v_nummer",
)


@dataclass
class DeliveryDiff:
    """Counts per status overall and per (TypeOpvang, gemeentecode), plus masked examples."""

    rows: dict[str, int]  # status -> rows; `old`/`new`: rows in each file
    persons: dict[str, int]  # added / removed / changed / unchanged persons
    rows_without_person: dict[str, int]  # added / removed / unchanged rows of unknown persons
    fields_changed: dict[str, int]  # field -> rows where it changed
    groups: list[dict[str, Any]]  # one per (type_opvang, gemeentecode) with a difference
    examples: dict[str, list[dict[str, str | None]]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(self.rows[s] for s in ("added", "removed", "changed"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "persons": self.persons,
            "rows_without_person": self.rows_without_person,
            "fields_changed": self.fields_changed,
            "groups": self.groups,
            "examples": self.examples,
        }

    def lines(self, max_groups: int = 12) -> list[str]:
        """A short text rendering for the terminal summary and `dakl-etl diff`."""
        r, p = self.rows, self.persons
        out = [
            f"rows: {r['old']} -> {r['new']}: +{r['added']} added, -{r['removed']} removed, "
            f"~{r['changed']} changed, {r['unchanged']} unchanged",
            f"persons: +{p['added']} added, -{p['removed']} removed, ~{p['changed']} changed, "
            f"{p['unchanged']} unchanged",
        ]
        u = self.rows_without_person
        if any(u.values()):
            out.append(
                f"rows of unknown persons (BSN {UNKNOWN_BSN}, no V-nummer): +{u['added']} "
                f"added, -{u['removed']} removed, {u['unchanged']} unchanged"
            )
        if self.fields_changed:
            fields = ", ".join(f"{k} {v}" for k, v in self.fields_changed.items())
            out.append(f"changed fields: {fields}")
        for g in self.groups[:max_groups]:
            out.append(
                f"  {g['type_opvang']} {TYPE_OPVANG.get(g['type_opvang'], '?')}, gemeente "
                f"{g['gemeentecode']}: rows +{g['rows_added']} -{g['rows_removed']} "
                f"~{g['rows_changed']}; persons +{g['persons_added']} -{g['persons_removed']} "
                f"~{g['persons_changed']}"
            )
        if len(self.groups) > max_groups:
            out.append(f"  … and {len(self.groups) - max_groups} more TypeOpvang/gemeente groups")
        for status, rows in self.examples.items():
            for ex in rows:
                out.append(f"  e.g. {status}: " + ", ".join(f"{k} {v}" for k, v in ex.items()))
        return out


def diff_deliveries(
    old: pl.DataFrame | pl.LazyFrame, new: pl.DataFrame | pl.LazyFrame, *, examples: int = 3
) -> DeliveryDiff:
    """Compare two deliveries of the same year. Frames carry the DAKL `COLUMNS` as strings."""
    joined = _match(_keyed(old), _keyed(new)).collect()
    status = joined.get_column("status")
    rows = {s: int((status == s).sum()) for s in STATUSES}
    rows["old"] = rows["removed"] + rows["changed"] + rows["unchanged"]
    rows["new"] = rows["added"] + rows["changed"] + rows["unchanged"]

    per_field = joined.filter(pl.col("status") == "changed").select(
        pl.col(f"{f}_old").eq_missing(pl.col(f"{f}_new")).not_().sum().alias(f) for f in VALUES
    )
    fields_changed = {f: int(n) for f, n in per_field.row(0, named=True).items() if n}
    unknown = joined.filter(pl.col("person").is_null())
    rows_without_person = {
        s: int((unknown.get_column("status") == s).sum()) for s in ("added", "removed", "unchanged")
    }
    flags = _person_flags(joined)
    return DeliveryDiff(
        rows=rows,
        persons=_person_totals(flags),
        rows_without_person=rows_without_person,
        fields_changed=fields_changed,
        groups=_groups(joined, flags),
        examples=_examples(joined, examples),
    )


def _keyed(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    text = {c: pl.col(c).cast(pl.String) for c in COLUMNS}
    lf = frame.lazy().select(
        pl.when(text[c].str.len_bytes() > 0).then(text[c]).alias(c) for c in COLUMNS
    )
    person = (
        pl.when(pl.col("bsn") != UNKNOWN_BSN)
        .then(pl.lit("B") + pl.col("bsn"))
        .when(pl.col("v_nummer").is_not_null())
        .then(pl.lit("V") + pl.col("v_nummer"))
    )
    # Known person: the episode is the key. Unknown person: only the whole row identifies it.
    key = (
        pl.when(person.is_not_null())
        .then(pl.concat_str([person, *EPISODE], separator="|"))
        .otherwise(pl.concat_str([pl.col(c).fill_null("") for c in _ALL], separator="|"))
    )
    # Rows sharing a key (a repeated episode, identical unknown persons) are ordered by their
    # values, and the n-th of them matches the n-th in the other file.
    order = pl.concat_str(
        [pl.col("key"), *(pl.col(c).fill_null("") for c in VALUES)], separator="\x00"
    )
    index = pl.int_range(pl.len())
    starts_key = (pl.col("key") != pl.col("key").shift(1)).fill_null(True)
    keyed = lf.with_columns(person=person, key=key, present=pl.lit(True)).drop("aanmaakdatum")
    repeated = pl.col("key").is_duplicated()
    # Only the few repeated keys need sorting; the rest is the first and only of its key.
    single = keyed.filter(~repeated).with_columns(occurrence=pl.lit(0, dtype=pl.Int64))
    several = (
        keyed.filter(repeated)
        .sort(order)
        .with_columns(
            occurrence=(index - pl.when(starts_key).then(index).forward_fill()).cast(pl.Int64)
        )
    )
    return pl.concat([single, several])


def _match(old: pl.LazyFrame, new: pl.LazyFrame) -> pl.LazyFrame:
    on = ["key", "occurrence"]
    joined = old.join(new, on=on, how="full", suffix="_new", coalesce=True).rename(
        {c: f"{c}_old" for c in (*_ALL, "person", "present")}
    )
    differs = pl.any_horizontal(
        pl.col(f"{f}_old").eq_missing(pl.col(f"{f}_new")).not_() for f in VALUES
    )
    side_old = pl.col("present_old").fill_null(False)
    side_new = pl.col("present_new").fill_null(False)
    return joined.with_columns(
        status=pl.when(~side_old)
        .then(pl.lit("added"))
        .when(~side_new)
        .then(pl.lit("removed"))
        .when(differs)
        .then(pl.lit("changed"))
        .otherwise(pl.lit("unchanged")),
        person=pl.coalesce("person_new", "person_old"),
        type_opvang=pl.coalesce("type_opvang_new", "type_opvang_old"),
        gemeentecode=pl.coalesce("gemeentecode_new", "gemeentecode_old"),
    )


def _person_flags(joined: pl.DataFrame) -> pl.DataFrame:
    """Per person and (TypeOpvang, gemeente): in the old file, in the new one, any row touched."""
    return (
        joined.filter(pl.col("person").is_not_null())
        .group_by([*GROUP, "person"])
        .agg(
            in_old=(pl.col("status") != "added").any(),
            in_new=(pl.col("status") != "removed").any(),
            touched=(pl.col("status") != "unchanged").any(),
        )
    )


def _person_status() -> pl.Expr:
    """Added when all its rows are new, removed when all are gone, changed when any changed."""
    return (
        pl.when(~pl.col("in_old"))
        .then(pl.lit("persons_added"))
        .when(~pl.col("in_new"))
        .then(pl.lit("persons_removed"))
        .when(pl.col("touched"))
        .then(pl.lit("persons_changed"))
        .otherwise(pl.lit("persons_unchanged"))
        .alias("what")
    )


def _person_totals(flags: pl.DataFrame) -> dict[str, int]:
    overall = flags.group_by("person").agg(pl.col("in_old", "in_new", "touched").any())
    counts = dict(overall.select(_person_status()).to_series().value_counts().iter_rows())
    return {s: int(counts.get(f"persons_{s}", 0)) for s in STATUSES}


def _groups(joined: pl.DataFrame, flags: pl.DataFrame) -> list[dict[str, Any]]:
    row_counts = (
        joined.group_by([*GROUP, "status"])
        .agg(n=pl.len())
        .with_columns(pl.concat_str(pl.lit("rows_"), pl.col("status")).alias("what"))
        .select(*GROUP, "what", "n")
    )
    person_counts = flags.group_by([*GROUP, _person_status()]).agg(n=pl.len())
    wide = (
        pl.concat([row_counts, person_counts.select(*GROUP, "what", "n")])
        .pivot(on="what", index=list(GROUP), values="n")
        .fill_null(0)
    )
    columns = [f"{w}_{s}" for w in ("rows", "persons") for s in STATUSES]
    wide = wide.with_columns(
        pl.lit(0, dtype=pl.UInt32).alias(c) for c in columns if c not in wide.columns
    ).select(*GROUP, *(pl.col(c).cast(pl.Int64) for c in columns))
    return (
        wide.filter(pl.sum_horizontal(f"rows_{s}" for s in ("added", "removed", "changed")) > 0)
        .sort(list(GROUP), nulls_last=True)
        .to_dicts()
    )


def _examples(joined: pl.DataFrame, n: int) -> dict[str, list[dict[str, str | None]]]:
    """A few rows per status, BSN and V-nummer masked; enough to find them in the source."""
    if n <= 0:
        return {}
    out: dict[str, list[dict[str, str | None]]] = {}
    for status in ("added", "removed", "changed"):
        side = "old" if status == "removed" else "new"
        picked = joined.filter(pl.col("status") == status).sort("key").head(n)
        if picked.is_empty():
            continue
        cols = [
            mask_expr(pl.col(f"bsn_{side}")).alias("bsn"),
            mask_expr(pl.col(f"v_nummer_{side}")).alias("v_nummer"),
            pl.col("type_opvang"),
            pl.col("gemeentecode"),
            pl.col(f"startdatum_{side}").alias("startdatum"),
        ]
        if status == "changed":
            cols += [
                pl.when(pl.col(f"{f}_old").eq_missing(pl.col(f"{f}_new")).not_())
                .then(
                    pl.concat_str(
                        pl.col(f"{f}_old").fill_null("(empty)"),
                        pl.lit(" -> "),
                        pl.col(f"{f}_new").fill_null("(empty)"),
                    )
                )
                .alias(f)
                for f in ("einddatum", "reden", "datum_melding")
            ]
        else:
            cols += [pl.col(f"{f}_{side}").alias(f) for f in ("einddatum", "reden")]
        # at most `n` small dicts: drop what is empty or did not change
        out[status] = [
            {k: v for k, v in row.items() if v is not None}
            for row in picked.select(cols).to_dicts()
        ]
    return out
