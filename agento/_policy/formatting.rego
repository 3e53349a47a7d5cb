package {PACKAGE}

# Generated into every bundle whose policies call sprintf, format_int, a bits built-in,
# hex.encode or a urlquery built-in (agento/_policy/formatting.py). Each entry gives OPA
# v1.20.2's answer, or fails the evaluation where it cannot: never another answer.
#
# Under `with` (a policy test), rego-cpp compiles a copy of every function an entry reaches for
# each place it is called, recursively; so each function here is called from one place, and
# the helpers are few (tests/policy/test_formatting.py bounds the copies).

# sprintf: OPA hands Go's fmt each value as an int64, a *big.Int, a float64 or a string, by
# the number's text, and everything that is not a number or a string as its Rego text.
sprintf_of(f, values) := s if {
	plain(f, values)
	s := sprintf(f, values)
} else := s if {
	s := formatted(f, values)
} else := {FAIL}

# Plain %s and %v of strings, %d and %v of integers below 10^9, one each: what rego-cpp
# writes as Go does.
plain(f, values) if {
	is_string(f)
	is_array(values)
	verbs := [v | some v in regex.find_n(`%[^a-zA-Z%]*[a-zA-Z%]?`, f, -1); v != "%%"]
	count(verbs) == count(values)
	count([i | some i; v := verbs[i]; not native(v, values[i])]) == 0
}

native(verb, x) if {
	verb in {"%s", "%v"}
	is_string(x)
}

native(verb, x) if {
	verb in {"%d", "%v"}
	is_number(x)
	regex.match(`^-?[0-9]{1,9}$`, json.marshal(x))
}

# The format's verbs, each with the value it takes, then %v of each value none took (Go's
# %!(EXTRA type=value, ...)); a verb is [verb, flags, width, .precision, letter].
formatted(f, values) := s if {
	is_string(f)
	is_array(values)
	specs := regex.find_all_string_submatch_n(`%([-+# 0]*)([0-9]*)(\.[0-9]*)?([a-zA-Z%])`, f, -1)
	texts := regex.split(`%[-+# 0]*[0-9]*(?:\.[0-9]*)?[a-zA-Z%]`, f)
	count(texts) == count(specs) + 1
	# rego-cpp's cost grows faster than the pieces: at most 32 verbs and 64 values.
	count(specs) <= 32
	count(values) <= 64
	# An argument index (%[1]d), a star (%*d) or a lone %: not written here.
	count([t | some t in texts; contains(t, "%")]) == 0
	taken := [n | some i; specs[i]; n := count([j | some j; specs[j]; j < i; specs[j][4] != "%"])]
	used := count([sp | some sp in specs; sp[4] != "%"])
	rest := [n | some n in numbers.range(used, count(values) - 1); n >= used; n < count(values)]
	jobs := array.concat([job | some i; specs[i]; job := [specs[i], taken[i]]], [job | some n in rest; job := [["%v", "", "", "", "v"], n]])
	done := [p | some job in jobs; p := piece(job[0], job[1], values)]
	count(done) == count(jobs)
	parts := [t | some i; specs[i]; t := concat("", [texts[i], done[i][1]])]
	extra := [t | some p in array.slice(done, count(specs), count(done)); t := concat("=", [object.get({"big.Int": "*big.Int"}, p[0], p[0]), p[1]])]
	tail := [t | count(extra) > 0; t := concat("", ["%!(EXTRA ", concat(", ", extra), ")"])]
	s := concat("", array.concat(array.concat(parts, [texts[count(specs)]]), tail))
}

# One verb's [Go type, text].
piece(spec, n, values) := ["", "%"] if {
	spec[0] == "%%"
} else := ["", concat("", ["%!", spec[4], "(MISSING)"])] if {
	spec[4] != "%"
	n >= count(values)
} else := [g[0], s] if {
	spec[4] != "%"
	g := go_value(values[n])
	s := verb(spec, g)
}

