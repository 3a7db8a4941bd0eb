"""Fault injection for the end-to-end fault tests: a marketplace on a private Anvil that can be
stopped and relaunched from its dumped state, an HTTP endpoint that goes down on the first upload
and comes back, a small tmpfs that fills up, and the exact books of one paid job."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from e2e_dispute_kit import REWARD, SolverSlot, World, tiny_spec
from eth_account.signers.local import LocalAccount
from market_kit import Market, deploy_market
from web3 import Web3

from node.chain.anvil import AnvilProcess, start_anvil
from node.chain.dispute_events import DisputeResolved, RangeChosen
from node.chain.dispute_types import DisputeOutcome, DisputePhase
from node.storage import LocalBlobStore

LOCK = 2 * REWARD
BURN_ADDRESS = "0x000000000000000000000000000000000000dEaD"  # StakeRegistry.BURN_ADDRESS


@dataclass
class Restartable:
    """A deployed marketplace whose Anvil a test may stop and relaunch (``--state``)."""

    market: Market
    anvil: AnvilProcess

    def pending_tx(self, account: str) -> bool:
        """``account`` has a transaction in the node's pool (sent, not mined)."""
        w3 = self.market.w3
        return w3.eth.get_transaction_count(account, "pending") > w3.eth.get_transaction_count(
            account, "latest"
        )

    def automine(self, on: bool) -> None:
        self.market.w3.provider.make_request("evm_setAutomine", [on])  # type: ignore[arg-type]

    def mine(self) -> None:
        self.market.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


@pytest.fixture
def restartable(
    compiled: list[str], dev_accounts: list[LocalAccount], tmp_path: Path
) -> Iterator[Restartable]:
    anvil = start_anvil(state_file=tmp_path / "anvil-state.json")
    try:
        w3 = Web3(Web3.HTTPProvider(anvil.rpc_url, request_kwargs={"timeout": 60}))
        yield Restartable(deploy_market(w3, anvil.rpc_url, dev_accounts, tmp_path), anvil)
    finally:
        anvil.stop()


