"""The ``repro-v1`` runtime: ops whose forward and backward give the same bits on any CPU or GPU.

Exact-integer GEMMs (``gemm``), fixed-order or exact reductions (``reduce``), transcendentals from
``+ - * /`` (``transcendental``), wrapped as autograd functions (``functions_*``) behind ``ReproOps``.
"""

from node.runtime.repro.ops import ReproOps

__all__ = ["ReproOps"]
