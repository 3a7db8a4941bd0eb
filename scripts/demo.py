"""`make demo`: one paid training job on a local Anvil devnet, from submission to withdrawal.

Every step is the real `crowdtrain` CLI in its own process, exactly as a user would type it; the
script only sequences them, prints the balance changes, and stops every process it started.
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

CHALLENGE_WINDOW = 10  # seconds: a short window so the demo ends quickly (the default is 120)
SPEC = REPO / "examples" / "specs" / "mlp_digits.json"


def banner(text: str) -> None:
    print(f"\n=== {text} ===", flush=True)


class Demo:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.submitter = dev_account(1)
        self.solver = dev_account(2)
        self.base_env = {k: v for k, v in os.environ.items() if not k.startswith("CROWDTRAIN_")}
        self.base_env.update(
            CROWDTRAIN_RPC_URL=f"http://127.0.0.1:{self.port}",
            CROWDTRAIN_DEVNET_DIR=str(home / "devnet"),
            CROWDTRAIN_DEPLOYMENTS_DIR=str(home / "deployments"),
            CROWDTRAIN_BLOB_DIR=str(home / "blobs"),
            CROWDTRAIN_THREADS="1",
        )

    def env(self, account: object | None, data_dir: str | None = None) -> dict[str, str]:
        env = dict(self.base_env)
        if account is not None:
            env["CROWDTRAIN_PRIVATE_KEY"] = account.key.hex()  # type: ignore[attr-defined]
        if data_dir:
            env["CROWDTRAIN_DATA_DIR"] = str(self.home / data_dir)
        return env

    def crowdtrain(self, account: object | None, *args: str, data_dir: str | None = None) -> str:
        print(f"$ crowdtrain {' '.join(args)}", flush=True)
        done = subprocess.run(
            [sys.executable, "-m", "node.cli.main", *args],
            cwd=REPO,
            env=self.env(account, data_dir),
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
        for name, account in (("submitter", self.submitter), ("solver", self.solver)):
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

        banner("2. submitter prepares the digits dataset and posts an MLP training job")
        self.crowdtrain(self.submitter, "data", "prepare", "digits")
        self.crowdtrain(
            self.submitter, "job", "submit", str(SPEC), "--reward", "100", "--verifier-fee", "10"
        )
        self.crowdtrain(None, "job", "list")

        banner(
            "3. solver stakes, claims, trains, commits, waits out the challenge window, "
            "finalizes and withdraws"
        )
        self.crowdtrain(self.solver, "stake", "300")
        started = time.monotonic()
        self.crowdtrain(self.solver, "solver", "run", "--once", data_dir="solver")
        print(f"  (solver finished in {time.monotonic() - started:.1f} s)")
        self.crowdtrain(None, "job", "status", "1")

        banner("4. submitter withdraws the unpaid verifier fee and downloads the verified model")
        self.crowdtrain(self.submitter, "withdraw")
        self.crowdtrain(self.submitter, "job", "download", "1", "--out", str(self.home / "model"))
        self.crowdtrain(self.solver, "unstake", "300")

        time.sleep(2)  # let the indexer see the last blocks (block time 1 s)
        self.show_api()
        after = self.balances()
        banner("5. balances (CROWD; solver's includes its stake)")
        print(f"  {'party':<20} {'before':>14} {'after':>14} {'change':>10}")
        for name in before:
            b, a = before[name] / 1e18, after[name] / 1e18
            print(f"  {name:<20} {b:>14,.2f} {a:>14,.2f} {a - b:>+10.2f}")

    def start_api(self) -> None:
        """The marketplace API and dashboard, indexing the devnet while the scenario runs."""
        import requests

        port = free_port()
        self.api_url = f"http://127.0.0.1:{port}"
        self.api = subprocess.Popen(
            [sys.executable, "-m", "node.cli.main", "api", "serve", "--port", str(port)],
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
        api = getattr(self, "api", None)
        if api is not None and api.poll() is None:
            api.terminate()
            try:
                api.wait(timeout=10)
            except subprocess.TimeoutExpired:
                api.kill()
        banner("stopping the devnet")
        subprocess.run(
            [sys.executable, "-m", "node.cli.main", "devnet", "down"],
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
    print("\ndemo finished: one job paid end to end", flush=True)


if __name__ == "__main__":
    main()
