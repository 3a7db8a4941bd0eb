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

    /// @dev An auction (docs/MARKET.md): cap 50 CROWD + 1 wei, floor 20 CROWD + 1 wei, ramp 600 s. The
    /// first claim at +100 s fixes 25 CROWD + 1 wei and refunds 25 CROWD; it times out, the ramp
    /// restarts from the floor to that price, the second claim at +20 s pays 20 CROWD + 1 wei + 5 CROWD
    /// x 20 / 600 (rounded down); the records count the timeout, the finalized job and its value.
    function test_auctionJobIsPricedAtTheClaimAndAgainAfterATimeout() public {
        uint256 seed = (1 << 8) | (20e18 << 10) | (uint256(599) << 120); // ramped, no record needed
        h.postJob(0, 50e18, seed << 64, 6, 100); // K = 2, N = 4, solve timeout 160 s
        IJobMarket market = sys.market();
        address submitter = h.actors(0);
        (address first, address second) = (h.actors(1), h.actors(2));
        IJobMarket.JobTerms memory terms = market.termsOf(1);
        require(terms.floor == 20e18 + 1 && terms.cap == 50e18 + 1 && terms.ramp == 600, "terms");
        h.advance(99, 1); // +100 s
        h.claimJob(1, 0);
        uint256 price = 25e18 + 1;
        require(market.getJob(1).reward == price && market.creditOf(submitter) == 25e18, "first claim");
        require(market.solverLockOf(1) == 100e18, "lock: the minimum stake");
        h.advance(8, 1); // +1,008 s: past the solve deadline
        h.reclaimTimedOut(0);
        terms = market.termsOf(1);
        require(terms.cap == price && terms.rampStart == h.now_(), "the ramp restarts to the price");
        h.advance(149, 1); // +20 s
        h.claimJob(2, 0);
        uint256 secondPrice = 20e18 + 1 + uint256(5e18) * 20 / 600;
        require(market.getJob(1).reward == secondPrice, "second claim");
        require(market.creditOf(submitter) == 50e18 + 1 - secondPrice, "both refunds");
        h.commitTrace(0, 0); // honest
        h.advance(121, 1);
        h.advance(61, 1);
        h.finalizeJob(0);
        IJobMarket.SolverRecord memory record = market.recordOf(second);
        require(record.finalized == 1 && record.value == secondPrice && record.timeouts == 0, "winner");
        record = market.recordOf(first);
        require(record.finalized == 0 && record.timeouts == 1, "the abandoner");
        require(bytes(h.drainAll()).length == 0, "drain");
    }

    /// @dev A rounds job of W = 2, R = 2, q = 2: round 0's units (jobs 1, 2) are solved and finalized like
    /// any job, the close includes both and opens round 1 (jobs 3, 4); the drain cancels it, nothing stuck.
    function test_roundsJobClosesARoundAndDrains() public {
        h.postRoundsJob(0, 1_045, 50e18); // W = 2, R = 2, q = 2, K = 2, N = 1, solve timeout 62 s
        require(sys.market().isUnit(1) && sys.market().isUnit(2), "units");
        h.claimJob(1, 0);
        h.claimJob(2, 1);
        h.commitTrace(0, 0);
        h.commitTrace(1, 0);
        h.advance(121, 1);
        h.advance(61, 1);
        h.finalizeJob(0);
        h.finalizeJob(1);
        h.closeRound(0);
        require(sys.rounds().includedMask(1, 0) == 3, "round 0 includes both slots");
        require(sys.rounds().unitJob(1, 1, 1) == 4, "round 1 is jobs 3 and 4");
        require(sys.market().roundsReserve() == 0, "every round's escrow is posted");
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

    /// @dev Two challenges of the lying segment, a silent solver: the first times out the solver and
    /// shares its jackpot with the second (JackpotShared), and both challenge fees are burned.
    function test_openChallengersShareTheJackpot() public {
        h.postJob(0, 50e18, 3e18, 1, 100); // reward 50 CROWD + 1 wei, K = 4, N = 1: lock 100 CROWD + 2 wei
        h.claimJob(1, 0);
        h.commitTrace(0, 1 << 2 | 1); // lies from step 1
        h.commitChallenge(2, 0, 1); // bond 10 CROWD, fee 5 CROWD each
        h.commitChallenge(3, 0, 1);
        h.advance(1, 1);
        h.revealChallenge(0);
        h.revealChallenge(1);
        h.advance(129, 1); // 130 s: past the solver's 120 s move clock
        h.disputeTimeout(0);
        require(sys.game().getDispute(1).outcome == IDisputeGame.Outcome.SolverWrong, "not convicted");
        require(sys.game().getDispute(2).outcome == IDisputeGame.Outcome.Void, "not shared");
        require(h.ghostJackpotShares() == 1 && h.ghostBadPayouts() == 0, h.ghostFirstBadPayout());
        // burned: both fees (10) and the lock's rest after the jackpot (50 + 1 wei) and the submitter's
        // 25: 25 + 1 wei. The jackpot splits in two shares of 25; the convicting one gets the dust.
        require(h.ghostBurned() == 35e18 + 1, string.concat("burned ", _dec(h.ghostBurned())));
        require(sys.token().balanceOf(h.BURN()) == 35e18 + 1, "burn address");
        require(sys.market().creditOf(h.actors(2)) == 25e18 + 1, string.concat("convicting ", _dec(sys.market().creditOf(h.actors(2)))));
        require(sys.market().creditOf(h.actors(3)) == 25e18, string.concat("sharing ", _dec(sys.market().creditOf(h.actors(3)))));
        require(bytes(h.drainAll()).length == 0, "drain");
    }

    /// @dev The fuzzer's counterexample (shrunk) to timeoutsReleaseAllEscrow before the drain learned
    /// to wait: an actor's unstake leaves fewer than minJurors = 3 seatable for an availability claim,
    /// the panel waits (JuryWaiting), and only past its draw deadline does the claim end Void and
    /// unfreeze the job. Timeouts alone must still end it.
    function test_aPanelThatCannotSitIsVoidedByItsDrawDeadline() public {
        h.progress(332652278580823561302742483236131140930629684700877594418251331863963696);
        h.claimJob(767106684124, 2559568436429441263602508526545010328885418203684751225225736677568862973336);
        h.requestUnstake(
            438743213137426836701127822745267031998268441885574795963215285729102568949,
            71719717385885144664170660849353086612739522960367501545222097253
        );
        h.progress(5134456878742011305192537415915597094459669657934918264814554068795253);
        h.openAvailabilityClaim(
            19636961198416535943184082486150112,
            11058181692490639555162369030113063348985929507936,
            708261609127883458548357692997652342697497933777,
            20128425475026261444151148117818487778536
        );
        string memory stuck = h.drainAll();
        require(bytes(stuck).length == 0, stuck);
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

    function _dec(uint256 v) internal pure returns (string memory) {
        if (v == 0) return "0";
        bytes memory b;
        for (; v != 0; v /= 10) b = bytes.concat(bytes1(uint8(48 + v % 10)), b);
        return string(b);
    }

    function vm_str(uint256 k) internal pure returns (string memory) {
        return string(abi.encodePacked(bytes1(uint8(48 + k / 10)), bytes1(uint8(48 + k % 10))));
    }
}
