"""OPA's numbers in rego-cpp: a generated Rego module that orders, compares and computes on
numbers as OPA v1 does, which the embedded engine's policies call instead of the operators and
built-ins that answer otherwise there.

rego-cpp reads every float as a double rounded to 16 significant digits (``1000.0000000000001
<= 1000`` is true there), prints every float result with 16 digits, gives ``abs`` six decimals
(``abs(1.15 - 1.2) <= 0.05`` is true), computes ``%`` wrongly on some integers (``383325 % 7`` is
0), and fails the whole evaluation on a subnormal float (``5e-324 >= 0``). OPA compares numbers by
their exact decimal value and computes on floats with Go's ``big.Float`` at 64 bits of mantissa,
printing each result as the shortest decimal that reads back as the same 64-bit value: ``1.15 -
1.2`` is ``-0.050000000000000000065``, so ``abs(1.15 - 1.2) <= 0.05`` is false, and ``0.1 + 0.2
== 0.3`` is true. Neither answer is a double's.

The module reproduces that arithmetic exactly, on rego-cpp's exact integers (which it computes on
digit strings) and on numbers' text (``json.marshal``), and hands each result back as a number
holding OPA's text (``units.parse`` of a plain number keeps it as written). Integers rego-cpp
holds take the native operators, which are exact on them; floats take the long way
(docs/performance.md). What it cannot compute (a sum of more than `MAX_FOLD` non-integers, powers
of two beyond 2^3967 or of five beyond 5^3455, a remainder of numbers of about 300 digits) fails
the evaluation, never answers otherwise.

Its shape follows two costs of rego-cpp. Every rule of a bundle is checked on each query, so a
bundle gets only the rules its policies reach (`module`). And a function reached under ``with``
(a test's ``with input.x as ...``) is copied for every call site, recursively: a call graph of
any depth multiplies. So the functions policies call ("entries") call only functions that call
none of this module's ("leaves"), whose bodies are written out from the macros below, branches
as comprehensions.

`agento._policy.rego.ordered` rewrites a bundle's modules to call it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

PACKAGE = "agento__opa"
"""The generated module's package: ``data.agento__opa.order_lt(a, b)``."""

MAX_FOLD = 64
"""The most non-integer numbers ``sum`` and ``product`` take; more fail the evaluation. Under
``with`` (a policy test) rego-cpp compiles a copy of every step: 256 steps took 11 s to compile
a bundle's tests, 64 take 2 s."""

_LOG2_10 = "3.321928094887362"
_ZERO_COUNT = 1500
_FLOAT64_OVERFLOW = str(2**1024 - 2**970)
"""The smallest magnitude ``strconv.ParseFloat`` rounds to infinity: what ``to_number``
refuses as out of range, as OPA does."""

FAIL = 'to_number("1e-400")'
"""An expression that fails the whole evaluation in rego-cpp (its ``stod`` cannot read a
number below 2.2e-308): how this module stops where it cannot compute."""

# ----------------------------------------------------------------------------- macros
# Each writes the statements that bind `t` (and names starting `t_`) from its arguments.


def _pow2(t: str, n: str) -> list[str]:
    """2^n for 0 <= n < 3968: two shifts for n <= 124, the bits of n / 124 beyond."""
    picks = "".join(
        f" * (1 + (({2 ** (124 * bit)} - 1) * to_number(bits.and({t}_q, {bit}) != 0)))"
        for bit in (1, 2, 4, 8, 16)
    )
    return [
        f"{t}_n := {n}",
        f"{t}_bad := [{t}_v | (to_number({t}_n < 0) + to_number({t}_n >= 3968)) > 0; "
        f"{t}_v := {FAIL}]",
        f"count({t}_bad) == 0",
        f"{t}_c := {t}_n - (({t}_n - 124) * to_number({t}_n > 124))",
        f"{t}_a := {t}_c - (({t}_c - 62) * to_number({t}_c > 62))",
        f"{t}_big := [{t}_v | {t}_n > 124; {t}_q := floor({t}_n / 124); "
        f"{t}_r := {t}_n - (124 * {t}_q); {t}_x := {t}_r - (({t}_r - 62) * to_number({t}_r > "
        f"62)); {t}_v := (bits.lsh(1, {t}_x) * bits.lsh(1, {t}_r - {t}_x)){picks}]",
        f"{t} := ((bits.lsh(1, {t}_a) * bits.lsh(1, {t}_c - {t}_a)) * (1 - count({t}_big))) + "
        f"sum({t}_big)",
    ]


