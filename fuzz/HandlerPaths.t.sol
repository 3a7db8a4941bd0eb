// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IDisputeGame} from "../contracts/interfaces/IDisputeGame.sol";
import {IJobMarket} from "../contracts/interfaces/IJobMarket.sol";
import {ProtocolHandler} from "./ProtocolHandler.sol";
import {ProtocolSystem} from "./ProtocolSystem.sol";

/// @notice The handler's actions reach the protocol's deep states (a guard against a fuzz campaign
/// that only ever reverts): an honest job is finalized, a lying one is caught by bisection and jury.
contract HandlerPathsTest {
    ProtocolHandler internal h;
    ProtocolSystem internal sys;

    function setUp() public {
        h = new ProtocolHandler(ProtocolHandler.Sabotage.None);
        sys = h.sys();
    }

    function test_honestJobIsFinalizedAndPaid() public {
        h.postJob(0, 50e18, 3e18, 6, 100); // K = 2, N = 4
        h.claimJob(1, 0);
        h.commitTrace(0, 0); // honest
        h.advance(1, 3);
        h.recordAttesterSeed(0);
        h.commitAttestation(0, 0, 1);
        h.advance(121, 1);
        h.revealAttestation(0, 0);
        h.advance(61, 1);
        h.finalizeJob(0);
        require(sys.market().getJob(1).status == IJobMarket.JobStatus.Finalized, "not finalized");
        h.withdrawCredit(1);
        require(bytes(h.drainAll()).length == 0, "drain");
    }

    function test_lyingSolverLosesTheBisection() public {
        h.postJob(0, 50e18, 3e18, 1, 100); // K = 4, N = 1
        h.claimJob(1, 0);
        h.commitTrace(0, 1 << 2 | 1); // lies from step 1
        h.commitChallenge(2, 0, 1);
        h.advance(1, 1);
        h.revealChallenge(0);
        h.openDispute(0);
        h.proposeSplit(0);
        h.chooseRange(0, 1); // honest choice
        IDisputeGame.Dispute memory d = sys.game().getDispute(1);
        require(d.phase == IDisputeGame.Phase.Confirm, "not at one step");
        h.confirmStep(0);
        h.advance(1, 3);
        h.jurySeed(0);
        h.advance(1, 3);
        h.jurySeed(0);
        // everyone votes the truth; only the solver lies
        for (uint256 v; v < 5; ++v) h.commitVote(0, v | 1 << 8);
        h.advance(61, 1);
        for (uint256 v; v < 5; ++v) h.revealVote(0, v);
        h.advance(61, 1);
        h.juryResolve(0);
        d = sys.game().getDispute(1);
        require(d.outcome == IDisputeGame.Outcome.SolverWrong, "solver not found wrong");
        require(sys.market().getJob(1).status == IJobMarket.JobStatus.Open, "job not reopened");
        require(bytes(h.drainAll()).length == 0, "drain");
    }

    /// @dev `progress` alone, from pseudo-random seeds, reaches every deep action within 400 steps.
    function test_progressReachesEveryPhase() public {
        for (uint256 t; t < 400; ++t) {
            uint256 seed = uint256(keccak256(abi.encode("progress", t)));
            if (t % 7 == 0) h.advance(seed >> 128, seed >> 200);
            else h.progress(seed);
        }
        bytes4[12] memory deep = [
            ProtocolHandler.claimJob.selector,
            ProtocolHandler.commitTrace.selector,
            ProtocolHandler.revealAttestation.selector,
            ProtocolHandler.revealChallenge.selector,
            ProtocolHandler.openDispute.selector,
            ProtocolHandler.chooseRange.selector,
            ProtocolHandler.confirmStep.selector,
            ProtocolHandler.revealVote.selector,
            ProtocolHandler.juryResolve.selector,
            ProtocolHandler.finalizeJob.selector,
            ProtocolHandler.openAvailabilityClaim.selector,
            ProtocolHandler.jurySeed.selector
        ];
        for (uint256 k; k < deep.length; ++k) {
            require(h.calls(deep[k]) != 0, string.concat("never reached action #", vm_str(k)));
        }
        require(bytes(h.drainAll()).length == 0, "drain");
    }

    function vm_str(uint256 k) internal pure returns (string memory) {
        return string(abi.encodePacked(bytes1(uint8(48 + k / 10)), bytes1(uint8(48 + k % 10))));
    }
}
