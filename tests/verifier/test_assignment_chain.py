"""The Python mirror of the attester segment assignment agrees with ``Attestations`` on Anvil."""

from __future__ import annotations

import random

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from node.chain.attestations import AttestationsAdapter
from node.chain.deploy import DeploymentParams, deploy_protocol
from node.chain.reverts import project_decoder
from node.chain.tx import TxSender
from verifier.assignment import assigned_segments, sampled_segments, share

pytestmark = [pytest.mark.chain]


def test_feistel_assignment_matches_contract(chain: Web3, dev_accounts: list[LocalAccount]) -> None:
    deployment = deploy_protocol(
        TxSender(chain, dev_accounts[0], project_decoder()), DeploymentParams()
    )
    att = AttestationsAdapter(chain, deployment.address("Attestations"))
    rng = random.Random(4)
    sizes = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 64, 65, 100, 257, 500]
    for n in sizes:
        for _ in range(4):
            seed = rng.randbytes(32)
            rate, v = rng.choice([500, 1000, 2500, 10_000]), rng.choice([1, 3, 5])
            mirror = assigned_segments(seed, n, rate, v)
            sampled = sampled_segments(n, rate, v)
            for k in range(v):
                first, count = share(sampled, v, k)
                assert att.segments_at(seed, n, first, count) == mirror[k], (n, rate, v, k)
