package {PACKAGE}

# Generated into every bundle the embedded engine loads (agento/_policy/numbers.py), with only
# the rules its policies reach. Policies call the entries (order_*, num_*) for comparisons and
# arithmetic, so that rego-cpp answers as OPA v1 does; entries call only leaves, and leaves no
# function of this module (`@NAME` lines are written out by numbers.py). Within it the operators
# are rego-cpp's own, used only where they are exact: on the integers it holds (digit strings),
# on strings, and on small integers.

# ----------------------------------------------------------------------- ordering of values

ranks := {"null": 0, "boolean": 1, "number": 2, "string": 3, "array": 4, "object": 5, "set": 6}

order_lt(a, b) := c if {
	numbers.range(a, a)
	numbers.range(b, b)
	c := a < b
} else := c if {
	short(a, b)
	c := a < b
} else := c if {
	is_number(a)
	is_number(b)
	c := cmp(a, b) < 0
} else := c if {
	type_name(a) == type_name(b)
	not is_number(a)
	c := a < b
} else := c if {
	type_name(a) != type_name(b)
	c := ranks[type_name(a)] < ranks[type_name(b)]
}

order_lte(a, b) := c if {
	numbers.range(a, a)
	numbers.range(b, b)
	c := a <= b
} else := c if {
	short(a, b)
	c := a <= b
} else := c if {
	is_number(a)
	is_number(b)
	c := cmp(a, b) <= 0
} else := c if {
	type_name(a) == type_name(b)
	not is_number(a)
	c := a <= b
} else := c if {
	type_name(a) != type_name(b)
	c := ranks[type_name(a)] <= ranks[type_name(b)]
}

order_gt(a, b) := c if {
	numbers.range(a, a)
	numbers.range(b, b)
	c := a > b
} else := c if {
	short(a, b)
	c := a > b
} else := c if {
	is_number(a)
	is_number(b)
	c := cmp(a, b) > 0
} else := c if {
	type_name(a) == type_name(b)
	not is_number(a)
	c := a > b
} else := c if {
	type_name(a) != type_name(b)
	c := ranks[type_name(a)] > ranks[type_name(b)]
}

order_gte(a, b) := c if {
	numbers.range(a, a)
	numbers.range(b, b)
	c := a >= b
} else := c if {
	short(a, b)
	c := a >= b
} else := c if {
	is_number(a)
	is_number(b)
	c := cmp(a, b) >= 0
} else := c if {
	type_name(a) == type_name(b)
	not is_number(a)
	c := a >= b
} else := c if {
	type_name(a) != type_name(b)
	c := ranks[type_name(a)] >= ranks[type_name(b)]
}

order_eq(a, b) := c if {
	numbers.range(a, a)
	numbers.range(b, b)
	c := a == b
} else := c if {
	short(a, b)
	c := a == b
} else := c if {
	is_number(a)
	is_number(b)
	c := cmp(a, b) == 0
} else := c if {
	not is_number(a)
	c := a == b
} else := c if {
	not is_number(b)
	c := a == b
}

order_neq(a, b) := c if {
	numbers.range(a, a)
	numbers.range(b, b)
	c := a != b
} else := c if {
	short(a, b)
	c := a != b
} else := c if {
	is_number(a)
	is_number(b)
	c := cmp(a, b) != 0
} else := c if {
	not is_number(a)
	c := a != b
} else := c if {
	not is_number(b)
	c := a != b
}

# Two numbers of at most 15 digits written without an exponent: exact as doubles, which
# rego-cpp compares.
short(a, b) if {
	is_number(a)
	is_number(b)
	ta := json.marshal(a)
	tb := json.marshal(b)
	count(trim_prefix(ta, "-")) <= 15
	count(trim_prefix(tb, "-")) <= 15
	not contains(lower(ta), "e")
	not contains(lower(tb), "e")
}

# -1, 0 or 1 as number a is below, equal to or above number b, by their exact values.
cmp(a, b) := c if {
	@DEC da = json.marshal(a)
	@DEC db = json.marshal(b)
	@CMP c = da, db
}

# ----------------------------------------------------------------------- leaves

# A number's exact value from its text: [negative, position, digits] for 0.digits x
# 10^position, the digits without leading or trailing zeros ("" for zero).
dec(x) := d if {
	@DEC d = json.marshal(x)
}

