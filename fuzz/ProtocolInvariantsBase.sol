// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProtocolHandler} from "./ProtocolHandler.sol";
import {ProtocolSystem} from "./ProtocolSystem.sol";
import {IStakeRegistry} from "../contracts/interfaces/IStakeRegistry.sol";
import {InvariantTargets, VM} from "./Vm.sol";

/// @notice The protocol's invariants over a `ProtocolHandler` campaign. The real suite
/// (ProtocolInvariants.t.sol) and each negative control (controls/) expose them as `invariant_*`.
abstract contract ProtocolInvariantsBase is InvariantTargets {
    ProtocolHandler internal handler;
    ProtocolSystem internal sys;

    function _sabotage() internal pure virtual returns (ProtocolHandler.Sabotage) {
        return ProtocolHandler.Sabotage.None;
    }

    function setUp() public {
        handler = new ProtocolHandler(_sabotage());
        sys = handler.sys();
        bytes4[] memory selectors = new bytes4[](_sabotage() == ProtocolHandler.Sabotage.None ? 35 : 32);
        selectors[0] = ProtocolHandler.postJob.selector;
        selectors[1] = ProtocolHandler.cancelJob.selector;
        selectors[2] = ProtocolHandler.claimJob.selector;
        selectors[3] = ProtocolHandler.commitTrace.selector;
        selectors[4] = ProtocolHandler.recordAttesterSeed.selector;
        selectors[5] = ProtocolHandler.commitAttestation.selector;
        selectors[6] = ProtocolHandler.revealAttestation.selector;
        selectors[7] = ProtocolHandler.commitChallenge.selector;
        selectors[8] = ProtocolHandler.revealChallenge.selector;
        selectors[9] = ProtocolHandler.openAvailabilityClaim.selector;
        selectors[10] = ProtocolHandler.openDispute.selector;
        selectors[11] = ProtocolHandler.proposeSplit.selector;
        selectors[12] = ProtocolHandler.chooseRange.selector;
        selectors[13] = ProtocolHandler.confirmStep.selector;
        selectors[14] = ProtocolHandler.disputeTimeout.selector;
        selectors[15] = ProtocolHandler.voidStale.selector;
        selectors[16] = ProtocolHandler.jurySeed.selector;
        selectors[17] = ProtocolHandler.commitVote.selector;
        selectors[18] = ProtocolHandler.revealVote.selector;
        selectors[19] = ProtocolHandler.juryResolve.selector;
        selectors[20] = ProtocolHandler.reclaimTimedOut.selector;
        selectors[21] = ProtocolHandler.finalizeJob.selector;
        selectors[22] = ProtocolHandler.withdrawCredit.selector;
        selectors[23] = ProtocolHandler.stake.selector;
        selectors[24] = ProtocolHandler.requestUnstake.selector;
        selectors[25] = ProtocolHandler.withdrawStake.selector;
        selectors[26] = ProtocolHandler.advance.selector;
        selectors[27] = ProtocolHandler.progress.selector;
        selectors[28] = ProtocolHandler.progress.selector; // a third of all calls move a job or dispute on
        selectors[29] = ProtocolHandler.progress.selector;
        selectors[30] = ProtocolHandler.advance.selector;
        if (_sabotage() == ProtocolHandler.Sabotage.None) {
            // rounds jobs in the real suite; the shallow negative controls keep their odds of reaching
            // the state each sabotage needs (a finalized job, a live dispute)
            selectors[31] = ProtocolHandler.postRoundsJob.selector;
            selectors[32] = ProtocolHandler.closeRound.selector;
            selectors[33] = ProtocolHandler.cancelRoundsJob.selector;
            selectors[34] = ProtocolHandler.cancelStaleUnits.selector;
        } else {
            selectors[31] = ProtocolHandler.sabotageStep.selector;
        }
        _target(address(handler), selectors);
    }

    /// @dev Every token minted is held by an actor, an escrow contract (in its own books, to the wei)
    /// or the burn address: nothing leaks to anyone else and no contract holds unbooked tokens.
    function _checkTokenConservation() internal view {
        uint256 held = sys.token().balanceOf(handler.BURN());
        for (uint256 k; k < handler.actorCount(); ++k) {
            held += sys.token().balanceOf(handler.actors(k));
        }
        uint256 marketBalance = sys.token().balanceOf(address(sys.market()));
        uint256 registryBalance = sys.token().balanceOf(address(sys.registry()));
        require(sys.token().totalSupply() == handler.ghostMinted(), "supply differs from what was minted");
        require(marketBalance == sys.market().totalLiabilities(), "JobMarket balance differs from its liabilities");
        require(registryBalance == sys.registry().totalStaked(), "StakeRegistry balance differs from total staked");
        require(held + marketBalance + registryBalance == handler.ghostMinted(), "tokens left the tracked holders");
        // rounds jobs: RoundsMarket holds nothing; JobMarket's reserve is exactly the unopened rounds' escrow
        require(sys.token().balanceOf(address(sys.rounds())) == 0, "RoundsMarket holds tokens");
        require(sys.market().roundsReserve() == handler.unopenedRoundsEscrow(), "rounds reserve differs from unopened rounds");
        // the burn address holds exactly the stake burned (challenge fees, slashed jurors), nothing else
        require(sys.token().balanceOf(handler.BURN()) == handler.ghostBurned(), "burned tokens differ from StakeBurned");
    }

    /// @dev No account's locked stake exceeds its stake, and the registry's total is the sum of stakes.
    function _checkLockedWithinStake() internal view {
        uint256 total;
        for (uint256 k; k < handler.actorCount(); ++k) {
            IStakeRegistry.StakeInfo memory info = sys.registry().stakeOf(handler.actors(k));
            require(info.locked <= info.staked, "locked stake exceeds stake");
            total += uint256(info.staked) + info.unbonding;
        }
        require(total == sys.registry().totalStaked(), "total staked differs from the sum of stakes");
    }

    /// @dev Every credit is backed once: credits == escrow that left live jobs + stake slashed to the
    /// market, each account withdrew exactly what it was credited minus what it still holds, every
    /// dispute is settled once and a jackpot is split in equal shares (the handler's log check).
    function _checkNobodyPaidTwice() internal view {
        uint256 backed = handler.ghostEscrowPosted() - handler.liveEscrow() + handler.ghostSlashedToMarket();
        require(handler.ghostCredited() == backed, "credits differ from the escrow and slashes behind them");
        for (uint256 k; k < handler.actorCount(); ++k) {
            address actor = handler.actors(k);
            require(
                handler.ghostWithdrawnBy(actor) + sys.market().creditOf(actor) == handler.ghostCreditedTo(actor),
                "an account holds or withdrew more than it was credited"
            );
        }
        for (uint256 j = 1; j <= sys.market().jobCount(); ++j) {
            require(handler.ghostFinalizations(j) <= 1, "a job was finalized twice");
        }
        require(handler.ghostBadPayouts() == 0, handler.ghostFirstBadPayout());
    }

    /// @dev Jobs move only along the state machine's edges (checked after every action).
    function _checkJobStateMachine() internal view {
        require(handler.ghostBadTransitions() == 0, handler.ghostFirstBadTransition());
    }

    /// @dev From this state, timeouts alone end every job and empty both escrow contracts.
    function _checkTimeoutsReleaseAllEscrow() internal {
        uint256 snapshot = VM.snapshotState();
        string memory stuck = handler.drainAll();
        VM.revertToState(snapshot);
        require(bytes(stuck).length == 0, stuck);
    }
}
