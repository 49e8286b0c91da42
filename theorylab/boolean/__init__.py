"""Boolean-threshold networks trained by reflect-reflect-relax (Elser & Lal 2026)."""

from theorylab.boolean.network import Network, layered_network
from theorylab.boolean.rrr import RRRResult, RRRState, check_pm1, init_state, solve_rrr
from theorylab.boolean.tasks import (
    autoencoder_task,
    cellular_automaton_task,
    multiplier_task,
    parity_task,
    random_andor_circuit,
)

__all__ = [
    "Network",
    "RRRResult",
    "RRRState",
    "autoencoder_task",
    "cellular_automaton_task",
    "check_pm1",
    "init_state",
    "layered_network",
    "multiplier_task",
    "parity_task",
    "random_andor_circuit",
    "solve_rrr",
]