dec_text(t) := d if {
	@DEC d = t
}

# The integer an integral decimal is, among rego-cpp's exact integers.
exact_int(d) := v if {
	dd := d
	z := dd[2] == ""
	v_all := array.concat([0 | z], [s |
		not z
		u := units.parse(concat("", [dd[2], substring("{ZEROS}", 0, dd[1] - count(dd[2]))]))
		s := u * (1 - (2 * to_number(dd[0])))
	])
	v := v_all[0]
}

# A float as Go's big.Float holds it: [m, e] for m x 2^e, with 2^(P-1) <= |m| < 2^P for P
# bits of mantissa; zero is [0, 0], a negative zero [0, 1].
from_dec(d, P) := r if {
	@FROM_DEC r = d, P
}

badd(a, b) := r if {
	@BADD r = a, b
}

bmul(a, b, P) := r if {
	@BMUL r = a, b, P
}

# A quotient at 64 bits of nonzero b: the integer quotient of |a| x 2^66 by |b| in two
# stages of a double's estimate, each corrected by the exact remainder.
bdiv(a, b) := r if {
	aa := a
	bb := b
	z := to_number(aa[0] == 0)
	na := to_number(aa[0] < 0) + (to_number(aa[0] == 0) * aa[1])
	nb := to_number(bb[0] < 0)
	x := (abs(aa[0]) + (z * 9223372036854775808)) * 73786976294838206464
	y := abs(bb[0])
	xs := sprintf("%v", [x])
	k := (count(xs) - count(sprintf("%v", [y]))) - 14
	k >= 0
	xt := units.parse(substring(xs, 0, count(xs) - k))
	q1e := floor(xt / y)
	r1e := xt - (q1e * y)
	q1 := (q1e - to_number(r1e < 0)) + to_number(r1e >= y)
	r1 := (r1e + (y * to_number(r1e < 0))) - (y * to_number(r1e >= y))
	lt := trim_left(concat("", [sprintf("%v", [r1]), substring(xs, count(xs) - k, k)]), "0")
	x2 := units.parse(concat("", [lt, substring("0", 0, to_number(lt == ""))]))
	q2e := floor(x2 / y)
	r2e := x2 - (q2e * y)
	q2 := (q2e - to_number(r2e < 0)) + to_number(r2e >= y)
	r2 := (r2e + (y * to_number(r2e < 0))) - (y * to_number(r2e >= y))
	q := (q1 * units.parse(concat("", ["1", substring("{ZEROS}", 0, k)]))) + q2
	@ROUND_BIN rq = (2 * q) + to_number(r2 != 0), (aa[1] - bb[1]) - 67, 64
	r := [[rq[0] * (1 - (2 * to_number(na != nb))), rq[1]], [0, to_number(na != nb)]][z]
}

# The truncated remainder of two integers, b nonzero (Go's %, big.Int.Rem): the dividend's
# sign. The quotient comes a double's estimate at a time, 14 digits a stage.
irem(a, b) := r if {
	aa := a
	bb := b
	x := abs(aa)
	y := abs(bb)
	ys := sprintf("%v", [y])
	s0 := sprintf("%v", [x])
	# Each stage divides as doubles do: beyond them, fail.
	too_long := (to_number(count(ys) > 294) * to_number(count(s0) > 308)) + to_number(count(s0) > count(ys) + 308)
	beyond := [v | (too_long + to_number(y >= {FLOAT64_OVERFLOW})) > 0; v := {FAIL}]
	count(beyond) == 0
	@STAGE x1 = s0, y, ys
	@STAGE x2 = x1, y, ys
	@STAGE x3 = x2, y, ys
	@STAGE x4 = x3, y, ys
	@STAGE x5 = x4, y, ys
	@STAGE x6 = x5, y, ys
	@STAGE x7 = x6, y, ys
	@STAGE x8 = x7, y, ys
	@STAGE x9 = x8, y, ys
	@STAGE x10 = x9, y, ys
	@STAGE x11 = x10, y, ys
	@STAGE x12 = x11, y, ys
	@STAGE x13 = x12, y, ys
	@STAGE x14 = x13, y, ys
	@STAGE x15 = x14, y, ys
	@STAGE x16 = x15, y, ys
	@STAGE x17 = x16, y, ys
	@STAGE x18 = x17, y, ys
	@STAGE x19 = x18, y, ys
	@STAGE x20 = x19, y, ys
	@STAGE x21 = x20, y, ys
	@STAGE x22 = x21, y, ys
	m := units.parse(x22)
	m < y
	r := m * (1 - (2 * to_number(aa < 0)))
}

