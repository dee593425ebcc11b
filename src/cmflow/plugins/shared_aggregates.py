"""The capability of a metric that shares its grouping of records with the run's other metrics.

The metrics of a run often group the same records the same way: engagement by reach and by
impressions, posts published and totals each add up the posts of every account in every
period. A metric that subclasses :class:`SharesAggregates` beside :class:`cmflow.Metric` says
what it groups (:meth:`~SharesAggregates.aggregates`: :class:`Aggregate` objects) and derives
its measurements from the grouped frames (:meth:`~SharesAggregates.from_aggregates`). The
measure stage then groups each set of rows once for every metric that asks, in one plan
(:func:`grouped_aggregates`), as a hand-written query computes every KPI in one ``group_by``.
A metric without the capability computes its figures alone, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Hashable, Mapping, Sequence

if TYPE_CHECKING:
    import polars as pl

    from cmflow.plugins.context import MetricInput


@dataclass(frozen=True)
class Aggregate:
    """Rows grouped by period and ``by``, with named aggregations.

    Two aggregates of one metric input with the same ``rows`` name, the same ``by`` and frames
    of the same plan (``frame.explain(optimized=False)``) are grouped in one ``group_by``: the
    name stands for the data (``"view_rows:auto"``: the posts, and the activity of the accounts
    without posts, of a ``view = "auto"`` metric), the plan for how they are read (two filters
    of the posts are two sets of rows, whatever their name). An aggregation another metric
    asks too (the same expression, whatever its outer name) is computed once. Each aggregate
    reads only the rows' columns and its own :attr:`columns`: one that reads a column another
    adds is grouped apart.
    """

    rows: str
    """What the rows are, by name (the same name, the same rows)."""
    frame: "pl.LazyFrame"
    """The rows, with a ``period`` column."""
    by: tuple[str, ...]
    """The columns grouped by besides ``period`` (a grouping set: ``()``, ``("platform", "account")`` ...);
    with ``post_id`` only the rows of a post are grouped (as :func:`cmflow.aggregate` does)."""
    aggregations: tuple["pl.Expr", ...]
    """Aggregations, each named (``pl.col("reach").sum().alias("reach")``) and each one column (not
    ``pl.col("likes", "reach").sum()``): the columns of the result."""
    columns: Mapping[str, "pl.Expr"] = field(default_factory=dict)
    """Columns added to the rows before grouping, computed from the rows' own (the aggregations
    read them by name). Each name must be new to the rows (a metric replacing ``reach`` is refused);
    a name means one expression in every metric: name a column by what it holds
    (``_likes+comments+shares``); two metrics giving one name two expressions are grouped apart."""
    every_period: bool = False
    """Every group found in any period gets a row in every period, its aggregations null where
    it had no rows (as ``cmflow.aggregate(..., periods=...)`` does)."""


class SharesAggregates:
    """A metric whose grouping of records the measure stage computes with the other metrics'.

    Put it first: ``class MyMetric(SharesAggregates, Metric)``, so that its :meth:`compute`
    (the aggregates grouped for this metric alone, then :meth:`from_aggregates`) is the one
    called where a metric is computed by itself (tests, :func:`cmflow.testing` helpers).
    """

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        owner = next(base for base in cls.__mro__ if "compute" in vars(base))
        if not issubclass(owner, SharesAggregates):
            # class M(Metric, SharesAggregates): Metric.compute would be called where the
            # metric is computed by itself, and raise NotImplementedError.
            raise TypeError(f"{cls.__qualname__}: put SharesAggregates before {owner.__name__} "
                            f"(class {cls.__name__}(SharesAggregates, {owner.__name__})), so that its compute "
                            "groups the aggregates")

    def aggregates(self, data: "MetricInput") -> dict[str, Aggregate]:
        """What the metric groups, by a name of the metric's choosing."""
        raise NotImplementedError

    def from_aggregates(self, data: "MetricInput", grouped: Mapping[str, "pl.DataFrame"]) -> "pl.DataFrame":
        """The measurement frame (see :meth:`cmflow.Metric.compute`) from ``grouped``: for each
        name of :meth:`aggregates`, a frame of ``period``, the ``by`` columns and the aggregations."""
        raise NotImplementedError

    def compute(self, data: "MetricInput") -> "pl.DataFrame":
        """The measurements, its aggregates grouped for this metric alone."""
        labels = [p.label for p in data.periods]
        aggregates = checked_aggregates(getattr(self, "name", type(self).__name__), self.aggregates(data))
        return self.from_aggregates(data, grouped_aggregates([(None, aggregates)], labels)[0])


