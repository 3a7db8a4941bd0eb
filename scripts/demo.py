"""`make demo`: paid training jobs and a rounds job on a local Anvil devnet, verified by four
verifier nodes.

Three stories run side by side. Job 1 is claimed by a cheating solver
(``CROWDTRAIN_FAULT=alter_step:3``, the test-only fault hook): a verifier replays segment 3,
challenges, wins the bisection and the jury, the cheater's lock is slashed, and the reopened job is
then solved honestly. A rounds job (W=3 slots, R=2 rounds, docs/ROUNDS.md; units are jobs 2-4,
then 6-8) has a cheater in slot 0 of its first round: its unit is convicted and slashed, the round
closes at its deadline with the two honest units, and the second round, every slot solved
honestly, finishes the job. Job 5 is solved honestly: the drawn attesters replay their segments,
attest and are paid per segment.

Every step is the real `crowdtrain` CLI in its own process, exactly as a user would type it; the
script only sequences them, prints every party's balance change, writes ``demo-report.html`` and
stops every process it started. The devnet is deployed with demo windows (a 45 s challenge window,
10 s reveal and 30 s jury phases, a 35 s least solve timeout) so the whole story fits in a few
minutes; the protocol's defaults (``crowdtrain devnet up``) are unchanged.

Where the time goes: round 0 lasts its whole deadline (its convicted slot is never final) and
round 1 one unit's claim, training, challenge window and reveal phase; everything else runs in
their shadow. So the script starts every process before it is needed (the cheater during set-up,
the solvers of a round all at once: a solver that loses a claim race takes the next open unit) and
reads the chain instead of sleeping.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from node.chain.anvil import free_port  # noqa: E402
from node.chain.devnet import dev_account  # noqa: E402

# Demo windows (seconds): long enough for verifiers to replay and attest an MLP job on a loaded
# 2-core machine, short enough that waiting does not dominate the run.
CHALLENGE_WINDOW = 45  # --challenge-window: raise it on a slow or busy machine
REVEAL_PHASE = 10
ROUND_MARGIN = 15
"""seconds of a round's deadline beyond the least the rounds market accepts (see round_timeout)."""
JURY_PHASE = 30
"""seconds of each jury phase: a party's vote must land in it while its node is busy replaying
other jobs (at 15 s a loaded 2-core machine could miss it, and a challenger that does not vote
loses its dispute)."""
SOLVE_TIMEOUT = 35
"""a unit's solve timeout, deployed as the least one: a unit trains in seconds, even with its
state 0 to resolve on a loaded machine, and every second of it lengthens round 0."""
VERIFIERS = {f"verifier-{k}": 3 + k for k in range(1, 5)}  # dev accounts 4..7
CHEATER = 8
ROUNDS_SOLVERS = {"rounds solver-1": 3, "rounds solver-2": 9, "rounds solver-3": 10}
ROUNDS_CHEATER = 11  # dev accounts 10 and 11 hold Anvil's ETH; the demo mints them CROWD
FAULT = "alter_step:3"
SPEC = REPO / "examples" / "specs" / "mlp_digits.json"
ROUNDS_SPEC = REPO / "examples" / "specs" / "mlp_digits_rounds.json"
REPORT = REPO / "demo-report.html"
_print_lock = threading.Lock()


def say(text: str) -> None:
    with _print_lock:
        print(text, flush=True)


def banner(text: str) -> None:
    say(f"\n=== {text} ===")