# [the integer toward zero, whether it is exact] of a binary float.
trunc_bits(b) := r if {
	bb := b
	z := to_number(bb[0] == 0)
	m := abs(bb[0]) + z
	up := [x |
		bb[1] >= 0
		@POW2 p = bb[1]
		x := [m * p, true]
	]
	dn := [x |
		bb[1] < 0
		k := 0 - bb[1]
		@POW5 f = k
		s := sprintf("%v", [m * f])
		n := count(s)
		w := n - k
		ip := substring(s, 0, w * to_number(w > 0))
		whole := units.parse(concat("", [ip, substring("0", 0, to_number(ip == ""))]))
		tail := substring(s, w * to_number(w > 0), n)
		x := [whole, trim_left(tail, "0") == ""]
	]
	t_all := array.concat(up, dn)
	t := t_all[0]
	r := [(t[0] * (1 - (2 * to_number(bb[0] < 0)))) * (1 - z), t[1]]
}

# Whether number a is below number b: the order of a set's numbers.
num_less(a, b) if {
	@DEC da = json.marshal(a)
	@DEC db = json.marshal(b)
	@CMP c = da, db
	c < 0
}

# One step of a left fold: the sum at 64 bits, or the product at 53 (OPA's product starts
# from big.NewFloat(1)).
fold_step(op, s, bs, i) := r if {
	ss := s
	inb := i < count(bs)
	x_all := array.concat(array.slice(bs, i, i + 1), [[0, 0]])
	x := x_all[0]
	add := [v |
		inb
		op == "+"
		@BADD v = ss, x
	]
	mul := [v |
		inb
		op == "*"
		@BMUL v = ss, x, 53
	]
	r_all := array.concat(array.concat(add, mul), [ss])
	r := r_all[0]
}

