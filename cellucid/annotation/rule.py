"""The consensus rule: from the votes on one target to one label, or none.

A *target* is one category of one categorical field (``leiden`` = ``7``) or one explicit
set of cells. Each annotator has at most one vote per target (voting again replaces it);
a vote names a label, and proposing a label is voting for a label nobody voted for yet.
Labels that differ only in case or spacing count as one (the first spelling is shown).

For each target, with ``n`` votes, the most-voted label having ``top`` votes and the
runner-up ``second`` (0 when there is one label):

1. the project's author locked a label on it → ``locked``, that label;
2. ``n < min_votes`` → ``pending`` (no label yet);
3. ``top - second >= min_margin`` → ``agreed``, the most-voted label;
4. otherwise, with two labels or more → ``disputed`` (ties always end here, because
   ``min_margin`` is at least 1); with a single label → ``pending``.

Defaults: ``min_votes=1``, ``min_margin=1`` — one person alone gets their labels, and a
tie between two people is disputed. A project sets its own in ``project.json``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from cellucid.annotation._names import label_key
from cellucid.data.base import BadParameter

LOCKED, AGREED, DISPUTED, PENDING = "locked", "agreed", "disputed", "pending"


@dataclass(frozen=True)
class Rule:
    """``min_votes``: votes a target needs before it has a label; ``min_margin``: how many
    more votes the leading label needs than the runner-up."""

    min_votes: int = 1
    min_margin: int = 1

    def __post_init__(self):
        for name in ("min_votes", "min_margin"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise BadParameter(f"{name} must be a whole number of at least 1, got {value!r}",
                                   f"Set {name} to 1 or more in project.json.")

    def to_json(self) -> dict:
        return {"min_votes": self.min_votes, "min_margin": self.min_margin}


@dataclass
class Decision:
    """What the rule decided for one target: ``status`` (locked/agreed/disputed/pending),
    ``label`` (``None`` unless locked or agreed), and per label its voters in vote order."""

    status: str
    label: str | None
    voters: dict[str, list[str]] = field(default_factory=dict)
    margin: int = 0

    @property
    def n_votes(self) -> int:
        return sum(len(v) for v in self.voters.values())


def decide(votes: list[tuple[str, str]], rule: Rule, locked_label: str | None = None) -> Decision:
    """Apply the rule to ``votes``, a list of ``(annotator, label)`` in time order (one per
    annotator)."""
    spelling: dict[str, str] = {}
    voters: dict[str, list[str]] = {}
    for annotator, label in votes:
        key = label_key(label)
        shown = spelling.setdefault(key, label)
        voters.setdefault(shown, []).append(annotator)
    counts = Counter({label: len(names) for label, names in voters.items()})
    ranked = counts.most_common()
    top = ranked[0][1] if ranked else 0
    second = ranked[1][1] if len(ranked) > 1 else 0
    margin = top - second
    if locked_label is not None:
        shown = spelling.get(label_key(locked_label), locked_label)
        return Decision(LOCKED, shown, voters, margin)
    n = sum(counts.values())
    if n < rule.min_votes:
        return Decision(PENDING, None, voters, margin)
    if margin >= rule.min_margin:
        return Decision(AGREED, ranked[0][0], voters, margin)
    return Decision(DISPUTED if len(ranked) > 1 else PENDING, None, voters, margin)
