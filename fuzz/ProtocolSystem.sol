// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IAttestations} from "../contracts/interfaces/IAttestations.sol";
import {IDisputeGame} from "../contracts/interfaces/IDisputeGame.sol";
import {IJobMarket} from "../contracts/interfaces/IJobMarket.sol";
import {IJury} from "../contracts/interfaces/IJury.sol";
import {IRoundsMarket} from "../contracts/interfaces/IRoundsMarket.sol";
import {IStakeRegistry} from "../contracts/interfaces/IStakeRegistry.sol";
import {IVerifierDraws} from "../contracts/interfaces/IVerifierDraws.sol";
import {VM} from "./Vm.sol";

interface ICrowdToken is IERC20 {
    function mint(address to, uint256 amount) external;
}

interface IRegistry is IStakeRegistry, IVerifierDraws {
    function renounceOwnership() external;
    function owner() external view returns (address);
}

interface IJuryInit is IJury {
    function initialize(address game) external;
}

/// @notice The whole protocol, deployed and wired the way `node/chain/deploy.py` does it, with the
/// devnet parameters of `DeploymentParams` (docs/PROTOCOL.md §8). The registry is wired once and renounced; the
/// deployer (this contract) keeps only the token's devnet faucet (`mint`, chain id 31337).
/// @dev The production contracts are deployed from Forge's artifacts (`deployCode`), so the tests
/// import interfaces only and compile without the IR pipeline. Every owner-only call the fuzz system
/// makes lives here, so a change of the wiring (one-shot registry, devnet-only mint) is adapted here.
contract ProtocolSystem {
    uint256 internal constant CROWD = 1e18;

    ICrowdToken public immutable token;
    IRegistry public immutable registry;
    IAttestations public immutable attestations;
    IJuryInit public immutable jury;
    IDisputeGame public immutable game;
    IJobMarket public immutable market;
    IRoundsMarket public immutable rounds;

    constructor() {
        token = ICrowdToken(VM.deployCode("CrowdToken.sol:CrowdToken", abi.encode(address(this), 0)));
        registry = IRegistry(
            VM.deployCode("StakeRegistry.sol:StakeRegistry", abi.encode(address(token), 3_600, 100 * CROWD, address(this)))
        );
        attestations = IAttestations(
            VM.deployCode("Attestations.sol:Attestations", abi.encode(address(registry), 3, 2, 5 * CROWD))
        );
        jury = IJuryInit(
            VM.deployCode("Jury.sol:Jury", abi.encode(address(registry), 3, 3, 2, 60, 60, 10 * CROWD, 5 * CROWD))
        );
        IDisputeGame.Params memory params = IDisputeGame.Params({
            minChallengeBond: uint96(10 * CROWD),
            moveClock: 120,
            bisectionDegree: 16,
            jurorFeeBps: 100,
            jackpotBps: 5_000,
            submitterBps: 2_500,
            bondToSolverBps: 5_000,
            challengeFeeBps: 5_000
        });
        game = IDisputeGame(VM.deployCode("DisputeGame.sol:DisputeGame", abi.encode(address(registry), params)));
        market = IJobMarket(
            VM.deployCode(
                "JobMarket.sol:JobMarket",
                abi.encode(
                    address(token), address(registry), address(game), address(attestations), 60, 100 * CROWD, 120, 500, 60, 30 days, 1_440
                )
            )
        );
        rounds = IRoundsMarket(VM.deployCode("RoundsMarket.sol:RoundsMarket", abi.encode(address(market))));
        market.initialize(address(rounds)); // wired once: nobody can wire another rounds market
        attestations.initialize(address(market));
        jury.initialize(address(game));
        registry.setProtocolContract(address(market), true);
        registry.setProtocolContract(address(jury), true);
        game.initialize(address(market), address(attestations), address(jury));
        registry.setProtocolContract(address(game), true);
        registry.setProtocolContract(address(rounds), true); // outer-step publishers' bonds
        registry.renounceOwnership(); // wired once: nobody can add a protocol contract later
    }

    /// @notice The devnet faucet (CrowdToken.mint, owner only).
    function mint(address to, uint256 amount) external {
        token.mint(to, amount);
    }

    /// @notice Whether `status` is one no job ever leaves.
    function isTerminal(IJobMarket.JobStatus status) external pure returns (bool) {
        return status == IJobMarket.JobStatus.Finalized || status == IJobMarket.JobStatus.Cancelled;
    }
}