# A float as OPA prints it: big.Float.Text('g', -1), or 'f' for an integer value. Go's
# roundShortest compares v's digits, by index, with those of the bounds half an ulp away: v,
# v - f and v + f here, all written at one scale, 10^-k, the point after x digits.
text(b, P) := s if {
	bb := b
	z := to_number(bb[0] == 0)
	m := abs(bb[0]) + z
	e := bb[1] * (1 - z)
	k := (1 - e) * to_number(e < 1)
	@POW5 f5 = k
	@POW2 f2 = (e - 1) * to_number(e >= 1)
	f := [f5, f2][to_number(k == 0)]
	v := (2 * m) * f
	vs := sprintf("%v", [v])
	ls := sprintf("%v", [v - f])
	us := sprintf("%v", [v + f])
	n := count(vs)
	x := n - k
	mant := trim_right(vs, "0")
	nt := count(mant)
	ms := sprintf("%v", [m])
	incl := to_number(substring(ms, count(ms) - 1, 1) in {"0", "2", "4", "6", "8"})
	# How many leading digits v shares with v - f and v + f: the sum changes v's last j
	# digits, and a borrow runs through zeros above them (a carry through nines).
	j := count(sprintf("%v", [f]))
	bt := trim_left(substring(vs, n - j, j), "0")
	block := units.parse(concat("", [bt, substring("0", 0, to_number(bt == ""))]))
	zrun := count(trim_right(substring(vs, 0, n - j), "0")) - 1
	nrun := count(trim_right(substring(vs, 0, n - j), "9")) - 1
	dla := ((n - j) * to_number(block >= f)) + ((zrun * to_number(zrun > 0)) * to_number(block < f))
	dl := dla * to_number(count(ls) == n)
	ten := units.parse(concat("", ["1", substring("{ZEROS}", 0, j)]))
	dua := ((n - j) * to_number((block + f) < ten)) + ((nrun * to_number(nrun > 0)) * to_number((block + f) >= ten))
	du := dua * to_number(count(us) == n)
	ltn := count(trim_right(ls, "0"))
	utn := count(trim_right(us, "0"))
	idown := dl + ((((ltn - 1) - dl) * to_number((ltn - 1) < dl)) * incl)
	uok := to_number(((incl + to_number((indexof("0123456789", substring(vs, du, 1)) + 1) < indexof("0123456789", substring(us, du, 1)))) + to_number((du + 1) < utn)) > 0)
	iup := du + ((nt - du) * (1 - (to_number(du < nt) * uok)))
	i := idown + ((iup - idown) * to_number(iup < idown))
	dok := to_number((to_number(substring(ls, i, 1) != substring(vs, i, 1)) + (incl * to_number((i + 1) == ltn))) > 0)
	ui := to_number(substring(vs, i, 1) != substring(us, i, 1)) * to_number(((incl + to_number((indexof("0123456789", substring(vs, i, 1)) + 1) < indexof("0123456789", substring(us, i, 1)))) + to_number((i + 1) < utn)) > 0)
	nn := i + 1
	pre := substring(mant, 0, nn)
	down := [trim_right(pre, "0"), x]
	p9 := trim_right(pre, "9")
	upd_all := array.concat([[u, x] |
		p9 != ""
		u := concat("", [substring(p9, 0, count(p9) - 1), substring("123456789", indexof("0123456789", substring(p9, count(p9) - 1, 1)), 1)])
	], [["1", x + 1] | p9 == ""])
	upd := upd_all[0]
	c := substring(mant, nn, 1)
	odd := to_number(substring(mant, nn - 1, 1) in {"1", "3", "5", "7", "9"})
	hu := to_number(((to_number(c > "5") + (to_number(c == "5") * to_number((nn + 1) < nt))) + (to_number(c == "5") * ((to_number((nn + 1) == nt) * to_number(nn > 0)) * odd))) > 0)
	none := to_number(i >= nt)
	go_up := (1 - none) * ((1 - dok) + ((dok * ui) * hu))
	go_down := (1 - none) * (dok * (1 - (ui * hu)))
	d := [[mant, x], down, upd][go_down + (2 * go_up)]
	# Go's %g for the shortest digits (the exponent form below 1e-4 and from 1e6), %f for an
	# integer value.
	dm := d[0]
	dx := d[1]
	whole := to_number(nt <= x)
	ex := dx - 1
	fe := to_number((to_number(ex < -4) + to_number(ex >= 6)) > 0)
	intd := to_number(count(dm) <= dx)
	lead := to_number(dx <= 0)
	pad := (dx - count(dm)) * to_number(dx > count(dm))
	fint := concat("", [dm, substring("{ZEROS}", 0, pad)])
	fr := substring(dm, 1, count(dm) - 1)
	ea := abs(ex)
	efrm := concat("", [substring(dm, 0, 1), substring(".", 0, to_number(fr != "")), fr, "e", substring("+-", to_number(ex < 0), 1), substring("0", 0, to_number(ea < 10)), format_int(ea, 10)])
	small := concat("", ["0.", substring("{ZEROS}", 0, (0 - dx) * lead), dm])
	dxp := dx * (1 - lead)
	point := concat("", [substring(dm, 0, dxp), ".", substring(dm, dxp, count(dm) - dxp)])
	form := (1 - whole) * ((fe * 1) + ((1 - fe) * ((1 - intd) * ((2 * lead) + (3 * (1 - lead))))))
	body := [fint, efrm, small, point][form]
	s := [concat("", [substring("-", 0, to_number(bb[0] < 0)), body]), substring("-0", 1 - to_number(bb[1] == 1), 2)][z]
}

# ----------------------------------------------------------------------- arithmetic

num_add(a, b) := c if {
	numbers.range(a, a)
	numbers.range(b, b)
	c := a + b
} else := c if {
	is_number(a)
	is_number(b)
	da := dec(a)
	db := dec(b)
	ints := to_number((to_number(da[2] == "") + to_number(da[1] >= count(da[2]))) > 0) * to_number((to_number(db[2] == "") + to_number(db[1] >= count(db[2]))) > 0)
	c_all := array.concat([v | ints == 1; v := exact_int(da) + exact_int(db)], [v |
		ints == 0
		v := units.parse(text(badd(from_dec(da, 64), from_dec(db, 64)), 64))
	])
	c := c_all[0]
} else := c if {
	not is_number(a)
	c := a + b
} else := c if {
	not is_number(b)
	c := a + b
}

