package {PACKAGE}

# Generated into every bundle whose policies call sprintf, format_int, a bits built-in,
# hex.encode or a urlquery built-in (agento/_policy/formatting.py). Each entry gives OPA v1.20.2's answer, or fails the
# evaluation where it cannot: never another answer.

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

formatted(f, values) := s if {
	is_string(f)
	is_array(values)
	specs := regex.find_all_string_submatch_n(`%([-+# 0]*)([0-9]*)(\.[0-9]*)?([a-zA-Z%])`, f, -1)
	texts := regex.split(`%[-+# 0]*[0-9]*(?:\.[0-9]*)?[a-zA-Z%]`, f)
	count(texts) == count(specs) + 1
	# An argument index (%[1]d), a star (%*d) or a lone %: not written here.
	count([t | some t in texts; contains(t, "%")]) == 0
	taken := [n | some i; specs[i]; n := count([j | some j; specs[j]; j < i; specs[j][4] != "%"])]
	pieces := [p | some i; specs[i]; p := concat("", [texts[i], piece(specs[i], taken[i], values)])]
	count(pieces) == count(specs)
	used := count([sp | some sp in specs; sp[4] != "%"])
	s := concat("", array.concat(pieces, [texts[count(specs)], extra(values, used)]))
}

piece(spec, n, values) := "%" if {
	spec[0] == "%%"
} else := concat("", ["%!", spec[4], "(MISSING)"]) if {
	spec[4] != "%"
	n >= count(values)
} else := s if {
	spec[4] != "%"
	s := verb(spec, go_value(values[n]))
}

# What Go's fmt writes after the verbs for the values none took.
extra(values, used) := "" if {
	count(values) <= used
} else := s if {
	rest := array.slice(values, used, count(values))
	shown := [t | some v in rest; g := go_value(v); t := concat("=", [go_type(g), shown_value(g)])]
	count(shown) == count(rest)
	s := concat("", ["%!(EXTRA ", concat(", ", shown), ")"])
}

go_type(g) := "*big.Int" if g[0] == "big.Int"
else := g[0]

# A value as OPA hands it to Go: [type, text].
go_value(v) := ["string", v] if {
	is_string(v)
} else := ["string", json.marshal(v)] if {
	v == null
} else := ["string", json.marshal(v)] if {
	is_boolean(v)
} else := ["string", t] if {
	not is_number(v)
	t := collection_text(v)
} else := g if {
	is_number(v)
	g := number_value(json.marshal(v))
}

# An integer's text is an int64 or a *big.Int; a text with a point (zeros only past it: an
# integer) or a point and an exponent is a float64; an exponent without a point, a string.
number_value(t) := ["int64", t] if {
	regex.match(`^-?[0-9]+$`, t)
	int64(t)
} else := ["big.Int", t] if {
	regex.match(`^-?[0-9]+$`, t)
} else := ["int64", i] if {
	regex.match(`^-?[0-9]+\.0+$`, t)
	whole := split(t, ".")[0]
	int64(whole)
	i := [whole, "0"][to_number(trim_left(whole, "-0") == "")]
} else := ["float64", t] if {
	regex.match(`^-?[0-9]+\.[0-9]*[1-9][0-9]*$`, t)
} else := ["float64", t] if {
	regex.match(`^-?[0-9]+\.[0-9]+[eE][-+]?[0-9]+$`, t)
} else := ["string", t] if {
	regex.match(`^-?[0-9]+[eE][-+]?[0-9]+$`, t)
}

int64(t) if {
	digits := trim_prefix(t, "-")
	count(digits) < 19
}

int64(t) if {
	digits := trim_prefix(t, "-")
	count(digits) == 19
	digits <= ["9223372036854775807", "9223372036854775808"][to_number(startswith(t, "-"))]
}

