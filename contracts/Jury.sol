// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IDisputeGame} from "./interfaces/IDisputeGame.sol";
import {IJury} from "./interfaces/IJury.sol";
import {IStakeRegistry} from "./interfaces/IStakeRegistry.sol";
import {IVerifierDraws} from "./interfaces/IVerifierDraws.sol";
import {Seeds} from "./libraries/Seeds.sol";

/// @title Jury
/// @notice Juror draw, salted-digest votes, tally and re-draw (DESIGN §7; DISPUTES.md). Split from the
/// DisputeGame to keep each contract under EIP-170. Holds no tokens: it only locks and unlocks juror
/// stake; slashes are settled by the game through JobMarket.
contract Jury is IJury {
    address private immutable _deployer;
    IStakeRegistry private immutable _registry;
    uint256 private immutable _jurySize;
    uint256 private immutable _seedDelay;
    uint256 private immutable _commitPhase;
    uint256 private immutable _revealPhase;
    uint256 private immutable _jurorStake;
    uint256 private immutable _jurorSlash;
    IDisputeGame private _game;

    mapping(uint256 disputeId => Panel) private _panels;
    mapping(uint256 disputeId => mapping(uint256 round => address[])) private _jurors;
    mapping(uint256 disputeId => mapping(uint256 round => mapping(address voter => Vote))) private _votes;

    /// @param registry the StakeRegistry (draws, juror locks); it must allow this contract.
    /// @param jurySize M (odd). @param seedDelay blocks to each seed target (>= 1).
    /// @param commitPhase seconds of vote commits. @param revealPhase seconds of vote reveals.
    /// @param jurorStake locked per juror. @param jurorSlash lost by a non-revealing / minority juror.
    constructor(
        address registry,
        uint256 jurySize,
        uint256 seedDelay,
        uint256 commitPhase,
        uint256 revealPhase,
        uint256 jurorStake,
        uint256 jurorSlash
    ) {
        if (registry == address(0) || jurySize % 2 == 0 || jurySize > 63 || seedDelay == 0 || jurorSlash > jurorStake) {
            revert JuryInvalidConfiguration();
        }
        _deployer = msg.sender;
        _registry = IStakeRegistry(registry);
        (_jurySize, _seedDelay, _commitPhase, _revealPhase) = (jurySize, seedDelay, commitPhase, revealPhase);
        (_jurorStake, _jurorSlash) = (jurorStake, jurorSlash);
    }

    /// @notice One-time wiring by the deployer: the dispute game allowed to start and settle panels.
    function initialize(address game) external {
        if (msg.sender != _deployer || address(_game) != address(0) || game == address(0)) {
            revert JuryUnauthorized(msg.sender);
        }
        _game = IDisputeGame(game);
    }

    modifier onlyGame() {
        if (msg.sender != address(_game)) revert JuryUnauthorized(msg.sender);
        _;
    }

    /// @inheritdoc IJury
    function start(uint256 disputeId, address solver, address challenger) external onlyGame {
        Panel storage p = _panels[disputeId];
        (p.phase, p.solver, p.challenger) = (Phase.Seed, solver, challenger);
        (p.seedBlock, p.snapshotBlock) = (uint64(block.number + _seedDelay), uint64(block.number));
    }

    /// @inheritdoc IJury
    function recordSeed(uint256 disputeId) external {
        Panel storage p = _panels[disputeId];
        Phase phase = p.phase;
        if (phase != Phase.Seed && phase != Phase.Salt) revert JuryWrongPhase(disputeId, phase);
        (bool ready, bytes32 seed, uint256 newTarget) = Seeds.tryRecord(p.seedBlock, _seedDelay);
        if (!ready) revert JurySeedNotReady(disputeId, p.seedBlock);
        if (seed == 0) {
            p.seedBlock = uint64(newTarget);
            emit JurySeedMoved(disputeId, newTarget);
            return;
        }
        uint256 round = p.round;
        if (phase == Phase.Salt) {
            bytes32 salt = keccak256(abi.encode(seed, "salt", disputeId, round));
            uint64 commitDeadline = uint64(block.timestamp + _commitPhase);
            uint64 revealDeadline = uint64(commitDeadline + _revealPhase);
            (p.salt, p.commitDeadline, p.revealDeadline, p.phase) = (salt, commitDeadline, revealDeadline, Phase.Voting);
            emit JurySaltRecorded(disputeId, salt, commitDeadline, revealDeadline);
            return;
        }
        uint256 requested = round == 0 ? _jurySize : 2 * _jurySize + 1;
        address[] memory exclude = new address[](2);
        (exclude[0], exclude[1]) = (p.solver, p.challenger);
        (address[] memory drawn,) = IVerifierDraws(address(_registry)).drawVerifiers(
            keccak256(abi.encode(seed, "jurors", disputeId, round)), requested, exclude, p.snapshotBlock
        );
        uint256 size = drawn.length;
        if (size % 2 == 0 && size != 0) --size; // the largest odd number available
        assembly ("memory-safe") {
            mstore(drawn, size)
        }
        uint64 saltBlock = uint64(block.number + _seedDelay);
        (p.size, p.seedBlock, p.phase) = (uint8(size), saltBlock, size == 0 ? Phase.Done : Phase.Salt);
        emit JuryDrawn(disputeId, round, drawn, requested, size, saltBlock);
        mapping(address => Vote) storage votes = _votes[disputeId][round];
        address[] storage jurors = _jurors[disputeId][round];
        for (uint256 k; k < size; ++k) {
            address juror = drawn[k];
            uint256 free = _registry.freeStakeOf(juror);
            uint256 locked = free < _jurorStake ? free : _jurorStake;
            jurors.push(juror);
            (votes[juror].juror, votes[juror].locked) = (true, uint96(locked));
            _registry.lock(juror, locked);
        }
        if (size == 0) {
            // nobody can judge: the burden of proof is on the solver
            emit JuryDecided(disputeId, true);
            _game.onVerdict(disputeId, true);
        }
    }

    /// @inheritdoc IJury
    function commitVote(uint256 disputeId, bytes32 commitment) external {
        Panel storage p = _voting(disputeId);
        if (block.timestamp > p.commitDeadline) revert JuryVotePhase(disputeId, p.commitDeadline);
        Vote storage vote = _votes[disputeId][p.round][msg.sender];
        if (
            (!vote.juror && msg.sender != p.solver && msg.sender != p.challenger) || vote.commitment != 0
                || commitment == 0
        ) revert JuryNotVoter(disputeId, msg.sender);
        vote.commitment = commitment;
        emit VoteCommitted(disputeId, p.round, msg.sender);
    }

    /// @inheritdoc IJury
    function revealVote(uint256 disputeId, bytes32 digest, bytes32 salt) external {
        Panel storage p = _voting(disputeId);
        if (block.timestamp <= p.commitDeadline || block.timestamp > p.revealDeadline) {
            revert JuryVotePhase(disputeId, block.timestamp <= p.commitDeadline ? p.commitDeadline : p.revealDeadline);
        }
        uint256 round = p.round;
        Vote storage vote = _votes[disputeId][round][msg.sender];
        if (vote.commitment == 0 || vote.revealed) revert JuryNotVoter(disputeId, msg.sender);
        if (keccak256(abi.encode(disputeId, round, msg.sender, digest, salt)) != vote.commitment) {
            revert JuryVoteMismatch(disputeId, msg.sender);
        }
        (vote.digest, vote.revealed) = (digest, true);
        emit VoteRevealed(disputeId, round, msg.sender, digest);
    }

    /// @inheritdoc IJury
    function resolve(uint256 disputeId) external {
        Panel storage p = _voting(disputeId);
        if (block.timestamp <= p.revealDeadline) revert JuryVotePhase(disputeId, p.revealDeadline);
        uint256 round = p.round;
        mapping(address => Vote) storage votes = _votes[disputeId][round];
        Vote storage solverVote = votes[p.solver];
        bool decided = true;
        bool solverWrong;
        if (!solverVote.revealed || solverVote.digest == 0) {
            solverWrong = true;
        } else if (!votes[p.challenger].revealed) {
            solverWrong = false;
        } else {
            (uint256 revealed, uint256 forSolver) = _count(disputeId, round, solverVote.digest);
            if (2 * forSolver != revealed) solverWrong = 2 * forSolver < revealed;
            else if (round == 1) solverWrong = true;
            else decided = false;
        }
        if (!decided) {
            uint64 seedBlock = uint64(block.number + _seedDelay);
            (p.round, p.seedBlock, p.snapshotBlock, p.phase, p.salt) = (1, seedBlock, uint64(block.number), Phase.Seed, 0);
            emit JuryTied(disputeId, round, 2 * _jurySize + 1, seedBlock);
            return;
        }
        p.phase = Phase.Done;
        emit JuryDecided(disputeId, solverWrong);
        _game.onVerdict(disputeId, solverWrong);
    }

    /// @inheritdoc IJury
    function settle(uint256 disputeId, bool solverWrong, uint256 fee, uint256 budget)
        external
        onlyGame
        returns (address[] memory payees, uint256[] memory fees, address[] memory slashed, uint256[] memory slashes)
    {
        Panel storage p = _panels[disputeId];
        uint256 lastRound = p.round;
        uint256 total = _jurors[disputeId][0].length + _jurors[disputeId][1].length;
        (payees, fees, slashed, slashes) = (new address[](total), new uint256[](total), new address[](total), new uint256[](total));
        (uint256 paidCount, uint256 slashCount, uint256 spent) = (0, 0, 0);
        // A verdict forced by a second tie has no minority: no revealing juror is slashed for it.
        bool tied = _tied(disputeId, p, lastRound);
        for (uint256 round; round <= lastRound; ++round) {
            mapping(address => Vote) storage votes = _votes[disputeId][round];
            Vote storage solverVote = votes[p.solver];
            address[] storage jurors = _jurors[disputeId][round];
            for (uint256 k; k < jurors.length; ++k) {
                address juror = jurors[k];
                Vote storage vote = votes[juror];
                // A solver digest of 0 concedes "unavailable": no juror vote can side with it.
                bool withSolver = solverVote.revealed && solverVote.digest != 0 && vote.digest == solverVote.digest;
                uint256 locked = vote.locked;
                if (vote.revealed && (round < lastRound || tied || withSolver != solverWrong)) {
                    uint256 paid = fee < budget - spent ? fee : budget - spent;
                    (payees[paidCount], fees[paidCount]) = (juror, paid);
                    ++paidCount;
                    spent += paid;
                    _registry.unlock(juror, locked);
                } else {
                    uint256 slash = _jurorSlash < locked ? _jurorSlash : locked;
                    (slashed[slashCount], slashes[slashCount]) = (juror, slash);
                    ++slashCount;
                    _registry.unlock(juror, locked - slash);
                }
            }
        }
        assembly ("memory-safe") {
            mstore(payees, paidCount)
            mstore(fees, paidCount)
            mstore(slashed, slashCount)
            mstore(slashes, slashCount)
        }
        p.phase = Phase.Done;
    }

    /// @inheritdoc IJury
    function release(uint256 disputeId) external onlyGame {
        Panel storage p = _panels[disputeId];
        for (uint256 round; round <= p.round; ++round) {
            address[] storage jurors = _jurors[disputeId][round];
            for (uint256 k; k < jurors.length; ++k) {
                _registry.unlock(jurors[k], _votes[disputeId][round][jurors[k]].locked);
            }
        }
        p.phase = Phase.Done;
    }

    /// @inheritdoc IJury
    function panelOf(uint256 disputeId) external view returns (Panel memory) {
        return _panels[disputeId];
    }

    /// @inheritdoc IJury
    function jurorsOf(uint256 disputeId, uint256 round) external view returns (address[] memory) {
        return _jurors[disputeId][round];
    }

    /// @inheritdoc IJury
    function voteOf(uint256 disputeId, uint256 round, address voter) external view returns (Vote memory) {
        return _votes[disputeId][round][voter];
    }

    /// @dev Whether round `round` ended with as many revealed juror votes for the solver's digest as
    /// against it (at least one revealed), both parties having revealed (the rule `resolve` applies).
    function _tied(uint256 disputeId, Panel storage p, uint256 round) private view returns (bool) {
        mapping(address => Vote) storage votes = _votes[disputeId][round];
        Vote storage solverVote = votes[p.solver];
        if (!solverVote.revealed || solverVote.digest == 0 || !votes[p.challenger].revealed) return false;
        (uint256 revealed, uint256 forSolver) = _count(disputeId, round, solverVote.digest);
        return revealed != 0 && 2 * forSolver == revealed;
    }

    /// @dev Jurors of `round` that revealed, and how many of them revealed `solverDigest`.
    function _count(uint256 disputeId, uint256 round, bytes32 solverDigest)
        private
        view
        returns (uint256 revealed, uint256 forSolver)
    {
        mapping(address => Vote) storage votes = _votes[disputeId][round];
        address[] storage jurors = _jurors[disputeId][round];
        for (uint256 k; k < jurors.length; ++k) {
            Vote storage vote = votes[jurors[k]];
            if (!vote.revealed) continue;
            ++revealed;
            if (vote.digest == solverDigest) ++forSolver;
        }
    }

    function _voting(uint256 disputeId) private view returns (Panel storage p) {
        p = _panels[disputeId];
        if (p.phase != Phase.Voting) revert JuryWrongPhase(disputeId, p.phase);
    }
}