num_sub(a, b) := c if {
	numbers.range(a, a)
	numbers.range(b, b)
	c := a - b
} else := c if {
	is_number(a)
	is_number(b)
	da := dec(a)
	db := dec(b)
	ints := to_number((to_number(da[2] == "") + to_number(da[1] >= count(da[2]))) > 0) * to_number((to_number(db[2] == "") + to_number(db[1] >= count(db[2]))) > 0)
	c_all := array.concat([v | ints == 1; v := exact_int(da) - exact_int(db)], [v |
		ints == 0
		xb := from_dec(db, 64)
		nb := [0 - xb[0], xb[1] + (to_number(xb[0] == 0) * (1 - (2 * xb[1])))]
		v := units.parse(text(badd(from_dec(da, 64), nb), 64))
	])
	c := c_all[0]
} else := c if {
	not is_number(a)
	c := a - b
} else := c if {
	not is_number(b)
	c := a - b
}

# OPA computes `-x` as `0 - x`.
num_neg(x) := c if {
	numbers.range(x, x)
	c := 0 - x
} else := c if {
	is_number(x)
	db := dec(x)
	ints := to_number((to_number(db[2] == "") + to_number(db[1] >= count(db[2]))) > 0)
	c_all := array.concat([v | ints == 1; v := 0 - exact_int(db)], [v |
		ints == 0
		xb := from_dec(db, 64)
		nb := [0 - xb[0], xb[1] + (to_number(xb[0] == 0) * (1 - (2 * xb[1])))]
		v := units.parse(text(badd([0, 0], nb), 64))
	])
	c := c_all[0]
} else := c if {
	not is_number(x)
	c := 0 - x
}

num_mul(a, b) := c if {
	numbers.range(a, a)
	numbers.range(b, b)
	c := a * b
} else := c if {
	is_number(a)
	is_number(b)
	da := dec(a)
	db := dec(b)
	ints := to_number((to_number(da[2] == "") + to_number(da[1] >= count(da[2]))) > 0) * to_number((to_number(db[2] == "") + to_number(db[1] >= count(db[2]))) > 0)
	c_all := array.concat([v | ints == 1; v := exact_int(da) * exact_int(db)], [v |
		ints == 0
		v := units.parse(text(bmul(from_dec(da, 64), from_dec(db, 64), 64), 64))
	])
	c := c_all[0]
} else := c if {
	not is_number(a)
	c := a * b
} else := c if {
	not is_number(b)
	c := a * b
}

# OPA: integers in Go's int32 window that divide exactly give an integer, anything else a
# float; a zero divisor is undefined, as OPA's error is without strict errors.
num_div(a, b) := c if {
	numbers.range(a, a)
	numbers.range(b, b)
	a >= -2147483648
	a <= 2147483647
	b >= -2147483648
	b <= 2147483647
	a != 0
	b != 0
	irem(a, b) == 0
	c := round(a / b)
} else := c if {
	is_number(a)
	is_number(b)
	xb := from_dec(dec(b), 64)
	xb[0] != 0
	c := units.parse(text(bdiv(from_dec(dec(a), 64), xb), 64))
} else := c if {
	not is_number(a)
	c := a / b
} else := c if {
	not is_number(b)
	c := a / b
}

# Integers only (2.0 is one); undefined for a float or a zero divisor, as OPA's error is.
num_rem(a, b) := c if {
	is_number(a)
	is_number(b)
	da := dec(a)
	db := dec(b)
	da[2] == ""
	db[2] != ""
	db[1] >= count(db[2])
	c := 0
} else := c if {
	is_number(a)
	is_number(b)
	da := dec(a)
	db := dec(b)
	da[1] >= count(da[2])
	db[2] != ""
	db[1] >= count(db[2])
	c := irem(exact_int(da), exact_int(db))
} else := c if {
	not is_number(a)
	c := a % b
} else := c if {
	not is_number(b)
	c := a % b
}

# ----------------------------------------------------------------------- built-ins

# OPA's abs, round, ceil and floor keep an integer in the int32 window and take any other
# number as a float at 64 bits.
num_abs(x) := c if {
	numbers.range(x, x)
	x >= -2147483648
	x <= 2147483647
	c := abs(x)
} else := c if {
	is_number(x)
	xb := from_dec(dec(x), 64)
	c := units.parse(text([abs(xb[0]), xb[1] * to_number(xb[0] != 0)], 64))
} else := c if {
	not is_number(x)
	c := abs(x)
}

