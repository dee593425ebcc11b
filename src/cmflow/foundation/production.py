"""What a workflow's ``[production]`` section says about the cost of content: hourly rates per
person or role, who holds which role, and the budget of each campaign.

The effort and conversion metrics price time entries with it (an entry's own ``cost`` wins,
as the tracker knew better); nothing here reads records row by row: :func:`priced_hours`
is one Polars expression.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True)
class Production:
    """The ``[production]`` section as metrics read it (``MetricInput.production``)."""

    currency: str = "EUR"
    """ISO 4217 code of every amount: rates, budgets, costs and revenue."""
    rates: Mapping[str, float] = field(default_factory=dict)
    """Hourly rate by person or by role (a person's own rate wins over their role's)."""
    roles: Mapping[str, str] = field(default_factory=dict)
    """Each person's role, for the rate of the role."""
    default_rate: float | None = None
    """Hourly rate of anyone without a rate of their own or of their role; None: their time
    has no cost (and the metrics say so rather than count it as free)."""
    budgets: Mapping[str, float] = field(default_factory=dict)
    """Planned spend per campaign, in ``currency``."""
    campaigns: Mapping[str, str] = field(default_factory=dict)
    """What a reader calls each campaign (``Calendrier de l'Avent``), by the campaign as written
    (``calendrier-avent``): :meth:`campaign_name`."""

    def campaign_name(self, campaign: str) -> str:
        """What a reader calls ``campaign``: its ``campaigns`` label, found whatever the spelling
        (the campaign's key: ``Calendrier Avent`` is ``calendrier-avent``), else as written.
        Reports, workbooks, alerts and tasks show it; data, CSV and JSON keep the campaign."""
        if not self.campaigns:
            return campaign
        from cmflow.foundation.campaign_names import campaign_key_of

        return self._campaign_labels.get(campaign_key_of(campaign) or "", campaign)

    @property
    def _campaign_labels(self) -> dict[str, str]:
        from cmflow.foundation.campaign_names import campaign_key_of

        return {key: label for name, label in self.campaigns.items() if (key := campaign_key_of(name)) is not None}

    def rate_of(self, person: str | None) -> float | None:
        """The hourly rate of ``person``: theirs, their role's, else the default one."""
        if person is not None:
            if person in self.rates:
                return self.rates[person]
            role = self.roles.get(person)
            if role is not None and role in self.rates:
                return self.rates[role]
        return self.default_rate

    def priced_hours(self) -> "pl.Expr":
        """The cost of each time entry: its own ``cost`` when given, else ``hours`` times the
        rate of its ``person`` (null when nobody's rate applies)."""
        import polars as pl

        people = {person: self.rate_of(person) for person in {*self.rates, *self.roles}}
        people = {person: rate for person, rate in people.items() if rate is not None}
        rate = (pl.col("person").cast(pl.String)
                .replace_strict(list(people), list(people.values()), default=self.default_rate,
                                return_dtype=pl.Float64))
        return pl.coalesce(pl.col("cost"), pl.col("hours") * rate).alias("cost")