_P5_SMALL = "".join(str(5**i).rjust(19, "0") for i in range(27))


def _pow5(t: str, n: str) -> list[str]:
    """5^n for 0 <= n < 3456: a table to 5^26 times 5^27 or 5^54, the bits of n / 27 beyond
    (the text of a quotient of the smallest double by the largest needs 5^2100)."""
    picks = "".join(
        f" * (1 + (({5 ** (27 * bit)} - 1) * to_number(bits.and({t}_q, {bit}) != 0)))"
        for bit in (1, 2, 4, 8, 16, 32, 64)
    )
    return [
        f"{t}_n := {n}",
        f"{t}_bad := [{t}_v | (to_number({t}_n < 0) + to_number({t}_n >= 3456)) > 0; "
        f"{t}_v := {FAIL}]",
        f"count({t}_bad) == 0",
        f"{t}_q := floor({t}_n / 27)",
        f"{t}_r := {t}_n - (27 * {t}_q)",
        f'{t}_lo := units.parse(trim_left(substring("{_P5_SMALL}", 19 * {t}_r, 19), "0"))',
        f"{t}_big := [{t}_v | {t}_q > 2; {t}_v := {t}_lo{picks}]",
        f"{t}_mid := ((1 + ({5**27 - 1} * to_number({t}_q == 1))) + ({5**54 - 1} * "
        f"to_number({t}_q == 2))) * {t}_lo",
        f"{t} := ({t}_mid * (1 - count({t}_big))) + sum({t}_big)",
    ]


def _dec(t: str, text: str) -> list[str]:
    """[negative, position, digits] for 0.digits x 10^position, from a number's text."""
    return [
        f"{t}_t := lower({text})",
        f'{t}_me := split(trim_prefix({t}_t, "-"), "e")',
        f'{t}_ip := split({t}_me[0], ".")',
        f'{t}_all := concat("", {t}_ip)',
        f'{t}_left := trim_left({t}_all, "0")',
        f'{t}_esa := array.concat(array.slice({t}_me, 1, 2), ["0"])',
        f"{t}_es := {t}_esa[0]",
        f'{t}_ed := trim_left(trim_prefix(trim_prefix({t}_es, "-"), "+"), "0")',
        f'{t}_ev := to_number(concat("", [substring("0", 0, to_number({t}_ed == "")), {t}_ed]))',
        f'{t}_ex := {t}_ev * (1 - (2 * to_number(startswith({t}_es, "-"))))',
        f'{t} := [startswith({t}_t, "-"), (count({t}_ip[0]) + {t}_ex) - (count({t}_all) - '
        f'count({t}_left)), trim_right({t}_left, "0")]',
    ]


def _cmp(t: str, a: str, b: str) -> list[str]:
    """-1, 0 or 1 as decimal a is below, equal to or above decimal b."""
    return [
        f"{t}_a := {a}",
        f"{t}_b := {b}",
        f'{t}_sa := to_number({t}_a[2] != "") * (1 - (2 * to_number({t}_a[0])))',
        f'{t}_sb := to_number({t}_b[2] != "") * (1 - (2 * to_number({t}_b[0])))',
        f"{t}_d := to_number({t}_sa > {t}_sb) - to_number({t}_sa < {t}_sb)",
        f"{t}_mp := to_number({t}_a[1] > {t}_b[1]) - to_number({t}_a[1] < {t}_b[1])",
        f"{t}_md := to_number({t}_a[2] > {t}_b[2]) - to_number({t}_a[2] < {t}_b[2])",
        f"{t}_mg := {t}_mp + ((1 - abs({t}_mp)) * {t}_md)",
        f"{t} := {t}_d + ((1 - abs({t}_d)) * ({t}_sa * {t}_mg))",
    ]


