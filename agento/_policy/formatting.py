"""OPA's ``sprintf``, ``format_int``, ``bits``, ``hex.encode`` and ``urlquery`` built-ins in
rego-cpp: a generated Rego module whose functions the embedded engine's policies call instead.

rego-cpp's ``sprintf`` is C's ``printf`` over its own values: ``%d`` wraps an integer at 32
bits (``sprintf("%d", [2147483648])`` is ``-2147483648``) and answers nothing for a float, so a
deny reason built with it is silently missing and the request allowed; ``%s`` of a number
prints the number, ``%s`` of null or a collection nothing, widths and ``%!d(MISSING)`` are
ignored. OPA hands Go's ``fmt`` each number as an ``int64``, a ``*big.Int``, a ``float64`` or a
string, chosen by the number's text, and every other value as its Rego text. ``format_int``
floors a negative float and writes negative integers in base 2, 8 and 16 as two's complement;
``bits.lsh`` wraps at 64 bits, where OPA's integers have no size; ``hex.encode`` sign-extends
each non-ASCII byte, and ``urlquery`` writes a space as ``%20`` where Go writes ``+``.

The module follows Go's rules for the verbs, flags and types policies use, on numbers' text
(``json.marshal``) and the numbers module's shortest digits, and keeps the native call where
it is already OPA's (plain ``%s`` and ``%v`` of strings, ``%d`` and ``%v`` of integers below
10^9). What it does not write (``%c``, ``%q`` of a number or of non-ASCII text, ``%x`` of a
float, argument indexes, ``%+d``, a width on a string holding an escape, a nested collection
holding a float, a collection holding non-ASCII text, a float of 2^52 or more written with
more than 15 digits, integers beyond 64 bits in base 2, 8 or 16, more than 32 verbs or 64
values, whose cost grows faster than their number in rego-cpp) fails the evaluation, never
answers otherwise.

`agento._policy.rego.ordered` rewrites a bundle's calls to it.
"""

from __future__ import annotations

from pathlib import Path

from agento._policy.numbers import FAIL, hidden
from agento._policy.numbers import PACKAGE as NUMBERS_PACKAGE

PACKAGE = "agento__format"
"""The generated module's package: ``data.agento__format.sprintf_of(f, values)``."""

_PAD = 400
"""The widest padding the module writes; a wider width fails the evaluation."""
_ZEROS = 720
"""Zeros enough to pad to 400 and to scale 5^1021 (714 digits)."""


BUILTINS = {
    "sprintf": "sprintf_of",
    "format_int": "format_int_of",
    "bits.lsh": "bits_lsh",
    "bits.rsh": "bits_rsh",
    "bits.and": "bits_and",
    "bits.or": "bits_or",
    "bits.xor": "bits_xor",
    "bits.negate": "bits_negate",
    "hex.encode": "hex_encode",
    "urlquery.encode": "urlquery_encode",
    "urlquery.encode_object": "urlquery_encode_object",
    "urlquery.decode": "urlquery_decode",
    "urlquery.decode_object": "urlquery_decode_object",
}
"""The built-ins whose calls become calls of the module's functions."""

MODULE = hidden(
    (Path(__file__).parent / "formatting.rego")
    .read_text()
    .replace("{PACKAGE}", PACKAGE)
    .replace("{FAIL}", FAIL)
    .replace("{SPACES}", " " * _PAD)
    .replace("{ZEROS}", "0" * _ZEROS)
    .replace("{SQUARES_OF_FIVE}", str([5 ** (2**i) for i in range(11)]))
    .replace("NUMBERS.", f"data.{NUMBERS_PACKAGE}.agento_"),  # its helpers, hidden
    keep=BUILTINS.values(),
)
"""The module's text, as a bundle gets it (its helpers renamed apart: `numbers.hidden`)."""