# A value as OPA hands it to Go: [type, text]. A number's text that is an integer is an int64
# or a *big.Int, with a point a float64 (zeros only past the point: an integer), an exponent
# without a point a string.
go_value(v) := ["string", v] if {
	is_string(v)
} else := ["string", json.marshal(v)] if {
	type_name(v) in {"null", "boolean"}
} else := ["string", t] if {
	not is_number(v)
	t := collection_text(v)
} else := ["int64", t] if {
	t := json.marshal(v)
	regex.match(`^-?[0-9]+$`, t)
	int64(t)
} else := ["big.Int", t] if {
	t := json.marshal(v)
	regex.match(`^-?[0-9]+$`, t)
} else := ["int64", i] if {
	t := json.marshal(v)
	regex.match(`^-?[0-9]+\.0+$`, t)
	whole := split(t, ".")[0]
	int64(whole)
	zero := trim_left(whole, "-0") == ""
	i := [whole, "0"][to_number(zero)]
} else := ["float64", t] if {
	t := json.marshal(v)
	regex.match(`^-?[0-9]+\.([0-9]*[1-9][0-9]*|[0-9]+[eE][-+]?[0-9]+)$`, t)
} else := ["string", t] if {
	t := json.marshal(v)
	regex.match(`^-?[0-9]+[eE][-+]?[0-9]+$`, t)
}

int64(t) if count(trim_prefix(t, "-")) < 19

int64(t) if {
	count(trim_prefix(t, "-")) == 19
	trim_prefix(t, "-") <= ["9223372036854775807", "9223372036854775808"][to_number(startswith(t, "-"))]
}

# A collection as OPA writes it (its Rego text), where rego-cpp writes it alike: integers of
# 64 bits and string keys only (other numbers it writes as doubles, number keys as strings).
# An array or an object of other numbers is written element by element, a number by its text.
# rego-cpp's text of a string is Go's where it is printable ASCII (escapes as written).
collection_text(c) := t if {
	t := collection_parts(c)
	regex.match(`^[ -~]*$`, t)
	not regex.match(`\\u`, t)
}

collection_parts(c) := sprintf("%v", [c]) if {
	integers_only(c)
} else := concat("", ["[", concat(", ", parts), "]"]) if {
	is_array(c)
	parts := [t | some x in c; t := element_text(x)]
	count(parts) == count(c)
} else := concat("", ["{", concat(", ", parts), "}"]) if {
	is_object(c)
	count([k | some k in object.keys(c); not is_string(k)]) == 0
	pairs := [pair | some k in sort(object.keys(c)); pair := [k, c[k]]]
	texts := [t | some pair in pairs; some x in pair; t := element_text(x)]
	count(texts) == 2 * count(pairs)
	parts := [t | some i; pairs[i]; t := concat(": ", [texts[2 * i], texts[(2 * i) + 1]])]
}

integers_only(c) if {
	nodes := [v | walk(c, [_, v])]
	count([x | some x in nodes; is_number(x); not regex.match(`^-?[0-9]{1,18}$`, json.marshal(x))]) == 0
	count([k | some x in nodes; is_object(x); some k in object.keys(x); not is_string(k)]) == 0
}

element_text(x) := json.marshal(x) if {
	is_number(x)
} else := substring(t, 1, count(t) - 2) if {
	integers_only(x)
	t := sprintf("%v", [[x]])
}

# One verb of one value (g): the value under %v or its type's own verb for it, framed as Go
# frames a verb of another type (%!d(float64=1.5)); else the verbs written on their own.
verb(spec, g) := s if {
	not own(g[0], spec[4])
	as_v := [concat("", ["%", spec[1], spec[2], spec[3], "v"]), spec[1], spec[2], spec[3], "v"]
	n := count([x | natural(g[0], spec[4]); x := 1])
	t := value_text([as_v, spec][n], g)
	s := [concat("", ["%!", spec[4], "(", g[0], "=", t, ")"]), t][n]
} else := s if {
	own(g[0], spec[4])
	s := own_verb(spec, g)
}

