// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProtocolHandler} from "../ProtocolHandler.sol";
import {ProtocolInvariantsBase} from "../ProtocolInvariantsBase.sol";

// Negative controls: each breaks the system in one way the matching invariant must catch. These
// tests are EXPECTED TO FAIL; tests/contracts/test_forge_invariants.py checks that each one does.

/// @notice A protocol contract slashes an actor's stake to itself and books no credit for it.
contract ControlConservation is ProtocolInvariantsBase {
    function _sabotage() internal pure override returns (ProtocolHandler.Sabotage) {
        return ProtocolHandler.Sabotage.LeakSlash;
    }

    function invariant_tokenConservation() public view {
        _checkTokenConservation();
    }
}

/// @notice The registry records more locked stake than stake (a slash that forgets `locked`).
contract ControlLockedWithinStake is ProtocolInvariantsBase {
    function _sabotage() internal pure override returns (ProtocolHandler.Sabotage) {
        return ProtocolHandler.Sabotage.CorruptLock;
    }

    function invariant_lockedWithinStake() public view {
        _checkLockedWithinStake();
    }
}

/// @notice The dispute game freezes a live job and never unfreezes it.
contract ControlTimeoutsReleaseAllEscrow is ProtocolInvariantsBase {
    function _sabotage() internal pure override returns (ProtocolHandler.Sabotage) {
        return ProtocolHandler.Sabotage.LeakFreeze;
    }

    function invariant_timeoutsReleaseAllEscrow() public {
        _checkTimeoutsReleaseAllEscrow();
    }
}

/// @notice A finalized job's reward is credited to its solver a second time.
contract ControlNobodyPaidTwice is ProtocolInvariantsBase {
    function _sabotage() internal pure override returns (ProtocolHandler.Sabotage) {
        return ProtocolHandler.Sabotage.CreditTwice;
    }

    function invariant_nobodyPaidTwice() public view {
        _checkNobodyPaidTwice();
    }
}

/// @notice A finalized or cancelled job becomes Open again.
contract ControlJobStateMachine is ProtocolInvariantsBase {
    function _sabotage() internal pure override returns (ProtocolHandler.Sabotage) {
        return ProtocolHandler.Sabotage.ReviveJob;
    }

    function invariant_jobStateMachine() public view {
        _checkJobStateMachine();
    }
}
