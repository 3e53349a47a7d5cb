# The seed's tolerance rule: each measurement within its specification.
package corpus.tolerance

default allow := false

allow if {
	count(input.results) > 0
	every r in input.results {
		spec := data.specs[r.parameter]
		abs(r.value - spec.expected) <= spec.tolerance
	}
}

outside contains r.parameter if {
	some r in input.results
	spec := data.specs[r.parameter]
	abs(r.value - spec.expected) > spec.tolerance
}
