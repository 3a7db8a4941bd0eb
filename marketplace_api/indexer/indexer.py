"""``Indexer``: reads protocol logs behind a confirmation depth and writes them, with the cursor,
in one database transaction per batch.

- **Restart-safe**: the cursor (``indexer_state.next_block``) commits with the batch's events, so a
  crash loses or repeats nothing; events are also unique by (block hash, log index), so even a
  re-read range inserts nothing twice.
- **Reorgs**: every batch records the hash of its last block and of every block with an event.
  Before each batch the newest recorded hash is compared with the chain's; on a mismatch the
  indexer walks back to the newest block that still matches (the fork point), deletes everything
  above it, rebuilds the projections by replaying the ``events`` table, and re-reads from there.
- The log reading is ``node.chain.poller.EventPoller``, extended only to remember block hashes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3
from web3.exceptions import BlockNotFound
from web3.types import LogReceipt

from marketplace_api.dispute_models import (
    Attestation,
    ChallengeCommit,
    Dispute,
    DisputeMove,
    JuryPanel,
    JuryVote,
    Payout,
    Slash,
)
from marketplace_api.indexer.projections import apply
from marketplace_api.indexer.records import EventRecord, record_of
from marketplace_api.market_models import Claim
from marketplace_api.models import Account, Event, IndexedBlock, IndexerState, Job, utcnow
from marketplace_api.rounds_models import RoundsJob, RoundsRound
from node.chain.adapter import ContractAdapter
from node.chain.events import ChainEvent
from node.chain.poller import EventPoller, safe_head
from node.errors import ConfigError

log = logging.getLogger(__name__)
STATE_ID = 1
PROJECTION_TABLES = (
    Job,
    Account,
    Attestation,
    ChallengeCommit,
    Dispute,
    DisputeMove,
    JuryPanel,
    JuryVote,
    Payout,
    Slash,
    RoundsJob,
    RoundsRound,
    Claim,
)
"""Every table that is a function of the ``events`` table (dropped and replayed after a reorg)."""


class _HashingPoller(EventPoller):
    """The project's poller, also remembering each log's block hash."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.block_hashes: dict[int, str] = {}
        self.block_times: dict[int, int] = {}

    def _logs(self, lo: int, hi: int) -> list[LogReceipt]:
        logs = super()._logs(lo, hi)
        for entry in logs:
            number = int(entry["blockNumber"])
            self.block_hashes[number] = "0x" + bytes(entry["blockHash"]).hex()
            stamp = dict(entry).get("blockTimestamp")
            if isinstance(stamp, str | int):
                self.block_times[number] = int(stamp, 16) if isinstance(stamp, str) else stamp
        return logs


@dataclass
class IndexerStats:
    """Counters for metrics and the health endpoint (read by other threads; ints are atomic)."""

    events: int = 0
    batches: int = 0
    reorgs: int = 0
    next_block: int = 0
    chain_head: int = 0