@dataclass
class OutageProxy:
    """A TCP relay in front of a real HTTP server that goes down (refuses connections, cuts the
    open ones) when the first ``PUT`` request passes it, until ``come_back``: the server's
    endpoint vanishing exactly while a client uploads, without touching the server."""

    upstream: tuple[str, int]
    port: int
    down_on_put: bool = True
    went_down: threading.Event = field(default_factory=threading.Event)
    _listener: socket.socket | None = None
    _open: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def come_back(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def go_down(self) -> None:
        with self._lock:
            self.went_down.set()
            self.down_on_put = False
            if self._listener is not None:
                with suppress(OSError):
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for sock in self._open:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            with self._lock:
                self._open += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        with suppress(OSError):
            while chunk := src.recv(65536):
                if from_client and self.down_on_put and chunk.startswith(b"PUT "):
                    self.go_down()
                    return
                dst.sendall(chunk)
        with suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


@contextmanager
def tmpfs(path: Path, size_bytes: int) -> Iterator[Path]:
    """A tmpfs of ``size_bytes`` mounted at ``path`` (root only): a disk that really fills up."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(path)], check=True
    )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def paid_job_books(world: World, job_id: int, before: dict[str, int], fee: int) -> None:
    """One job paid with no dispute and no attester: the solver is up exactly the reward, the
    submitter down exactly the reward (its fee is its credit again), nothing locked, the escrow
    holds exactly the submitter's credit."""
    p, market = world.p, world.market
    job = p.market.get_job(job_id)
    solver, submitter = market.solver.address, market.submitter.address
    assert p.dispute_game.dispute_count() == 0
    assert world.wealth(solver) - before[solver] == job.reward
    assert world.wealth(submitter) - before[submitter] == -job.reward
    assert p.market.credit_of(submitter) == fee
    assert p.registry.stake_of(solver).locked == 0
    assert p.market.total_liabilities() == fee
    world.solvency()


@dataclass
class FraudScene:
    """A solver cheating at step 2 of segment 2 (``alter_step:2``) before four verifiers, in
    process: the dispute a fault test interrupts, and its exact books once fraud is proven."""

    world: World
    cheater: SolverSlot
    parties: list[str]
    before: dict[str, int]
    burned_before: int
    job_id: int

    @classmethod
    def start(cls, market: Market, dev_accounts: list[LocalAccount]) -> FraudScene:
        world = World(market, LocalBlobStore(market.root / "blobs"))
        for k in range(4):
            world.add_verifier(f"v{k + 1}", dev_accounts[3 + k])
        cheater = world.add_solver(dev_accounts[2], LOCK, "alter_step:2")  # one lock of stake
        world.start_solver(cheater)
        parties = [market.submitter.address, cheater.account.address] + [
            a.address for a in world.accounts.values()
        ]
        before = {a: world.wealth(a) for a in parties}
        burned = world.p.token.balance_of(BURN_ADDRESS)
        job_id = world.post(tiny_spec(world.store))
        return cls(world, cheater, parties, before, burned, job_id)

    def in_phase(self, want: DisputePhase) -> bool:
        game = self.world.p.dispute_game
        return game.dispute_count() == 1 and game.get_dispute(1).phase is want

    def challenger_must_choose(self) -> tuple[str, str]:
        """Play until the challenger must choose a range; its address and name."""
        self.world.drive(lambda: self.in_phase(DisputePhase.CHOOSE), what="challenger to choose")
        challenger = self.world.p.dispute_game.get_dispute(1).challenger
        name = next(n for n, a in self.world.accounts.items() if a.address == challenger)
        return challenger, name

    def finish_and_check(self, challenger: str) -> None:
        """Play until fraud is proven; then no move repeated and every token accounted for."""
        world, p = self.world, self.world.p
        world.drive(lambda: p.market.get_job(self.job_id).attempt == 1, what="fraud proven")
        (resolved,) = [
            e
            for e in p.dispute_game.get_events("DisputeResolved")
            if isinstance(e, DisputeResolved)
        ]
        assert resolved.outcome == DisputeOutcome.SOLVER_WRONG and resolved.winner == challenger
        chosen = [e for e in p.dispute_game.get_events("RangeChosen") if isinstance(e, RangeChosen)]
        assert len(chosen) == len(p.dispute_game.get_events("SplitProposed"))  # each answered once
        jurors = p.jury.jurors_of(1, 0)
        delta = {a: world.wealth(a) - self.before[a] for a in self.parties}
        assert delta[self.cheater.account.address] == -LOCK  # the cheater's whole lock
        # a conviction splits the jackpot among the segment's open challenges; each revealed
        # challenge burned its fee (DISPUTES.md, "Jackpot")
        fee = p.dispute_game.challenge_fee_of(self.job_id)
        shares = {
            e.challenger: e.share  # type: ignore[attr-defined]
            for e in p.dispute_game.get_events("JackpotShared")
        }
        assert delta[challenger] == resolved.winner_paid - fee  # bond back, its share, less fee
        for account in self.parties[2:]:
            if account != challenger:
                juror_fee = resolved.jury_fees // len(jurors) if account in jurors else 0
                shared = shares[account] - fee if account in shares else 0
                assert delta[account] == juror_fee + shared, account  # nobody honest slashed
        job = p.market.get_job(self.job_id)
        # every token is accounted for: the parties' gains and losses, the reopened job's escrow
        # and the burn add up to nothing, to the wei
        burned = p.token.balance_of(BURN_ADDRESS) - self.burned_before
        assert burned > 0
        assert sum(delta.values()) + job.reward + job.verifier_fee == -burned
        assert all(p.registry.stake_of(a).locked == 0 for a in self.parties[2:])
        world.solvency()