def _carry(t: str, qs: str, low: str, rest: str) -> list[str]:
    """Round to nearest, ties to even: 1 when the digits below qs (low, then rest) carry it."""
    return [
        f"{t}_f := substring({low}, 0, 1)",
        f'{t}_more := (to_number(trim_left(substring({low}, 1, count({low}) - 1), "0") != "") + '
        f'to_number(trim_left({rest}, "0") != "")) + to_number(substring({qs}, count({qs}) - 1, '
        f'1) in {{"1", "3", "5", "7", "9"}})',
        f'{t} := to_number({t}_f > "5") + (to_number({t}_f == "5") * to_number({t}_more > 0))',
    ]


def _bit_length(t: str, am: str, s: str) -> list[str]:
    """The bit length of am > 0 (s its digits): between lo and lo + 4."""
    return [
        f"{t}_lo := floor((count({s}) - 1) * {_LOG2_10}) + 1",
        f"@POW2 {t}_p = {t}_lo",
        f"{t} := (({t}_lo + to_number({am} >= {t}_p)) + to_number({am} >= 2 * {t}_p)) + "
        f"(to_number({am} >= 4 * {t}_p) + to_number({am} >= 8 * {t}_p))",
    ]


def _round_bin(t: str, m: str, e: str, p: str) -> list[str]:
    """m x 2^e rounded to p bits: [mantissa, exponent], 2^(p-1) <= |mantissa| < 2^p; m = 0
    keeps e (the sign of a zero)."""
    return [
        f"{t}_m := {m}",
        f"{t}_e := {e}",
        f"{t}_p := {p}",
        f"{t}_z := to_number({t}_m == 0)",
        f"{t}_am := abs({t}_m) + {t}_z",
        f'{t}_s := sprintf("%v", [{t}_am])',
        f"@BIT_LENGTH {t}_b = {t}_am, {t}_s",
        f"{t}_up := [{t}_x | {t}_b <= {t}_p",
        f"@POW2 {t}_k = {t}_p - {t}_b",
        f"{t}_x := [{t}_am * {t}_k, {t}_e - ({t}_p - {t}_b)]",
        "]",
        f"{t}_dn := [{t}_x | {t}_b > {t}_p",
        f"{t}_t := {t}_b - {t}_p",
        f"@POW5 {t}_f = {t}_t",
        f'{t}_y := sprintf("%v", [{t}_am * {t}_f])',
        f"{t}_n := count({t}_y)",
        f"{t}_qs := substring({t}_y, 0, {t}_n - {t}_t)",
        f"{t}_low := substring({t}_y, {t}_n - {t}_t, {t}_t)",
        f'@CARRY {t}_c = {t}_qs, {t}_low, ""',
        f"@POW2 {t}_h = {t}_p - 1",
        f"{t}_mm := units.parse({t}_qs) + {t}_c",
        f"{t}_ov := to_number({t}_mm == 2 * {t}_h)",
        f"{t}_x := [{t}_mm + ({t}_ov * ({t}_h - {t}_mm)), ({t}_e + {t}_t) + {t}_ov]",
        "]",
        f"{t}_ra := array.concat({t}_up, {t}_dn)",
        f"{t}_r := {t}_ra[0]",
        f"{t} := [({t}_r[0] * (1 - (2 * to_number({t}_m < 0)))) * (1 - {t}_z), "
        f"({t}_r[1] * (1 - {t}_z)) + ({t}_e * {t}_z)]",
    ]