class Demo:
    def __init__(self, home: Path, challenge_window: int = CHALLENGE_WINDOW) -> None:
        self.home = home
        self.challenge_window = challenge_window
        self.port = free_port()
        self.submitter = dev_account(1)
        self.solver = dev_account(2)
        self.cheater = dev_account(CHEATER)
        self.rounds_solvers = {name: dev_account(i) for name, i in ROUNDS_SOLVERS.items()}
        self.rounds_cheater = dev_account(ROUNDS_CHEATER)
        self.verifiers = {name: dev_account(i) for name, i in VERIFIERS.items()}
        self.procs: list[subprocess.Popen[Any]] = []
        self.stages: list[tuple[str, float]] = []
        self.base_env = {k: v for k, v in os.environ.items() if not k.startswith("CROWDTRAIN_")}
        self.base_env.update(
            CROWDTRAIN_RPC_URL=f"http://127.0.0.1:{self.port}",
            CROWDTRAIN_DEVNET_DIR=str(home / "devnet"),
            CROWDTRAIN_DEPLOYMENTS_DIR=str(home / "deployments"),
            # the API's own blob folder (<data_dir>/marketplace/blobs, same layout as a node's): the
            # dashboard and the report read the manifests (losses) the nodes publish
            CROWDTRAIN_BLOB_DIR=str(home / "api" / "marketplace" / "blobs"),
            CROWDTRAIN_THREADS="1",
        )

    # --- running the CLI ---

    def env(
        self, account: object | None, data_dir: str | None = None, **extra: str
    ) -> dict[str, str]:
        env = dict(self.base_env, **extra)
        if account is not None:
            env["CROWDTRAIN_PRIVATE_KEY"] = account.key.hex()  # type: ignore[attr-defined]
        if data_dir:
            env["CROWDTRAIN_DATA_DIR"] = str(self.home / data_dir)
        return env

    def crowdtrain(
        self, account: object | None, *args: str, data_dir: str | None = None, **extra: str
    ) -> str:
        """Run one command to its end and print it with its output as one block."""
        shown = " ".join(f"{k}={v}" for k, v in extra.items())
        command = f"$ {shown + ' ' if shown else ''}crowdtrain {' '.join(args)}"
        done = subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            cwd=REPO,
            env=self.env(account, data_dir, **extra),
            capture_output=True,
            text=True,
        )
        out = (done.stdout + done.stderr).rstrip()
        say(command + ("\n  " + out.replace("\n", "\n  ") if out else ""))
        if done.returncode != 0:
            raise SystemExit(f"demo failed at: crowdtrain {' '.join(args)}")
        return done.stdout

    def side_by_side(self, *steps: Callable[[], object]) -> None:
        """Run independent steps in threads and wait for all; the first failure is raised."""
        errors: list[BaseException] = []

        def guard(step: Callable[[], object]) -> None:
            try:
                step()
            except BaseException as err:  # re-raised in the main thread
                errors.append(err)

        threads = [threading.Thread(target=guard, args=(s,)) for s in steps]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():  # a timed join keeps Ctrl-C working
                thread.join(timeout=0.5)
        if errors:
            raise errors[0]

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        banner(name)
        started = time.monotonic()
        try:
            yield
        finally:
            self.stages.append((name.split(":")[0], time.monotonic() - started))

    # --- chain reads ---

    def protocol(self) -> Any:
        from node.chain.protocol import Protocol
        from node.config import Settings

        settings = Settings(
            rpc_url=self.base_env["CROWDTRAIN_RPC_URL"],
            deployments_dir=Path(self.base_env["CROWDTRAIN_DEPLOYMENTS_DIR"]),
        )
        return Protocol.connect(settings, signer=False)

    def parties(self) -> list[tuple[str, Any]]:
        return [
            ("submitter", self.submitter),
            ("solver", self.solver),
            ("cheating solver", self.cheater),
            *self.rounds_solvers.items(),
            ("rounds cheater", self.rounds_cheater),
            *self.verifiers.items(),
        ]

    def balances(self) -> dict[str, int]:
        protocol = self.protocol()
        out = {}
        for name, account in self.parties():
            stake = protocol.registry.stake_of(account.address)
            out[name] = protocol.token.balance_of(account.address) + stake.staked + stake.unbonding
        out["escrow (JobMarket)"] = protocol.token.balance_of(protocol.market.address)
        out["escrow (RoundsMarket)"] = protocol.token.balance_of(protocol.rounds_market.address)
        out["burned (0xdead)"] = protocol.token.balance_of(
            "0x000000000000000000000000000000000000dEaD"
        )
        return out

    def wait_claimed(self, job_id: int, by: str | None, timeout: float = 180) -> None:
        """Wait until ``by`` (anyone, for None) holds the claim on ``job_id``, so the next solver
        started cannot take it."""
        market = self.protocol().market
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if market.job_count() >= job_id:
                solver = market.get_job(job_id).solver
                if solver == by or (by is None and int(solver, 16) != 0):
                    return
            time.sleep(0.5)
        raise SystemExit(f"demo failed: job {job_id} was not claimed by {by} in {timeout:.0f} s")

    # --- the story ---

    def run(self) -> None:
        with self.stage("1. devnet: Anvil (block time 1 s), contracts deployed with demo windows"):
            windows = {
                "--challenge-window": self.challenge_window,
                "--reveal-phase": REVEAL_PHASE,
                "--jury-commit-phase": JURY_PHASE,
                "--jury-reveal-phase": JURY_PHASE,
                "--min-solve-timeout": SOLVE_TIMEOUT,
            }
            options = [str(x) for kv in windows.items() for x in kv]
            # The job's estimate also times this machine once (cached for every node on it), so
            # the solvers started next do not each time it at once on a loaded machine.
            self.side_by_side(
                lambda: self.crowdtrain(None, "devnet", "up", "--port", str(self.port), *options),
                lambda: self.crowdtrain(None, "job", "estimate", str(SPEC)),
            )
            self.fund_extra_accounts()
            self.before = self.balances()
            stakes = [(self.solver, "300"), (self.cheater, "200"), (self.rounds_cheater, "200")]
            stakes += [(account, "200") for account in self.rounds_solvers.values()]
            # The cheater starts now, while nothing is open to claim: job 1 is posted next.
            cheat = self.start_solver(self.cheater, "cheater", fault=True)
            self.side_by_side(
                self.register_verifiers,
                self.start_api,
                lambda: self.crowdtrain(self.submitter, "data", "prepare", "digits"),
                *(
                    lambda account=account, amount=amount: self.crowdtrain(account, "stake", amount)
                    for account, amount in stakes
                ),
            )
            self.start_verifiers()
            self.wait_verifiers_ready()

        with self.stage(
            f"2. side by side: a cheater claims job 1 ({FAULT}); a rounds job (W=3, R=2) with a "
            "cheater in slot 0 of round 0 (jobs 2-4); job 5 solved honestly"
        ):
            # The cheats are posted first: verifier-1 checks every segment, lowest job id first.
            submit = ("job", "submit", str(SPEC), "--reward", "100", "--verifier-fee", "10")
            self.crowdtrain(self.submitter, *submit)
            self.wait_claimed(1, self.cheater.address)
            rounds_cheat = self.start_solver(self.rounds_cheater, "rounds-cheater", fault=True)
            self.crowdtrain(
                self.submitter,
                "rounds", "post", str(ROUNDS_SPEC), "--unit-reward", "20",
                "--unit-verifier-fee", "2", "--solve-timeout", str(SOLVE_TIMEOUT),
                "--round-timeout", str(self.round_timeout),
            )  # fmt: skip
            units = self.protocol().rounds_market.round_jobs(1, 0)
            self.wait_claimed(units[0], self.rounds_cheater.address)
            round0 = self.start_solvers(list(self.rounds_solvers.items())[:2], units[1:])
            honest = self.start_solver(self.solver, "solver")
            self.crowdtrain(self.submitter, *submit)
            self.finish(cheat, f"solver run --once  (cheater, {FAULT})")
            self.expect_reopened(1)
            self.finish(honest, "solver run --once  (job 5)")
            honest = self.start_solver(self.solver, "solver")  # job 1, reopened
            self.crowdtrain(
                self.submitter, "job", "download", "5", "--out", str(self.home / "model")
            )
            self.finish(rounds_cheat, f"solver run --once  (rounds cheater, {FAULT})")
            self.expect_reopened(units[0])
            for proc in round0:
                self.finish(proc, "solver run --once  (round 0)")
            self.crowdtrain(None, "rounds", "show", "1")

        with self.stage(
            "3. round 0 closes at its deadline with the two honest units; round 1 runs every slot "
            "honestly; job 1 is solved honestly"
        ):
            self.wait_round(1, 1)
            round1 = self.start_solvers(
                list(self.rounds_solvers.items()), self.protocol().rounds_market.round_jobs(1, 1)
            )
            for proc in round1:
                self.finish(proc, "solver run --once  (round 1)")
            self.wait_finished(1)
            self.finish(honest, "solver run --once  (job 1)")
            self.crowdtrain(None, "rounds", "show", "1")

        with self.stage("4. everyone is paid: submitter withdraws refunds, solver unstakes"):
            self.side_by_side(
                lambda: self.crowdtrain(self.submitter, "withdraw"),
                lambda: self.crowdtrain(self.solver, "unstake", "300"),
                lambda: self.crowdtrain(None, "job", "list"),  # every job is final by now
                self.wait_verifiers_paid,
            )

        with self.stage("5. balances and report"):
            self.wait_indexed()
            self.show_api()
            after = self.balances()
            say("  balances (CROWD; stakes included: the cheaters' locks were slashed)")
            say(f"  {'party':<22} {'before':>14} {'after':>14} {'change':>10}")
            for name in self.before:
                b, a = self.before[name] / 1e18, after[name] / 1e18
                say(f"  {name:<22} {b:>14,.2f} {a:>14,.2f} {a - b:>+10.2f}")
            self.write_report(after)

    def start_solvers(
        self, solvers: list[tuple[str, Any]], job_ids: list[int]
    ) -> list[subprocess.Popen[str]]:
        """Start one solver per open unit, all at once, and return once every unit is claimed, so
        that no solver started later can take one. Solvers started together race for the oldest
        open unit: the losers' claims revert and they take the next one (one at a time each)."""
        procs = [self.start_solver(account, name) for name, account in solvers]
        for job_id in job_ids:
            self.wait_claimed(job_id, None)
        return procs

    @property
    def round_timeout(self) -> int:
        """The least RoundsMarket accepts (a unit's solve timeout, window and reveal phase) and a
        margin: round 1's solvers start once it opens (fresh processes, on a loaded 2-core
        machine seconds each), and a unit finalized after the deadline is left out of the mean.
        Round 0 waits its whole deadline by design (the convicted slot is excluded), so every
        second here costs the demo once."""
        return SOLVE_TIMEOUT + self.challenge_window + REVEAL_PHASE + ROUND_MARGIN

    def register_verifiers(self) -> None:
        """One after the other: registrations in the same block would each be priced for a
        verifier set without the others (gas estimated on a stale state)."""
        for account in self.verifiers.values():
            self.crowdtrain(account, "verifier", "register", "--stake", "200")

    def fund_extra_accounts(self) -> None:
        """Dev accounts 10 and 11 have Anvil's ETH but no CROWD: the devnet's owner mints them the
        faucet amount, like `devnet up` does for accounts 0-9."""
        from node.chain.devnet import FAUCET_AMOUNT
        from node.chain.protocol import Protocol

        base = self.protocol()
        owner = Protocol.from_deployment(base.w3, base.deployment, dev_account(0))
        for index in (10, 11):
            owner.token.mint(dev_account(index).address, FAUCET_AMOUNT)
        say("  dev accounts 10 and 11 funded (1,000,000 CROWD each)")

    def expect_reopened(self, job_id: int) -> None:
        """The cheater's job must be open again (convicted, lock slashed): otherwise the demo
        failed to show what it is for, and says so."""
        job = self.protocol().market.get_job(job_id)
        if job.attempt < 1:
            raise SystemExit(
                f"demo failed: job {job_id} was not reopened (status {job.status.name.lower()}); "
                "the verifiers did not convict the cheater within the challenge window "
                f"({self.challenge_window} s): on a slow or busy machine, rerun with "
                "`scripts/demo.py --challenge-window 120`"
            )

    def wait_round(self, rounds_id: int, round_: int, timeout: float = 300) -> None:
        """Wait until round ``round_`` is open: the daemons close a round once its units are
        final, or at its deadline with a quorum (any daemon runs the round gates)."""
        market = self.protocol().rounds_market
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if market.get_rounds_job(rounds_id).round >= round_:
                return
            time.sleep(0.5)
        raise SystemExit(f"demo failed: round {round_} of rounds job {rounds_id} never opened")

    def wait_finished(self, rounds_id: int, timeout: float = 120) -> None:
        from node.chain.types import RoundsStatus

        market = self.protocol().rounds_market
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if market.get_rounds_job(rounds_id).status is RoundsStatus.FINISHED:
                return
            time.sleep(0.5)
        raise SystemExit(f"demo failed: rounds job {rounds_id} did not finish")

    # --- background processes ---

    def start_solver(
        self, account: Any, data_dir: str, *, fault: bool = False
    ) -> subprocess.Popen[str]:
        extra = {"CROWDTRAIN_FAULT": FAULT} if fault else {}
        shown = f"CROWDTRAIN_FAULT={FAULT} " if fault else ""
        say(f"$ {shown}crowdtrain solver run --once  (in the background: {data_dir})")
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "solver", "run", "--once", "--max-seconds", "600"],
            cwd=REPO,
            env=self.env(account, data_dir=data_dir, **extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.procs.append(proc)  # stopped with the others
        return proc

    def finish(self, proc: subprocess.Popen[str], label: str) -> None:
        out, _ = proc.communicate(timeout=600)
        say(f"$ crowdtrain {label}  (finished)\n  " + out.rstrip().replace("\n", "\n  "))
        if proc.returncode != 0:
            raise SystemExit(f"demo failed at: crowdtrain {label}")

    def start_verifiers(self) -> None:
        """Four verifier nodes, each with its own key and data folder. verifier-1 is diligent and
        replays every segment (a verifier may check more than its assignment)."""
        for name, account in self.verifiers.items():
            extra = ["--check-all"] if name == "verifier-1" else []
            log = (self.home / f"{name}.log").open("wb")
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "cli.main", "verifier", "run", *extra],
                    cwd=REPO,
                    env=self.env(
                        account,
                        data_dir=name,
                        CROWDTRAIN_POLL_INTERVAL="0.5",
                        PYTHONUNBUFFERED="1",  # its first line says it is up
                    ),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        say(f"  {len(self.verifiers)} verifier nodes running (logs in {self.home})")

    def wait_verifiers_ready(self, timeout: float = 180) -> None:
        """Wait until every verifier node is up (its first line, ``verifier 0x… on chain``, is in
        its log): a commit made while they are still starting leaves them less of the challenge
        window, and on a loaded machine none of it, so the cheater of job 1 went unchallenged."""
        logs = [self.home / f"{name}.log" for name in self.verifiers]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(" on chain " in log.read_text(errors="replace") for log in logs):
                return
            time.sleep(0.2)
        raise SystemExit(f"demo failed: the verifier nodes were not up in {timeout:.0f} s")

    def wait_verifiers_paid(self) -> None:
        """Verifier nodes withdraw their credit by themselves: wait until they have."""
        market = self.protocol().market
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all(market.credit_of(a.address) == 0 for a in self.verifiers.values()):
                return
            time.sleep(0.5)

    def start_api(self) -> None:
        """The marketplace API and dashboard, indexing the devnet while the scenario runs."""
        import requests

        port = free_port()
        self.api_url = f"http://127.0.0.1:{port}"
        self.api = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "api", "serve", "--port", str(port)],
            cwd=REPO,
            env=self.env(None, data_dir="api"),
            stdout=subprocess.DEVNULL,
            stderr=(self.home / "api.log").open("wb"),
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.api_url}/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        say(f"  dashboard: {self.api_url}/  (live while the demo runs)")

    def api_get(self, path: str) -> Any:
        import requests

        response = requests.get(f"{self.api_url}{path}", timeout=10)
        response.raise_for_status()
        return response.json()

    def wait_indexed(self, timeout: float = 30) -> None:
        """Wait until the API's indexer has read the chain's head (block time 1 s)."""
        head = int(self.protocol().w3.eth.block_number)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if int(self.api_get("/health").get("indexed_block") or 0) >= head:
                    return
            except Exception:  # the API may still be starting
                pass
            time.sleep(0.5)

    def show_api(self) -> None:
        try:
            stats = self.api_get("/stats")
        except Exception:  # the stats are a courtesy
            return
        say(f"  dashboard stats ({self.api_url}/stats): {stats}")

    def write_report(self, after: dict[str, int]) -> None:
        """``demo-report.html`` from what the API indexed and the balances read from the chain;
        the outcome is also kept as JSON next to it (``demo-outcome.json``)."""
        from marketplace_api.report import DemoOutcome, render_report

        rounds = [
            self.api_get(f"/rounds/{item['rounds_id']}")
            for item in self.api_get("/rounds?limit=200")["items"]
        ]
        disputes = self.api_get("/disputes?limit=200&order=oldest")["items"]
        addresses = {name: account.address for name, account in self.parties()}
        outcome = DemoOutcome.model_validate(
            {
                "title": "crowdtrain demo: paid jobs, cheaters caught, a verified rounds job",
                "rounds": rounds,
                "disputes": disputes,
                "balances": [
                    {
                        "party": name,
                        "address": addresses.get(name),
                        "before": str(self.before[name]),
                        "after": str(after[name]),
                    }
                    for name in self.before
                ],
                "stages": [{"name": n, "seconds": s} for n, s in self.stages],
                "parties": {address: name for name, address in addresses.items()},
            }
        )
        REPORT.write_text(render_report(outcome))
        REPORT.with_name("demo-outcome.json").write_text(outcome.model_dump_json(indent=1))
        say(f"  report: {REPORT}")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        api = getattr(self, "api", None)
        if api is not None and api.poll() is None:
            api.terminate()
            try:
                api.wait(timeout=10)
            except subprocess.TimeoutExpired:
                api.kill()
        banner("stopping the devnet")
        subprocess.run(
            [sys.executable, "-m", "cli.main", "devnet", "down"],
            cwd=REPO,
            env=self.env(None),
            check=False,
        )


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--challenge-window",
        type=int,
        default=CHALLENGE_WINDOW,
        help="seconds verifiers have to replay and challenge a commit (default %(default)s)",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("demo stopped"))  # runs the clean-up
    started = time.monotonic()
    home = Path(tempfile.mkdtemp(prefix="crowdtrain-demo-"))
    demo = Demo(home, args.challenge_window)
    try:
        demo.run()
    except BaseException:
        demo.stop()
        say(f"the nodes' logs are kept in {home}")
        raise
    demo.stop()
    shutil.rmtree(home, ignore_errors=True)
    say("\nstage times (s): " + ", ".join(f"{n} {s:.1f}" for n, s in demo.stages))
    say(
        f"demo finished in {time.monotonic() - started:.1f} s: an honest job paid, a cheater caught"
    )
    say(f"and slashed. Report: {REPORT}")


if __name__ == "__main__":
    main()
