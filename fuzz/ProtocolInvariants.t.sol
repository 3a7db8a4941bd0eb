// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProtocolInvariantsBase} from "./ProtocolInvariantsBase.sol";

/// @notice The invariant suite over the whole deployed protocol (issue #11 §2). `make test` runs it
/// through tests/contracts/test_forge_invariants.py (profile `ci`), `make fuzz` deeper (profile `deep`).
contract ProtocolInvariantsTest is ProtocolInvariantsBase {
    function invariant_tokenConservation() public view {
        _checkTokenConservation();
    }

    function invariant_lockedWithinStake() public view {
        _checkLockedWithinStake();
    }

    function invariant_nobodyPaidTwice() public view {
        _checkNobodyPaidTwice();
    }

    function invariant_jobStateMachine() public view {
        _checkJobStateMachine();
    }

    /// forge-config: default.invariant.check_interval = 10
    /// forge-config: ci.invariant.check_interval = 10
    /// forge-config: controls.invariant.check_interval = 10
    /// forge-config: deep.invariant.check_interval = 5
    function invariant_timeoutsReleaseAllEscrow() public {
        _checkTimeoutsReleaseAllEscrow();
    }
}