@dataclass
class _Batch:
    """Aggregates grouped in one ``group_by``: one set of rows, one ``by``."""

    frame: "pl.LazyFrame"
    by: tuple[str, ...]
    columns: dict[str, "pl.Expr"] = field(default_factory=dict)
    aggregations: list["pl.Expr"] = field(default_factory=list)
    """Unnamed, each computed once; the result's column of the i-th is :meth:`column` (i)."""
    reads: set[str] = field(default_factory=set)
    """The columns the aggregations read (the rows' own, or one of :attr:`columns`)."""
    every_period: bool = False

    def accepts(self, aggregate: Aggregate) -> bool:
        """Whether ``aggregate`` groups here and reads what it would read alone: its columns are
        the batch's (or new to it, and to what the batch's aggregations read), and it reads none
        of the columns another aggregate of the batch adds."""
        for name, expression in aggregate.columns.items():
            if name in self.columns:
                if not self.columns[name].meta.eq(expression):
                    return False
            elif name in self.reads:
                return False
        return all(name not in self.columns or name in aggregate.columns for name in _reads(aggregate))

    def add(self, aggregate: Aggregate) -> dict[str, str]:
        """Take ``aggregate`` in; return its aggregations' names -> the batch's columns."""
        self.columns.update(aggregate.columns)
        self.reads.update(_reads(aggregate))
        self.every_period |= aggregate.every_period
        names: dict[str, str] = {}
        for expression in aggregate.aggregations:
            name = expression.meta.output_name()
            bare = _unnamed(expression)
            index = next((i for i, known in enumerate(self.aggregations) if known.meta.eq(bare)), None)
            if index is None:
                index = len(self.aggregations)
                self.aggregations.append(bare)
            names[name] = self.column(index)
        return names

    @staticmethod
    def column(index: int) -> str:
        return f"_aggregate_{index}"

    def plan(self) -> "pl.LazyFrame":
        import polars as pl

        rows = self.frame.filter(pl.col("post_id").is_not_null()) if "post_id" in self.by else self.frame  # not DMs
        if self.columns:
            rows = rows.with_columns(**self.columns)
        return rows.group_by(["period", *self.by]).agg(
            expression.alias(self.column(i)) for i, expression in enumerate(self.aggregations))


def _reads(aggregate: Aggregate) -> set[str]:
    return {name for expression in aggregate.aggregations for name in expression.meta.root_names()}


def _unnamed(expression: "pl.Expr") -> "pl.Expr":
    """``expression`` without its outer name (``.alias``), the names inside it kept (a struct's
    fields): two aggregations that differ only by their outer name are one column."""
    name = expression.meta.output_name()
    inputs = expression.meta.pop()
    if len(inputs) == 1 and inputs[0].alias(name).meta.eq(expression):
        return inputs[0]
    return expression