natural(type, letter) if {
	letter in {"string": {"s", "v"}, "int64": {"d", "v", "x", "X", "o", "b"}, "big.Int": {"d", "s", "v"}, "float64": {"v", "g", "G"}}[type]
}

# The verbs each type writes its own way (c, q and U of a number are not written here).
own(type, letter) if {
	letter in {"string": {"q", "x", "X"}, "int64": {"O", "c", "q", "U"}, "float64": {"b", "x", "X", "f", "F", "e", "E"}}[type]
}

own(type, letter) if {
	type == "big.Int"
	not natural(type, letter)
}

own_verb(spec, g) := s if {
	g[0] == "string"
	spec[0] == concat("", ["%", spec[4]])
	regex.match(`^[ -~]*$`, g[1])
	not regex.match(`\\`, g[1])
	quoted := concat("", ["\"", g[1], "\""])
	hexed := hex.encode(g[1])
	s := {"q": quoted, "x": hexed, "X": upper(hexed)}[spec[4]]
} else := s if {
	g[0] == "float64"
	spec[4] in {"f", "F", "e", "E"}
	regex.match(`^[-0]*[0-9]*$`, concat("", [spec[1], spec[2]]))
	short_float(g[1])
	s := sprintf(spec[0], [to_number(g[1])])
} else := concat("", ["%!", spec[4], "(big.Int=", g[1], ")"]) if {
	g[0] == "big.Int"
	not spec[4] in {"x", "X", "o", "O", "b"}
}

# A value under %v (or its type's verb for it) with the verb's flags: a string cut to the
# precision, an integer with at least the precision's digits (none for zero at .0) and the 0
# flag then ignored, a float as its shortest digits; padded to the width, on the right under
# -, with zeros under 0 (after a number's sign; strings too, as in Go). A width and precision
# count runes, so neither is written for a string holding an escape (rego-cpp keeps those as
# written).
value_text(spec, g) := s if {
	body := value_body(spec, g)
	flags := [spec[1], replace(spec[1], "0", "")][to_number(g[0] in {"int64", "big.Int"}) * to_number(spec[3] != "")]
	regex.match(`^[-0]*$`, flags)
	w := to_number(concat("", ["0", spec[2]]))
	w <= 400
	n := (w - count(body)) * to_number(w > count(body))
	sign := substring("-", 0, to_number(g[0] != "string") * to_number(startswith(body, "-")))
	zeros := concat("", [sign, substring("{ZEROS}", 0, n), substring(body, count(sign), count(body))])
	s := [[concat("", [substring("{SPACES}", 0, n), body]), zeros][to_number(contains(flags, "0"))], concat("", [body, substring("{SPACES}", 0, n)])][to_number(contains(flags, "-"))]
}

value_body(spec, g) := s if {
	g[0] == "string"
	spec[2] == ""
	spec[3] == ""
	s := g[1]
} else := s if {
	g[0] == "string"
	not regex.match(`\\`, g[1])
	whole := spec[3] == ""
	s := substring(g[1], 0, to_number(concat("", ["0", trim_prefix(spec[3], ".")])) + (count(g[1]) * to_number(whole)))
} else := s if {
	g[0] in {"int64", "big.Int"}
	t := integer_text(spec[4], g)
	p := to_number(concat("", ["0", trim_prefix(spec[3], ".")]))
	p <= 400
	digits := trim_prefix(t, "-")
	shown := [concat("", [substring("{ZEROS}", 0, (p - count(digits)) * to_number(p > count(digits))), digits]), ""][to_number(concat("", [digits, spec[3]]) in {"0.", "0.0"})]
	s := concat("", [substring("-", 0, to_number(startswith(t, "-"))), shown])
} else := s if {
	g[0] == "float64"
	spec[3] == ""
	digits := shortest(g[1])
	big := spec[4] == "G"
	s := [digits, upper(digits)][to_number(big)]
}