class Indexer:
    """Indexes the given adapters' events into the database behind ``sessions``."""

    def __init__(
        self,
        w3: Web3,
        adapters: Sequence[ContractAdapter],
        sessions: sessionmaker[Session],
        *,
        start_block: int,
        confirmations: int = 0,
        batch_blocks: int = 2_000,
        on_commit: Callable[[int], None] | None = None,
    ) -> None:
        if not adapters:
            raise ConfigError("the indexer needs at least one contract to follow")
        self.w3 = w3
        self.adapters = list(adapters)
        self.sessions = sessions
        self.start_block = start_block
        self.confirmations = confirmations
        self.batch_blocks = batch_blocks
        self.on_commit = on_commit
        self.stats = IndexerStats(next_block=start_block)
        self._contract_of: dict[type[ChainEvent], str] = {
            kind: adapter.CONTRACT for adapter in adapters for kind in adapter.EVENTS.values()
        }
        self._market = next(
            (a.address for a in adapters if a.CONTRACT == "JobMarket"), adapters[0].address
        )
        self._chain_id = int(w3.eth.chain_id)

    # --- the loop body ---

    def tick(self) -> int:
        """Reconcile reorgs, then index one batch of confirmed blocks; the number of new events."""
        self.reconcile()
        with self.sessions() as session:
            next_block = self._state(session).next_block
            session.commit()
        latest = int(self.w3.eth.block_number)
        self.stats.chain_head = latest
        head = safe_head(latest, self.confirmations)
        if head is None or head < next_block:
            return 0
        hi = min(head, next_block + self.batch_blocks - 1)
        hash_before = self._block_hash(hi)
        poller = _HashingPoller(
            self.w3, self.adapters, start_block=next_block, max_range=self.batch_blocks
        )
        events = poller.poll(latest=hi)
        if hash_before is None or self._block_hash(hi) != hash_before:
            log.info("block %d changed while it was read; retrying the batch", hi)
            return 0
        hashes = dict(poller.block_hashes)
        hashes[hi] = hash_before
        records = [
            record_of(
                e,
                contract=self._contract_of[type(e)],
                block_hash=hashes[e.block_number],
                block_time=poller.block_times.get(e.block_number),
            )
            for e in events
        ]
        return self._write(next_block, hi, records, hashes)

    def run_until_head(self, *, max_batches: int = 1_000_000) -> int:
        """Tick until the confirmed head is indexed; the number of new events."""
        total = 0
        for _ in range(max_batches):
            total += self.tick()
            if self.stats.next_block > (safe_head(self.stats.chain_head, self.confirmations) or 0):
                break
        return total

    # --- writing ---

    def _write(self, lo: int, hi: int, records: list[EventRecord], hashes: dict[int, str]) -> int:
        with self.sessions() as session, session.begin():
            state = self._state(session)
            if state.next_block != lo:
                return 0  # another writer moved the cursor; re-read from the new one
            seen = {
                (str(block_hash), int(log_index))
                for block_hash, log_index in session.execute(
                    select(Event.block_hash, Event.log_index).where(
                        Event.block_number >= lo, Event.block_number <= hi
                    )
                )
            }
            fresh = [r for r in records if (r.block_hash, r.log_index) not in seen]
            for record in fresh:
                session.add(_event_row(record))
                apply(session, record)
            for number, block_hash in hashes.items():
                session.merge(IndexedBlock(number=number, hash=block_hash))
            state.next_block = hi + 1
            state.updated_at = utcnow()
        self.stats.events += len(fresh)
        self.stats.batches += 1
        self.stats.next_block = hi + 1
        if self.on_commit is not None:
            self.on_commit(len(fresh))
        return len(fresh)

    # --- reorgs ---

    def reconcile(self) -> int | None:
        """If a recorded block hash no longer matches the chain, roll back to the fork point.

        Returns the fork point (the first block re-read), or None when nothing changed.
        """
        with self.sessions() as session, session.begin():
            newest = session.scalars(
                select(IndexedBlock).order_by(IndexedBlock.number.desc()).limit(1)
            ).first()
            if newest is None or self._block_hash(newest.number) == newest.hash:
                return None
            fork = self.start_block
            for block in session.scalars(select(IndexedBlock).order_by(IndexedBlock.number.desc())):
                if self._block_hash(block.number) == block.hash:
                    fork = block.number + 1
                    break
            log.warning("chain reorganised: re-indexing from block %d", fork)
            self._roll_back(session, fork)
        self.stats.reorgs += 1
        self.stats.next_block = fork
        if self.on_commit is not None:
            self.on_commit(1)
        return fork

    def _roll_back(self, session: Session, fork: int) -> None:
        session.execute(delete(Event).where(Event.block_number >= fork))
        session.execute(delete(IndexedBlock).where(IndexedBlock.number >= fork))
        state = self._state(session)
        state.next_block = fork
        state.reorgs += 1
        rebuild_projections(session)

    # --- helpers ---

    def _state(self, session: Session) -> IndexerState:
        state = session.get(IndexerState, STATE_ID)
        if state is None:
            state = IndexerState(
                id=STATE_ID,
                chain_id=self._chain_id,
                market_address=self._market,
                next_block=self.start_block,
                reorgs=0,
            )
            session.add(state)
            session.flush()
        elif state.chain_id != self._chain_id or state.market_address != self._market:
            raise ConfigError(
                f"this database indexes JobMarket {state.market_address} on chain "
                f"{state.chain_id}, not {self._market} on chain {self._chain_id}: "
                "use another CROWDTRAIN_DATABASE_URL"
            )
        return state

    def _block_hash(self, number: int) -> str | None:
        try:
            block = self.w3.eth.get_block(number)
        except BlockNotFound:
            return None
        block_hash = block.get("hash")
        return "0x" + bytes(block_hash).hex() if block_hash is not None else None


def _event_row(record: EventRecord) -> Event:
    return Event(
        block_number=record.block_number,
        block_hash=record.block_hash,
        log_index=record.log_index,
        tx_hash=record.tx_hash,
        contract=record.contract,
        name=record.name,
        job_id=record.job_id,
        account=record.account,
        args=record.args,
        block_time=record.block_time,
    )


def rebuild_projections(session: Session) -> None:
    """Drop every projection and replay every stored event in chain order."""
    for table in PROJECTION_TABLES:
        session.execute(delete(table))
    session.flush()
    rows = session.scalars(select(Event).order_by(Event.block_number, Event.log_index))
    for row in rows:
        apply(
            session,
            EventRecord(
                name=row.name,
                contract=row.contract,
                block_number=row.block_number,
                block_hash=row.block_hash,
                log_index=row.log_index,
                tx_hash=row.tx_hash,
                args=dict(row.args),
                block_time=row.block_time,
            ),
        )
