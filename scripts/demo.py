"""`make demo`: paid training jobs on a local Anvil devnet, verified by four verifier nodes.

Job 1 is solved honestly: the drawn attesters replay their segments, attest and are paid per
segment. Job 2 is claimed by a cheating solver (``CROWDTRAIN_FAULT=alter_step:3``, the test-only
fault hook): a verifier replays segment 3, challenges, wins the bisection and the jury, the
cheater's lock is slashed, and the reopened job is then solved honestly. Every step is the real
`crowdtrain` CLI in its own process, exactly as a user would type it; the script only sequences
them, prints every party's balance change, and stops every process it started.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from node.chain.anvil import free_port  # noqa: E402
from node.chain.devnet import dev_account  # noqa: E402

CHALLENGE_WINDOW = 30  # seconds: short, but long enough for verifiers to replay and attest
VERIFIERS = {f"verifier-{k}": 3 + k for k in range(1, 5)}  # dev accounts 4..7
CHEATER = 8
FAULT = "alter_step:3"
SPEC = REPO / "examples" / "specs" / "mlp_digits.json"


def banner(text: str) -> None:
    print(f"\n=== {text} ===", flush=True)


class Demo:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.submitter = dev_account(1)
        self.solver = dev_account(2)
        self.cheater = dev_account(CHEATER)
        self.verifiers = {name: dev_account(i) for name, i in VERIFIERS.items()}
        self.procs: list[subprocess.Popen[bytes]] = []
        self.base_env = {k: v for k, v in os.environ.items() if not k.startswith("CROWDTRAIN_")}
        self.base_env.update(
            CROWDTRAIN_RPC_URL=f"http://127.0.0.1:{self.port}",
            CROWDTRAIN_DEVNET_DIR=str(home / "devnet"),
            CROWDTRAIN_DEPLOYMENTS_DIR=str(home / "deployments"),
            CROWDTRAIN_BLOB_DIR=str(home / "blobs"),
            CROWDTRAIN_THREADS="1",
        )

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
        shown = " ".join(f"{k}={v}" for k, v in extra.items())
        print(f"$ {shown + ' ' if shown else ''}crowdtrain {' '.join(args)}", flush=True)
        done = subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            cwd=REPO,
            env=self.env(account, data_dir, **extra),
            capture_output=True,
            text=True,
        )
        out = (done.stdout + done.stderr).rstrip()
        if out:
            print("  " + out.replace("\n", "\n  "), flush=True)
        if done.returncode != 0:
            raise SystemExit(f"demo failed at: crowdtrain {' '.join(args)}")
        return done.stdout

    def balances(self) -> dict[str, int]:
        from node.chain.protocol import Protocol
        from node.config import Settings

        settings = Settings(
            rpc_url=self.base_env["CROWDTRAIN_RPC_URL"],
            deployments_dir=Path(self.base_env["CROWDTRAIN_DEPLOYMENTS_DIR"]),
        )
        protocol = Protocol.connect(settings, signer=False)
        out = {}
        parties = [("submitter", self.submitter), ("solver", self.solver)]
        parties += [("cheating solver", self.cheater), *self.verifiers.items()]
        for name, account in parties:
            stake = protocol.registry.stake_of(account.address)
            out[name] = protocol.token.balance_of(account.address) + stake.staked + stake.unbonding
        out["escrow (JobMarket)"] = protocol.token.balance_of(protocol.market.address)
        out["burned (0xdead)"] = protocol.token.balance_of(
            "0x000000000000000000000000000000000000dEaD"
        )
        return out

    def run(self) -> None:
        banner("1. devnet: Anvil (block time 1 s), contracts deployed, dev accounts funded")
        self.crowdtrain(
            None,
            "devnet",
            "up",
            "--port",
            str(self.port),
            "--challenge-window",
            str(CHALLENGE_WINDOW),
        )
        self.start_api()
        before = self.balances()
        self.start_verifiers()

        banner("2. submitter prepares the digits dataset and posts an MLP training job")
        self.crowdtrain(self.submitter, "data", "prepare", "digits")
        self.crowdtrain(
            self.submitter, "job", "submit", str(SPEC), "--reward", "100", "--verifier-fee", "10"
        )
        self.crowdtrain(None, "job", "list")

        banner(
            "3. solver stakes, claims, trains, commits; verifiers attest; the solver waits out "
            "the window and reveal phase, finalizes and withdraws"
        )
        self.crowdtrain(self.solver, "stake", "300")
        started = time.monotonic()
        self.crowdtrain(self.solver, "solver", "run", "--once", data_dir="solver")
        print(f"  (solver finished in {time.monotonic() - started:.1f} s)")
        self.crowdtrain(None, "job", "status", "1")

        banner("4. submitter withdraws the unpaid verifier fee and downloads the verified model")
        self.crowdtrain(self.submitter, "withdraw")
        self.crowdtrain(self.submitter, "job", "download", "1", "--out", str(self.home / "model"))

        banner(f"5. a cheating solver claims job 2 ({FAULT}): caught, slashed, job reopened")
        self.crowdtrain(
            self.submitter, "job", "submit", str(SPEC), "--reward", "100", "--verifier-fee", "10"
        )
        self.crowdtrain(self.cheater, "stake", "200")
        self.crowdtrain(
            self.cheater,
            "solver", "run", "--once", "--max-seconds", "900",
            data_dir="cheater", CROWDTRAIN_FAULT=FAULT,
        )  # fmt: skip
        self.crowdtrain(None, "job", "status", "2")

        banner("6. the honest solver solves the reopened job 2 to the end")
        self.crowdtrain(self.solver, "solver", "run", "--once", data_dir="solver")
        self.crowdtrain(self.submitter, "withdraw")
        self.crowdtrain(self.solver, "unstake", "300")
        self.wait_verifiers_paid()

        time.sleep(2)  # let the indexer see the last blocks (block time 1 s)
        self.show_api()
        after = self.balances()
        banner("7. balances (CROWD; stakes included: the cheater's lock was slashed)")
        print(f"  {'party':<20} {'before':>14} {'after':>14} {'change':>10}")
        for name in before:
            b, a = before[name] / 1e18, after[name] / 1e18
            print(f"  {name:<20} {b:>14,.2f} {a:>14,.2f} {a - b:>+10.2f}")

    def start_verifiers(self) -> None:
        """Four verifier nodes, each with its own key and data folder. verifier-1 is diligent and
        replays every segment (a verifier may check more than its assignment)."""
        for name, account in self.verifiers.items():
            extra = ["--check-all"] if name == "verifier-1" else []
            self.crowdtrain(account, "verifier", "register", "--stake", "200")
            log = (self.home / f"{name}.log").open("wb")
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "cli.main", "verifier", "run", *extra],
                    cwd=REPO,
                    env=self.env(account, data_dir=name, CROWDTRAIN_POLL_INTERVAL="0.5"),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        print(f"  {len(self.verifiers)} verifier nodes running (logs in {self.home})", flush=True)

    def wait_verifiers_paid(self) -> None:
        """Verifier nodes withdraw their credit by themselves: wait until they have."""
        from node.chain.protocol import Protocol
        from node.config import Settings

        settings = Settings(
            rpc_url=self.base_env["CROWDTRAIN_RPC_URL"],
            deployments_dir=Path(self.base_env["CROWDTRAIN_DEPLOYMENTS_DIR"]),
        )
        market = Protocol.connect(settings, signer=False).market
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
        print(f"  dashboard: {self.api_url}/  (live while the demo runs)", flush=True)

    def show_api(self) -> None:
        import requests

        try:
            stats = requests.get(f"{self.api_url}/stats", timeout=5).json()
        except (requests.RequestException, ValueError):
            return
        print(f"  dashboard stats ({self.api_url}/stats): {stats}", flush=True)

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
    home = Path(tempfile.mkdtemp(prefix="crowdtrain-demo-"))
    demo = Demo(home)
    try:
        demo.run()
    finally:
        demo.stop()
        shutil.rmtree(home, ignore_errors=True)
    print("\ndemo finished: an honest job paid, a cheater caught and slashed", flush=True)


if __name__ == "__main__":
    main()
