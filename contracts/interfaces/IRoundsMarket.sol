// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IJobMarket} from "./IJobMarket.sol";

/// @title IRoundsMarket
/// @notice Rounds jobs (docs/ROUNDS.md): W slots × R rounds of DiLoCo training whose every unit
/// (round r, slot w) is an ordinary JobMarket job. The rounds market escrows the whole job, posts a
/// round's W units (consecutive job ids) when the previous round closes, and records which units of
/// each round were final at its close (the included mask the outer step averages over).
/// It holds no tokens: the escrow goes straight to JobMarket at posting (its rounds reserve), and every
/// payout and refund, including the escrow of rounds never opened, is a JobMarket credit.
interface IRoundsMarket {
    enum RoundsStatus {
        None,
        Running,
        Finished,
        Cancelled
    }

    /// @notice One rounds job as `getRoundsJob` returns it. `round` is the current (open) round;
    /// `roundDeadline` its deadline, after which the round closes with a quorum or is reopened.
    struct RoundsJob {
        address submitter;
        bytes32 specHash;
        uint32 workers; // W, slots per round (1..64)
        uint32 rounds; // R
        uint32 quorum; // q, final units a round needs (1..W)
        uint32 innerSteps; // H, the steps of each unit
        uint32 checkpointEvery;
        uint96 unitReward;
        uint96 unitVerifierFee;
        uint32 solveTimeout;
        uint32 roundTimeout; // seconds a round has from opening (or reopening) to its deadline
        uint16 sampleRateBps;
        uint32 round;
        uint64 roundDeadline;
        RoundsStatus status;
    }

    /// @notice `workers` is 0 or above 64 (a round's included set is a 64-bit mask).
    error RoundsMarketInvalidWorkers(uint256 workers);
    /// @notice `rounds` is 0.
    error RoundsMarketInvalidRounds(uint256 rounds);
    /// @notice `quorum` is 0 or above `workers`.
    error RoundsMarketInvalidQuorum(uint256 quorum, uint256 workers);
    /// @notice `roundTimeout` is shorter than `minimum` = solveTimeout + challenge window + reveal
    /// phase: no unit could be final by the deadline, so every round would reopen.
    error RoundsMarketRoundTimeoutTooShort(uint256 roundTimeout, uint256 minimum);
    /// @notice The submitter approved only `allowance` tokens, `required` (W·R·(reward + fee)) are needed.
    error RoundsMarketInsufficientAllowance(uint256 allowance, uint256 required);
    /// @notice No rounds job has id `roundsId`.
    error RoundsMarketUnknownRoundsJob(uint256 roundsId);
    /// @notice Rounds job `roundsId` is `status`, not Running.
    error RoundsMarketNotRunning(uint256 roundsId, RoundsStatus status);
    /// @notice `caller` is not the rounds job's submitter.
    error RoundsMarketNotSubmitter(uint256 roundsId, address caller);
    /// @notice Round `round` has units not final and its deadline `deadline` has not passed.
    error RoundsMarketRoundNotDue(uint256 roundsId, uint256 round, uint256 deadline);
    /// @notice Round `round` still gates its rounds job (it is the current round of a running job) or
    /// was never opened: its units are not stale.
    error RoundsMarketRoundNotStale(uint256 roundsId, uint256 round);
    /// @notice The JobMarket address is zero.
    error RoundsMarketInvalidConfiguration();