def _badd(t: str, a: str, b: str) -> list[str]:
    """A sum at 64 bits. An addend 67 or more bits below the other cannot move its rounding."""
    return [
        f"{t}_a := {a}",
        f"{t}_b := {b}",
        f"{t}_za := to_number({t}_a[0] == 0)",
        f"{t}_zb := to_number({t}_b[0] == 0)",
        f"{t}_fa := to_number(({t}_a[1] - {t}_b[1]) >= 67)",
        f"{t}_fb := to_number(({t}_b[1] - {t}_a[1]) >= 67)",
        f"{t}_near := (1 - {t}_fa) * (1 - {t}_fb)",
        f"{t}_em := {t}_a[1] + (({t}_b[1] - {t}_a[1]) * to_number({t}_b[1] < {t}_a[1]))",
        f"@POW2 {t}_sa = ({t}_a[1] - {t}_em) * {t}_near",
        f"@POW2 {t}_sb = ({t}_b[1] - {t}_em) * {t}_near",
        f"{t}_ms := ({t}_a[0] * {t}_sa) + ({t}_b[0] * {t}_sb)",
        f"@ROUND_BIN {t}_rs = {t}_ms, {t}_em * to_number({t}_ms != 0), 64",
        f"{t}_i := ({t}_za * {t}_zb) * 3",
        f"{t}_j := (1 - ({t}_za * {t}_zb)) * (({t}_za * 2) + ((1 - {t}_za) * (({t}_zb * 1) + "
        f"((1 - {t}_zb) * ({t}_fa + (2 * {t}_fb))))))",
        f"{t} := [{t}_rs, {t}_a, {t}_b, [0, {t}_a[1] * {t}_b[1]]][{t}_i + {t}_j]",
    ]


def _bmul(t: str, a: str, b: str, p: str) -> list[str]:
    """A product at p bits; the sign of a zero product is the operands' sign."""
    return [
        f"{t}_a := {a}",
        f"{t}_b := {b}",
        f"{t}_z := to_number(({t}_a[0] * {t}_b[0]) == 0)",
        f"{t}_na := to_number({t}_a[0] < 0) + (to_number({t}_a[0] == 0) * {t}_a[1])",
        f"{t}_nb := to_number({t}_b[0] < 0) + (to_number({t}_b[0] == 0) * {t}_b[1])",
        f"@ROUND_BIN {t}_r = {t}_a[0] * {t}_b[0], ({t}_a[1] + {t}_b[1]) * (1 - {t}_z), {p}",
        f"{t} := [{t}_r, [0, to_number({t}_na != {t}_nb)]][{t}_z]",
    ]


def _from_dec(t: str, d: str, p: str) -> list[str]:
    """A decimal rounded to p bits, as big.Float.SetString rounds a number's text: scaled to
    between p + 1 and p + 6 bits, then shifted to p, the digits below a sticky rest."""
    return [
        f"{t}_d := {d}",
        f"{t}_pp := {p}",
        f'{t}_nz := to_number({t}_d[2] != "")',
        f'{t}_dg := concat("", [{t}_d[2], substring("1", 0, 1 - {t}_nz)])',
        f"{t}_pos := {t}_d[1] + (1 - {t}_nz)",
        f"{t}_q10 := {t}_pos - count({t}_dg)",
        f"{t}_s0 := ({t}_pp + 1) - floor(({t}_pos - 1) * {_LOG2_10})",
        f"{t}_a2 := {t}_q10 + {t}_s0",
        f"{t}_k1 := (0 - {t}_a2) + (({t}_a2 - {t}_q10) * to_number({t}_a2 > {t}_q10))",
        f"{t}_k := {t}_k1 * to_number({t}_k1 > 0)",
        f"@POW2 {t}_p2 = {t}_a2 + {t}_k",
        f"@POW5 {t}_p5 = {t}_q10 + {t}_k",
        f'{t}_xs := sprintf("%v", [(units.parse({t}_dg) * {t}_p2) * {t}_p5])',
        f"{t}_xn := count({t}_xs)",
        f"{t}_qs := substring({t}_xs, 0, {t}_xn - {t}_k)",
        f"{t}_rest := substring({t}_xs, {t}_xn - {t}_k, {t}_k)",
        f"{t}_q := units.parse({t}_qs)",
        f"@BIT_LENGTH {t}_b = {t}_q, {t}_qs",
        f"{t}_t := {t}_b - {t}_pp",
        f"{t}_no := [{t}_v | {t}_t < 1; {t}_v := {FAIL}]",
        f"count({t}_no) == 0",
        f"@POW5 {t}_f = {t}_t",
        f'{t}_y := sprintf("%v", [{t}_q * {t}_f])',
        f"{t}_yn := count({t}_y)",
        f"{t}_hs := substring({t}_y, 0, {t}_yn - {t}_t)",
        f"{t}_low := substring({t}_y, {t}_yn - {t}_t, {t}_t)",
        f"@CARRY {t}_c = {t}_hs, {t}_low, {t}_rest",
        f"@POW2 {t}_h = {t}_pp - 1",
        f"{t}_mm := units.parse({t}_hs) + {t}_c",
        f"{t}_ov := to_number({t}_mm == 2 * {t}_h)",
        f"{t}_sg := 1 - (2 * to_number({t}_d[0]))",
        f"{t} := [(({t}_mm + ({t}_ov * ({t}_h - {t}_mm))) * {t}_sg) * {t}_nz, "
        f"(((({t}_t - {t}_s0) + {t}_ov)) * {t}_nz) + (to_number({t}_d[0]) * (1 - {t}_nz))]",
    ]