num_round(x) := c if {
	numbers.range(x, x)
	x >= -2147483648
	x <= 2147483647
	c := x
} else := c if {
	is_number(x)
	xb := from_dec(dec(x), 64)
	neg := to_number(xb[0] < 0) + (to_number(xb[0] == 0) * xb[1])
	c := trunc_bits(badd(xb, [9223372036854775808 * (1 - (2 * neg)), -64]))[0]
} else := c if {
	not is_number(x)
	c := round(x)
}

# Go's arithFloor and arithCeil: truncate, then step unless exact. A truncation to zero keeps
# no sign, so floor(-0.5) is 0 and ceil(-0.5) is 1 in OPA, and here.
num_floor(x) := c if {
	numbers.range(x, x)
	x >= -2147483648
	x <= 2147483647
	c := x
} else := c if {
	is_number(x)
	t := trunc_bits(from_dec(dec(x), 64))
	c := t[0] - (to_number(t[0] < 0) * to_number(t[1] == false))
} else := c if {
	not is_number(x)
	c := floor(x)
}

num_ceil(x) := c if {
	numbers.range(x, x)
	x >= -2147483648
	x <= 2147483647
	c := x
} else := c if {
	is_number(x)
	t := trunc_bits(from_dec(dec(x), 64))
	c := t[0] + (to_number(t[0] >= 0) * to_number(t[1] == false))
} else := c if {
	not is_number(x)
	c := ceil(x)
}

# A collection's numbers in the order OPA iterates them: arrays in order, sets by value.
in_order(xs) := ys if {
	is_array(xs)
	ys := [x | some x in xs]
} else := ys if {
	is_set(xs)
	ys := [x | some i in numbers.range(0, count(xs) - 1); some x in xs; count([y | some y in xs; num_less(y, x)]) == i]
}

num_sum(xs) := s if {
	collection(xs)
	count([x | some x in xs; not numbers.range(x, x)]) == 0
	s := sum(xs)
} else := s if {
	collection(xs)
	count([x | some x in xs; not is_number(x)]) == 0
	ds := [dec(x) | some x in in_order(xs)]
	ints := count([d | some d in ds; d[2] != ""; d[1] < count(d[2])]) == 0
	s_all := array.concat([v | ints; v := sum([exact_int(d) | some d in ds])], [v |
		not ints
		v := units.parse(text(fold("+", [0, 0], [from_dec(d, 64) | some d in ds]), 64))
	])
	s := s_all[0]
} else := s if {
	not collection(xs)
	s := sum(xs)
}

num_product(xs) := s if {
	collection(xs)
	count([x | some x in xs; not numbers.range(x, x)]) == 0
	s := product(xs)
} else := s if {
	collection(xs)
	count([x | some x in xs; not is_number(x)]) == 0
	ds := [dec(x) | some x in in_order(xs)]
	ints := count([d | some d in ds; d[2] != ""; d[1] < count(d[2])]) == 0
	s_all := array.concat([v | ints; v := product([exact_int(d) | some d in ds])], [v |
		not ints
		v := units.parse(text(fold("*", [4503599627370496, -52], [from_dec(d, 64) | some d in ds]), 53))
	])
	s := s_all[0]
} else := s if {
	not collection(xs)
	s := product(xs)
}

collection(xs) if is_array(xs)

collection(xs) if is_set(xs)

# A number's text as OPA's to_number keeps it: JSON's number syntax, within float64's range.
num_to_number(x) := c if {
	is_string(x)
	regex.match(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`, x)
	d := dec_text(x)
	d[2] == ""
	c := units.parse(x)
} else := c if {
	is_string(x)
	regex.match(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`, x)
	d := dec_text(x)
	o := dec_text("{FLOAT64_OVERFLOW}")
	d[2] != ""
	below_overflow(d, o)
	c := units.parse(x)
} else := c if {
	not is_string(x)
	c := to_number(x)
}

below_overflow(d, o) if {
	dd := d
	oo := o
	@CMP c = [false, dd[1], dd[2]], oo
	c < 0
}
