"""CROWD amounts: parsed from decimal text exactly (``Decimal``, never float) and formatted back."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation, localcontext

from node.chain.types import Wei

DECIMALS = 18
CROWD = 10**DECIMALS
"""Wei per CROWD."""


def parse_crowd(text: str, *, allow_zero: bool = False) -> Wei:
    """``"250"`` → 250·10¹⁸ wei, ``"0.5"`` → 5·10¹⁷; exact, or ValueError with the reason."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation as err:
        raise ValueError(f"not a number: {text!r}") from err
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {text!r}")
    with localcontext() as ctx:
        ctx.prec = 200  # exact for any amount that fits a uint256
        wei = value.scaleb(DECIMALS)
    if wei != wei.to_integral_value():
        raise ValueError(f"{text!r} has more than {DECIMALS} decimals")
    if wei < 0 or (wei == 0 and not allow_zero):
        raise ValueError(f"amount must be positive, got {text!r}")
    return Wei(int(wei))


def format_crowd(wei: int) -> str:
    """250·10¹⁸ → ``"250"``, 5·10¹⁷ → ``"0.5"``: exact, no trailing zeros."""
    sign = "-" if wei < 0 else ""
    whole, frac = divmod(abs(wei), CROWD)
    if frac == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{str(frac).rjust(DECIMALS, '0').rstrip('0')}"
