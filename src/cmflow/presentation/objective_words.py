"""How a report, its e-mail and ``cmflow run``'s summary put an objective's figures into words (one
wording for all three: the catalogues')."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cmflow.presentation.language import Language


def objective_figures(result: Any, lang: "Language") -> str:
    """The figures behind an objective's decision, as the report says them: the change achieved
    against the change targeted (``+12,00 % pour une cible de +10,00 % (120 % de la cible) · par
    rapport à …``), or the value against the target; empty without a verdict."""
    if result.progress is None:  # no verdict: its reason is said instead
        return ""
    objective, progress = result.objective, lang.percent(*result.progress_percent())
    if objective.kind == "change" and result.change_pct is not None:
        achieved = ("+" if result.change_pct >= 0 else "") + lang.percent(result.change_pct, 2)
        target = ("+" if objective.target_change_pct >= 0 else "") + lang.percent(objective.target_change_pct, 2)
        return (lang.text("objective_figures", value=achieved, target=target, progress=progress)
                + f" · {lang.text('vs_' + objective.against)}")
    if result.value is None:
        return ""
    return lang.text("objective_figures", value=lang.value(result.value, result.unit),
                     target=lang.value(result.target_value, result.unit), progress=progress)


def objective_rule(result: Any, lang: "Language") -> str:
    """The rule that gave an objective's decision, in the report's words (``49,7 % de la cible
    atteinte : arrêter en dessous de 50 %.``); empty without a verdict."""
    if result.verdict is None or result.progress is None or result.threshold is None:
        return ""
    key = "objective_rule_below" if result.verdict == "stop" else "objective_rule_reached"
    return lang.text(key, progress=lang.percent(*result.progress_percent()),
                     verdict=lang.text("verdict_" + result.verdict).lower(),
                     threshold=lang.percent(*result.threshold_percent()))