# An integer in the verb's base: %x, %X, %o and %b of an int64 only.
integer_text(letter, g) := g[1] if {
	letter in {"d", "v", "s"}
} else := concat("", [substring("-", 0, to_number(startswith(g[1], "-"))), cased]) if {
	g[0] == "int64"
	g[1] != "-9223372036854775808"
	digits := unsigned(units.parse(trim_prefix(g[1], "-")), {"x": 16, "X": 16, "o": 8, "b": 2}[letter])
	big := letter == "X"
	cased := [digits, upper(digits)][to_number(big)]
}

# A non-negative integer of at most 64 bits in base 2, 8, 10 or 16 (rego-cpp's base 2 keeps
# two digits: it is written from base 8).
unsigned(n, base) := format_int(n, base) if {
	base in {8, 10, 16}
} else := s if {
	base == 2
	octal := format_int(n, 8)
	three := {"0": "000", "1": "001", "2": "010", "3": "011", "4": "100", "5": "101", "6": "110", "7": "111"}
	b := trim_left(concat("", [three[c] | some c in split(octal, "")]), "0")
	none := b == ""
	s := [b, "0"][to_number(none)]
}

# The float texts a double holds exactly as rego-cpp reads them: at most 15 significant
# digits, in the normal range.
short_float(t) if short_decimal(NUMBERS.dec_text(t))

short_decimal(d) if {
	count(d[2]) <= 15
	d[1] > -306
	d[1] < 309
}

# Go's %v of a float64: the shortest digits that read back as the same double, as an exponent
# below 1e-4 and from 1e6 on (%e's two-digit exponent), else as a decimal.
shortest(t) := concat("", [substring("-", 0, to_number(d[0])), body]) if {
	d := shortest_decimal(t)
	digits := d[2]
	x := d[1]
	ex := x - 1
	exp_form := to_number((to_number(ex < -4) + to_number(ex >= 6)) > 0)
	rest := substring(digits, 1, count(digits) - 1)
	e := concat("", [substring(digits, 0, 1), substring(".", 0, to_number(rest != "")), rest, "e", substring("+-", to_number(ex < 0), 1), substring("0", 0, to_number(abs(ex) < 10)), format_int(abs(ex), 10)])
	small := concat("", ["0.", substring("{ZEROS}", 0, (0 - x) * to_number(x < 0)), digits])
	whole := concat("", [digits, substring("{ZEROS}", 0, (x - count(digits)) * to_number(x > count(digits)))])
	at := x * to_number(x > 0)
	point := concat("", [substring(digits, 0, at), ".", substring(digits, at, count(digits))])
	decimal := [[point, whole][to_number(count(digits) <= x)], small][to_number(x <= 0)]
	body := [decimal, e][exp_form]
}

# [negative, position, digits] of the shortest decimal: a short text's own; else the numbers
# module's shortest search on the double, which takes its neighbours half an ulp away: right
# but for a power of two (but the least normal one), whose lower neighbour is nearer.
shortest_decimal(t) := decimal_digits(NUMBERS.dec_text(t))

decimal_digits(d) := d if {
	short_decimal(d)
} else := digits_of(double(d))

digits_of(b) := NUMBERS.dec_text(NUMBERS.text(b, 53)) if {
	not power_of_two_double(b)
} else := power_of_two(b)

power_of_two_double(b) if {
	abs(b[0]) == 4503599627370496
	b[1] > -1074
}