def _stage(t: str, xs: str, y: str, ys: str) -> list[str]:
    """The digits of xs mod y after one stage of long division: 14 digits of quotient from a
    double's estimate (off by one at most, corrected by the exact remainder)."""
    return [
        f"{t}_x := units.parse({xs})",
        f"{t}_k0 := (count({xs}) - count({ys})) - 14",
        f"{t}_k := {t}_k0 * to_number({t}_k0 > 0)",
        f"{t}_top := units.parse(substring({xs}, 0, count({xs}) - {t}_k))",
        f"{t}_qe := sum([q | {t}_top >= {y}; q := floor({t}_top / {y})])",  # never subnormal
        f"{t}_re := {t}_top - ({t}_qe * {y})",
        f"{t}_r := ({t}_re + ({y} * to_number({t}_re < 0))) - ({y} * to_number({t}_re >= {y}))",
        f'{t}_lt := trim_left(concat("", [sprintf("%v", [{t}_r]), substring({xs}, count({xs}) '
        f'- {t}_k, {t}_k)]), "0")',
        f'{t}_nx := concat("", [{t}_lt, substring("0", 0, to_number({t}_lt == ""))])',
        f"{t} := [{t}_nx, {xs}][to_number({t}_x < {y})]",
    ]


_MACROS: dict[str, Callable[..., list[str]]] = {
    "STAGE": _stage,
    "POW2": _pow2,
    "POW5": _pow5,
    "DEC": _dec,
    "CMP": _cmp,
    "CARRY": _carry,
    "BIT_LENGTH": _bit_length,
    "ROUND_BIN": _round_bin,
    "BADD": _badd,
    "BMUL": _bmul,
    "FROM_DEC": _from_dec,
}
_CALL = re.compile(r"^(\s*)@([A-Z0-9_]+) (\w+) = (.*)$")


def _expand(text: str) -> str:
    """``@NAME target = a, b`` lines written out as the macro's statements, at their indent
    (macros within macros included)."""
    out: list[str] = []
    for line in text.splitlines():
        m = _CALL.match(line)
        if not m:
            out.append(line)
            continue
        indent, name, target, arguments = m.groups()
        args = [a.strip() for a in _split_arguments(arguments)]
        body = "\n".join(indent + s for s in _MACROS[name](target, *args))
        out.append(_expand(body))
    return "\n".join(out)