# A collection as OPA writes it (its Rego text), where rego-cpp writes it alike: integers of
# 64 bits and string keys only (other numbers it writes as doubles, number keys as strings).
# An array or an object of other numbers is written element by element, a number by its text.
collection_text(c) := t if {
	integers_only(c)
	t := printable(sprintf("%v", [c]))
} else := t if {
	is_array(c)
	parts := [element_text(x) | some x in c]
	count(parts) == count(c)
	t := printable(concat("", ["[", concat(", ", parts), "]"]))
} else := t if {
	is_object(c)
	count([k | some k in object.keys(c); not is_string(k)]) == 0
	parts := [concat(": ", [element_text(k), element_text(c[k])]) | some k in sort(object.keys(c))]
	count(parts) == count(c)
	t := printable(concat("", ["{", concat(", ", parts), "}"]))
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

# rego-cpp's text of a string is Go's where it is printable ASCII (escapes as written).
printable(t) := t if {
	regex.match(`^[ -~]*$`, t)
	not regex.match(`\\u`, t)
}

# One verb of one value: spec is [verb, flags, width, .precision, letter], g [type, text].
verb(spec, g) := value_text(spec, g) if {
	spec[4] in {"string": {"s", "v"}, "int64": {"d", "v"}, "big.Int": {"d", "s", "v"}, "float64": {"v", "g", "G"}}[g[0]]
} else := s if {
	g[0] == "string"
	spec[4] in {"x", "X"}
	spec[0] == concat("", ["%", spec[4]])
	regex.match(`^[ -~]*$`, g[1])
	not regex.match(`\\`, g[1])
	s := cased(spec, hex.encode(g[1]))
} else := s if {
	g[0] == "string"
	spec[4] == "q"
	spec[0] == "%q"
	regex.match(`^[ -~]*$`, g[1])
	not regex.match(`\\`, g[1])
	s := concat("", ["\"", g[1], "\""])
} else := s if {
	g[0] == "int64"
	spec[4] in {"x", "X", "o", "b"}
	spec[0] == concat("", ["%", spec[4]])
	t := g[1]
	t != "-9223372036854775808"
	digits := unsigned(units.parse(trim_prefix(t, "-")), {"x": 16, "X": 16, "o": 8, "b": 2}[spec[4]])
	s := concat("", [substring("-", 0, to_number(startswith(t, "-"))), cased(spec, digits)])
} else := s if {
	g[0] == "float64"
	spec[4] in {"f", "F", "e", "E"}
	regex.match(`^[-0]*[0-9]*$`, concat("", [spec[1], spec[2]]))
	short_float(g[1])
	s := sprintf(spec[0], [to_number(g[1])])
} else := concat("", ["%!", spec[4], "(big.Int=", g[1], ")"]) if {
	g[0] == "big.Int"
	not spec[4] in {"d", "v", "s", "x", "X", "o", "O", "b"}
} else := concat("", ["%!", spec[4], "(", g[0], "=", value_text(as_v, g), ")"]) if {
	mismatched(g[0], spec[4])
	as_v := [concat("", ["%", spec[1], spec[2], spec[3], "v"]), spec[1], spec[2], spec[3], "v"]
}

# A value under %v (or the verb that means it for its type), with the spec's flags.
value_text(spec, g) := padded(spec, truncated(spec, g[1])) if {
	g[0] == "string"
} else := integer(spec, g[1]) if {
	g[0] in {"int64", "big.Int"}
} else := number(spec, cased(spec, shortest(g[1]))) if {
	g[0] == "float64"
	spec[3] == ""
}

# The verbs Go's fmt writes as %!verb(type=value), the value as %v with the same flags (c, q
# and U of a number are not written here).
mismatched(type, letter) if {
	type == "string"
	not letter in {"s", "v", "q", "x", "X"}
}

mismatched(type, letter) if {
	type == "int64"
	not letter in {"d", "v", "b", "o", "O", "x", "X", "c", "q", "U"}
}

mismatched(type, letter) if {
	type == "float64"
	not letter in {"v", "b", "g", "G", "x", "X", "f", "F", "e", "E"}
}

shown_value(g) := shortest(g[1]) if g[0] == "float64"
else := g[1]

cased(spec, s) := upper(s) if spec[4] in {"X", "G"}
else := s

# A string cut to the precision, in runes; a width counts runes too, so neither is written for
# a string holding an escape, which rego-cpp keeps as written.
truncated(spec, s) := s if {
	spec[3] == ""
	spec[2] == ""
} else := s if {
	spec[3] == ""
	not regex.match(`\\`, s)
} else := substring(s, 0, to_number(concat("", ["0", trim_prefix(spec[3], ".")]))) if {
	not regex.match(`\\`, s)
}

# s padded to the width, on the right under -, with zeros under 0 (strings too, as in Go).
padded(spec, s) := s if {
	spec[2] == ""
	regex.match(`^[-0]*$`, spec[1])
} else := s if {
	regex.match(`^[-0]*$`, spec[1])
	to_number(spec[2]) <= count(s)
} else := concat("", [s, spaces(to_number(spec[2]) - count(s))]) if {
	to_number(spec[2]) <= 400
	regex.match(`^[-0]*$`, spec[1])
	contains(spec[1], "-")
} else := concat("", [zeros(to_number(spec[2]) - count(s)), s]) if {
	to_number(spec[2]) <= 400
	regex.match(`^0+$`, spec[1])
} else := concat("", [spaces(to_number(spec[2]) - count(s)), s]) if {
	to_number(spec[2]) <= 400
	spec[1] == ""
}

# A number padded to the width: zeros go after its sign.
number(spec, s) := padded(spec, s) if {
	not regex.match(`^0+$`, spec[1])
} else := concat("", [substring("-", 0, to_number(startswith(s, "-"))), zeros(to_number(spec[2]) - count(s)), trim_prefix(s, "-")]) if {
	spec[2] != ""
	to_number(spec[2]) <= 400
}

# An integer: the precision is its least number of digits (none for zero at precision 0),
# and with a precision the 0 flag pads with spaces.
integer(spec, t) := number(spec, t) if {
	spec[3] == ""
} else := padded([spec[0], replace(spec[1], "0", ""), spec[2], "", "d"], s) if {
	p := to_number(concat("", ["0", trim_prefix(spec[3], ".")]))
	p <= 400
	digits := trim_prefix(t, "-")
	shown := [concat("", [zeros(p - count(digits)), digits]), ""][to_number(concat("", [digits, spec[3]]) in {"0.", "0.0"})]
	s := concat("", [substring("-", 0, to_number(startswith(t, "-"))), shown])
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
	s := [b, "0"][to_number(b == "")]
}

# The float texts a double holds exactly as rego-cpp reads them: at most 15 significant
# digits, in the normal range.
short_float(t) if {
	d := NUMBERS.dec_text(t)
	count(d[2]) <= 15
	d[1] > -306
	d[1] < 309
}

# Go's %v of a float64: the shortest digits that read back as the same double, as an
# exponent below 1e-4 and from 1e6 on (%e's two-digit exponent), else as a decimal.
shortest(t) := go_g(d[0], d[2], d[1]) if {
	short_float(t)
	d := NUMBERS.dec_text(t)
} else := go_g(d[0], d[2], d[1]) if {
	b := double(NUMBERS.dec_text(t))
	d := shortest_digits(b, NUMBERS.dec_text(NUMBERS.text(b, 53)))
}

# The numbers module's shortest search takes the neighbours half an ulp away on both sides.
# A power of two's lower neighbour is nearer (a quarter ulp): the digits found may fall short
# of it, and then the shortest are the next ones up, when those alone read back.
shortest_digits(b, d) := d if {
	abs(b[0]) != 4503599627370496
} else := d if {
	NUMBERS.from_dec(d, 53) == b
} else := up if {
	up := next_up(d)
	NUMBERS.from_dec(up, 53) == b
	NUMBERS.from_dec(next_up(up), 53) != b
}

next_up(d) := [d[0], d[1] + (count(s) - count(d[2])), trim_right(s, "0")] if {
	s := sprintf("%v", [units.parse(d[2]) + 1])
}

# A decimal's double as [m, e] for m x 2^e, for the shortest search: a subnormal one on the
# grid of 2^-1074. Not for an integer value of 2^52 and more (another form), nor a number out
# of a double's range.
double(d) := b if {
	d[1] > -324
	d[1] < 309
	b := NUMBERS.from_dec(d, 53)
	b[1] >= -1074
	b[1] < 0
} else := [m, -1074] if {
	d[1] > -324
	normal := NUMBERS.from_dec(d, 53)
	normal[1] < -1074
	p := 1127 + normal[1]
	p >= 1
	b := NUMBERS.from_dec(d, p)
	b[1] in {-1074, -1073}
	m := [b[0], b[0] * 2][to_number(b[1] == -1073)]
}

go_g(negative, digits, x) := concat("", [substring("-", 0, to_number(negative)), body]) if {
	ex := x - 1
	exp_form := to_number((to_number(ex < -4) + to_number(ex >= 6)) > 0)
	rest := substring(digits, 1, count(digits) - 1)
	e := concat("", [substring(digits, 0, 1), substring(".", 0, to_number(rest != "")), rest, "e", substring("+-", to_number(ex < 0), 1), substring("0", 0, to_number(abs(ex) < 10)), format_int(abs(ex), 10)])
	small := concat("", ["0.", zeros(0 - x), digits])
	whole := concat("", [digits, zeros(x - count(digits))])
	at := x * to_number(x > 0)
	point := concat("", [substring(digits, 0, at), ".", substring(digits, at, count(digits))])
	decimal := [[point, whole][to_number(count(digits) <= x)], small][to_number(x <= 0)]
	body := [decimal, e][exp_form]
}

# n spaces or zeros, n at most 400 (callers see to it), none for n below 1.
spaces(n) := substring("{SPACES}", 0, n * to_number(n > 0))

zeros(n) := substring("{ZEROS}", 0, n * to_number(n > 0))

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