    /// @notice `submitter` posted rounds job `roundsId` and escrowed W·R·(unitReward + unitVerifierFee).
    event RoundsJobPosted(
        uint256 indexed roundsId,
        address indexed submitter,
        bytes32 specHash,
        uint32 workers,
        uint32 rounds,
        uint32 quorum,
        uint96 unitReward,
        uint96 unitVerifierFee
    );
    /// @notice Round `round` was opened: unit (round, w) is job `firstJobId + w`; it closes at `deadline`.
    event RoundOpened(uint256 indexed roundsId, uint32 round, uint256 firstJobId, uint64 deadline);
    /// @notice Round `round` closed; bit w of `includedMask` is set when unit (round, w) was Finalized.
    event RoundClosed(uint256 indexed roundsId, uint32 round, uint256 includedMask);
    /// @notice Round `round` passed its deadline without a quorum of final units: it runs on until `deadline`.
    event RoundReopened(uint256 indexed roundsId, uint32 round, uint64 deadline);
    /// @notice The last round closed: the rounds job is done.
    event RoundsJobFinished(uint256 indexed roundsId);
    /// @notice The submitter cancelled the rounds job; `refund` (the escrow of rounds never opened
    /// and of the current round's open units) was credited to it in JobMarket.
    event RoundsJobCancelled(uint256 indexed roundsId, uint256 refund);

    /// @notice Post a rounds job: escrow W·R·(unitReward + unitVerifierFee) (moved with transferFrom
    /// from the caller, which approves this contract, straight to JobMarket) and open round 0 (its W
    /// units are posted to JobMarket at once). Ids start at 1.
    /// @param innerSteps H, each unit's steps, a positive multiple of `checkpointEvery`.
    /// @param roundTimeout seconds each round has before it may close with a quorum (or reopen).
    /// @param unitTerms how each unit is priced from its posting (IJobMarket.PriceTerms; `unitReward`
    /// is the cap): floor == unitReward, ramp 0, minFinalized 0 is a fixed price.
    function postRoundsJob(
        bytes32 specHash,
        uint32 workers,
        uint32 rounds,
        uint32 quorum,
        uint32 innerSteps,
        uint32 checkpointEvery,
        uint96 unitReward,
        uint96 unitVerifierFee,
        uint32 solveTimeout,
        uint32 roundTimeout,
        uint16 sampleRateBps,
        IJobMarket.PriceTerms calldata unitTerms
    ) external returns (uint256 roundsId);

    /// @notice Anyone: close the current round when all W units are Finalized, or after its deadline
    /// with at least `quorum` Finalized (units still Open are cancelled, their escrow credited to the
    /// submitter; Claimed and Committed ones run on, paid by JobMarket, but are not included). Then
    /// open the next round or, after the last, finish. Past the deadline with fewer than `quorum`
    /// final units, reopen the round instead: its deadline becomes now + roundTimeout.
    function closeRound(uint256 roundsId) external;

    /// @notice Submitter: stop the rounds job. Open units of the current round are cancelled and the
    /// escrow of rounds never opened refunded, both as the submitter's JobMarket credit.
    function cancelRoundsJob(uint256 roundsId) external;

    /// @notice Anyone: cancel the Open units of a round that no longer gates anything (closed, or of a
    /// finished or cancelled rounds job). A unit still claimed or committed when its round closed runs
    /// on; if it then times out or is convicted it is Open again, and without this nobody could cancel
    /// it (`cancelJob` refuses units): its escrow would wait for a solver whose work no round uses.
    /// Their escrow is credited to the submitter in JobMarket; returns it.
    function cancelStaleUnits(uint256 roundsId, uint32 round) external returns (uint256 refund);

    // --- views ---

    /// @notice The rounds job (status None for an unknown id).
    function getRoundsJob(uint256 roundsId) external view returns (RoundsJob memory);
    /// @notice Job id of unit (round, slot); 0 when not posted.
    function unitJob(uint256 roundsId, uint32 round, uint32 slot) external view returns (uint256 jobId);
    /// @notice The unit a job is; roundsId 0 when the job is not a unit.
    function unitOf(uint256 jobId) external view returns (uint256 roundsId, uint32 round, uint32 slot);
    /// @notice Bit w set when unit (round, w) was Finalized at the round's close; 0 until closed.
    function includedMask(uint256 roundsId, uint32 round) external view returns (uint256);
    function roundsJobCount() external view returns (uint256);
    function jobMarket() external view returns (address);
    function token() external view returns (address);
}