# A power of two b, 2^k with k from -1021 to -1, as Go writes its shortest decimal: the fewest
# leading digits of its exact value 5^-k x 10^k, rounded down or up, that stay within a
# quarter ulp below (the lower neighbour is nearer) and half an ulp above; the nearer when
# both do, the even one at a tie.
power_of_two(b) := shortest[0] if {
	k := b[1] + 52
	squares := {SQUARES_OF_FIVE}
	v := product([q | some i; q := squares[i]; bits.and(0 - k, bits.lsh(1, i)) != 0])
	e := sprintf("%v", [v])
	shortest := [c |
		some n in numbers.range(1, 17)
		n <= count(e)
		head := units.parse(substring(e, 0, n))
		scale := units.parse(concat("", ["1", substring("{ZEROS}", 0, count(e) - n)]))
		below := v - (head * scale)
		above := ((head + 1) * scale) - v
		down := to_number((below * 18014398509481984) <= v)
		up := to_number((above * 9007199254740992) <= v)
		(down + up) > 0
		tie := above == below
		nearer_up := to_number(above < below) + (to_number(tie) * to_number(substring(e, n - 1, 1) in {"1", "3", "5", "7", "9"}))
		go_up := up * (1 - (down * (1 - nearer_up)))
		digits := [substring(e, 0, n), sprintf("%v", [head + 1])][go_up]
		c := [b[0] < 0, (count(e) + k) + (count(digits) - n), trim_right(digits, "0")]
	]
}

# A decimal's double as [m, e] for m x 2^e: on the grid of 2^-1074 when subnormal. Not for an
# integer value of 2^52 and more (another form), nor a number out of a double's range.
double(d) := b if {
	d[1] > -324
	d[1] < 309
	normal := NUMBERS.from_dec(d, 53)
	subnormal := [grid |
		normal[1] < -1074
		p := 1127 + normal[1]
		p >= 1
		s := NUMBERS.from_dec(d, p)
		s[1] in {-1074, -1073}
		carried := s[1] == -1073
		grid := [[s[0], s[0] * 2][to_number(carried)], -1074]
	]
	b := array.concat(subnormal, [normal | normal[1] >= -1074])[0]
	b[1] < 0
}

# format_int truncates toward zero, as OPA does; rego-cpp floors a negative float and writes a
# negative integer in base 2, 8 or 16 as its two's complement.
format_int_of(x, base) := s if {
	is_number(x)
	base == 10
	s := json.marshal(x)
	regex.match(`^-?[0-9]+$`, s)
} else := s if {
	is_number(x)
	base in {2, 8, 16}
	t := json.marshal(x)
	regex.match(`^-?[0-9]+$`, t)
	int64(t)
	t != "-9223372036854775808"
	s := concat("", [substring("-", 0, to_number(x < 0)), unsigned(abs(x), base)])
} else := s if {
	is_number(x)
	base in {2, 8, 10, 16}
	short_float(json.marshal(x))
	x > -9007199254740992
	x < 9007199254740992
	n := [floor(x), floor(0 - x)][to_number(x < 0)]
	s := concat("", [substring("-", 0, to_number(n != 0) * to_number(x < 0)), unsigned(n, base)])
} else := {FAIL}

# The bits built-ins answer within 64 bits; beyond, rego-cpp wraps or answers nothing.
bits_lsh(x, s) := bits.lsh(x, s) if {
	is_number(s)
	s >= 0
	s <= 62
	abs(x) < bits.lsh(1, 62 - s)
} else := {FAIL}

bits_and(a, b) := r if {
	r := bits.and(a, b)
} else := {FAIL}

bits_or(a, b) := r if {
	r := bits.or(a, b)
} else := {FAIL}

bits_xor(a, b) := r if {
	r := bits.xor(a, b)
} else := {FAIL}

bits_rsh(x, s) := r if {
	r := bits.rsh(x, s)
} else := {FAIL}

bits_negate(x) := r if {
	r := bits.negate(x)
} else := {FAIL}

# Encodings rego-cpp writes otherwise: hex of a non-ASCII byte sign-extended (ffffffc3), and
# a space in a query as %20 where Go writes (and reads) +.
hex_encode(s) := hex.encode(s) if {
	regex.match(`^[ -~]*$`, s)
	not regex.match(`\\`, s)
} else := {FAIL}

urlquery_encode(s) := replace(urlquery.encode(s), "%20", "+")

urlquery_encode_object(o) := replace(urlquery.encode_object(o), "%20", "+")

urlquery_decode(s) := urlquery.decode(replace(s, "+", "%20"))

urlquery_decode_object(s) := urlquery.decode_object(replace(s, "+", "%20"))