def checked_aggregates(metric: str, aggregates: Mapping[str, Aggregate]) -> Mapping[str, Aggregate]:
    """``aggregates`` of the metric named ``metric``, refused with a message naming the metric
    and the aggregate when one cannot be grouped as written: an aggregation of several columns
    (one column per expression), two aggregations of one name, a column of :attr:`Aggregate.columns`
    that the rows already have (it would change what the other metrics read)."""
    from cmflow.foundation.errors import UserFacingError

    for name, aggregate in aggregates.items():
        where = f"metric {metric}: aggregate {name!r} (rows {aggregate.rows!r})"
        seen: set[str] = set()
        for expression in aggregate.aggregations:
            if expression.meta.has_multiple_outputs():
                raise UserFacingError(f"{where}: the aggregation {expression} gives several columns; "
                                      "write one expression per column, each with its own name")
            output = expression.meta.output_name(raise_if_undetermined=False)
            if output is None:
                raise UserFacingError(f"{where}: the aggregation {expression} has no name; name it with .alias()")
            if output in seen:
                raise UserFacingError(f"{where}: two aggregations are named {output!r}; give each its own name")
            seen.add(output)
        if aggregate.columns:
            raw = set(aggregate.frame.collect_schema().names())
            if clashing := sorted(raw.intersection(aggregate.columns)):
                raise UserFacingError(
                    f"{where}: {', '.join(map(repr, clashing))} "
                    f"{'is already a column' if len(clashing) == 1 else 'are already columns'} of the rows; "
                    "a column added before grouping needs a new name (e.g. '_reach_or_default')")
    return aggregates


def grouped_aggregates(requests: Sequence[tuple[Hashable, Mapping[str, Aggregate]]],
                       periods: Sequence[str]) -> list[dict[str, "pl.DataFrame"]]:
    """Group the aggregates of every request, each set of rows once, collected in one plan.

    A request is a scope (what the rows were read from: aggregates of two scopes are never
    grouped together, whatever their names) and one metric's :meth:`SharesAggregates.aggregates`;
    ``periods`` are the run's period labels (for :attr:`Aggregate.every_period`). Returns, for
    each request in order, its frames by name: ``period``, the ``by`` columns, the aggregations
    under the metric's names.
    """
    import polars as pl

    from cmflow.foundation.measurements import with_every_period

    batches: dict[tuple, list[_Batch]] = {}
    placed: list[dict[str, tuple[_Batch, dict[str, str], bool]]] = []
    plans: dict[int, tuple["pl.LazyFrame", str]] = {}  # the frame is kept so that its id stays its own

    def plan(frame: "pl.LazyFrame") -> str:
        if id(frame) not in plans:
            plans[id(frame)] = (frame, frame.explain(optimized=False))
        return plans[id(frame)][1]

    def same_rows(batch: _Batch, frame: "pl.LazyFrame") -> bool:
        # Two frames of one rows name are one only if they read the same way (two metrics'
        # different filters of the posts are two); a plan is written only to be compared.
        return batch.frame is frame or plan(batch.frame) == plan(frame)

    for scope, aggregates in requests:
        mine = {}
        for name, aggregate in aggregates.items():
            candidates = batches.setdefault((scope, aggregate.rows, tuple(aggregate.by)), [])
            batch = next((b for b in candidates if same_rows(b, aggregate.frame) and b.accepts(aggregate)), None)
            if batch is None:
                batch = _Batch(aggregate.frame, tuple(aggregate.by))
                candidates.append(batch)
            mine[name] = (batch, batch.add(aggregate), aggregate.every_period)
        placed.append(mine)
    ordered = [batch for candidates in batches.values() for batch in candidates]
    collected = dict(zip(map(id, ordered), pl.collect_all([batch.plan() for batch in ordered])))
    complete = {id(batch): with_every_period(collected[id(batch)], batch.by, periods)
                for batch in ordered if batch.every_period}
    results = []
    for mine in placed:
        frames = {}
        for name, (batch, columns, every_period) in mine.items():
            frame = (complete if every_period else collected)[id(batch)]
            frames[name] = frame.select("period", *batch.by,
                                        *[pl.col(column).alias(own) for own, column in columns.items()])
        results.append(frames)
    return results
