"""Typed adapter of ``Jury`` (IJury): seeds, salted-digest votes, resolution of a pinned dispute.

Split from the dispute game on-chain for the contract size limit (EIP-170); dispute ids are shared.
"""

from __future__ import annotations

from typing import Any

from node.chain.adapter import ContractAdapter
from node.chain.dispute_events import JURY_EVENTS
from node.chain.dispute_types import Panel, Vote, panel_from_fields
from node.chain.events import snake
from node.chain.tx import SentTx
from node.chain.types import Wei


class JuryAdapter(ContractAdapter):
    CONTRACT = "Jury"
    EVENTS = JURY_EVENTS

    def record_seed(self, dispute_id: int) -> SentTx:
        """Draw the jurors, then (next call) record the digest salt ``r``."""
        return self._transact("recordSeed", dispute_id)

    def commit_vote(self, dispute_id: int, commitment: bytes) -> SentTx:
        return self._transact("commitVote", dispute_id, commitment)

    def reveal_vote(self, dispute_id: int, digest: bytes, salt: bytes) -> SentTx:
        return self._transact("revealVote", dispute_id, digest, salt)

    def resolve(self, dispute_id: int) -> SentTx:
        return self._transact("resolve", dispute_id)

    # --- views ---

    def panel_of(self, dispute_id: int) -> Panel:
        raw = tuple(self._call("panelOf", dispute_id))
        names = self._component_names("panelOf")
        return panel_from_fields(dict(zip(names, raw, strict=True)))

    def jurors_of(self, dispute_id: int, round_: int) -> list[str]:
        return [str(a) for a in self._call("jurorsOf", dispute_id, round_)]

    def vote_of(self, dispute_id: int, round_: int, voter: str) -> Vote:
        c, d, r, juror, locked = self._call("voteOf", dispute_id, round_, voter)
        return Vote(bytes(c), bytes(d), bool(r), bool(juror), Wei(int(locked)))

    def _component_names(self, function: str) -> list[str]:
        item: Any = next(i for i in self.contract.abi if i.get("name") == function)
        return [snake(str(c["name"])) for c in item["outputs"][0]["components"]]