def _split_arguments(text: str) -> list[str]:
    """Top-level commas only: ``a[0] * b[0], (x, y), 64``."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for c in text:
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
    return [*parts, "".join(current)]


def _folds() -> str:
    """``fold_N``: a left fold of ``fold_step`` over up to N floats (Rego has no recursion),
    in sizes so that a short list does not pay for the longest."""
    sizes = [8, MAX_FOLD]
    branches = "\nelse := ".join(f"fold_{n}(op, s0, bs) if count(bs) <= {n}" for n in sizes)
    text = [f"fold(op, s0, bs) := {branches}\nelse := {FAIL}\n\n"]
    for n in sizes:
        steps = "".join(f"\ts{i + 1} := fold_step(op, s{i}, bs, {i})\n" for i in range(n))
        text.append(f"fold_{n}(op, s0, bs) := s{n} if {{\n{steps}}}\n\n")
    return "".join(text)


def _source() -> str:
    values = {
        "PACKAGE": PACKAGE,
        "LOG2_10": _LOG2_10,
        "ZEROS": "0" * _ZERO_COUNT,
        "FAIL": FAIL,
        "FLOAT64_OVERFLOW": _FLOAT64_OVERFLOW,
    }
    text = (Path(__file__).parent / "numbers.rego").read_text()
    text = re.sub(r"\{([A-Z0-9_]+)\}", lambda m: values[m[1]], text)
    return _expand(text) + "\n\n" + _folds()


_HEAD = re.compile(r"[a-z_][a-z0-9_]*")
_WORD = re.compile(r"\b[a-z_][a-z0-9_]*\b")


@cache
def _rules() -> tuple[str, dict[str, list[str]]]:
    """The module's package line and its rules: name -> the text of each definition (with
    the comments just above it), in source order. Definitions are the paragraphs of the
    source; a paragraph of comments alone (a section's title) is left out."""
    package, *paragraphs = _source().split("\n\n")
    rules: dict[str, list[str]] = {}
    for paragraph in paragraphs:
        code = [line for line in paragraph.splitlines() if not line.startswith("#")]
        if not code or not (head := _HEAD.match(code[0])):
            continue
        rules.setdefault(head[0], []).append(paragraph.strip("\n") + "\n\n")
    return package, rules


def module(used: Iterable[str] | None = None) -> str:
    """The generated module, with the rules ``used`` (all when ``None``) and those they
    reach: rego-cpp checks every rule of a bundle on each query, so each costs every
    decision."""
    package, rules = _rules()
    names = list(rules)
    if used is None:
        keep = set(names)
    else:
        wanted = [n.removeprefix(_HIDDEN) for n in used]
        keep, todo = set(), [n for n in wanted if n in rules]
        while todo:
            name = todo.pop()
            if name in keep:
                continue
            keep.add(name)
            todo += [w for text in rules[name] for w in _WORD.findall(text) if w in rules]
    text = "".join(text for name in names if name in keep for text in rules[name])
    return package + "\n\n" + hidden(text, keep={n for n in keep if n.startswith(_ENTRIES)})


_ENTRIES = ("order_", "num_")
"""The functions policies call, by the prefix of their names."""
_HEADS = re.compile(r"^([a-z_][a-z0-9_]*)\(", re.MULTILINE)


def hidden(module: str, *, keep: Iterable[str]) -> str:
    """``module`` with each function it defines but those in ``keep`` renamed ``agento_<name>``
    (`module` takes either name in ``used``).
    rego-cpp resolves a call by the function's name across packages: a policy's own ``short(x)``
    made a generated module's ``short(a, b)`` fail to compile, and a ``short(a, b)`` answered
    for it (``short(2, 3) > 1`` was 2)."""
    names = set(_HEADS.findall(module)) - set(keep)
    if not names:
        return module
    calls = re.compile(rf"(?<![.\w])({'|'.join(sorted(names))})\(")
    return calls.sub(rf"{_HIDDEN}\1(", module)


_HIDDEN = "agento_"
"""What `hidden` puts before a name; another module calls such a function by that name."""


def call_sites() -> dict[str, list[str]]:
    """The module's functions each rule's definitions call, once per call site: what rego-cpp
    copies under ``with``, which the tests bound."""
    _, rules = _rules()
    return {
        name: [
            w for text in texts for w in re.findall(r"\b(\w+)\(", text) if w in rules and w != name
        ]
        for name, texts in rules.items()
    }
