# The seed's routing table, as tests: `agento policy test examples/commissioning/policy` (or
# `opa test` on the same directory). Two habits keep them right on the embedded engine as well as
# on OPA: replace the input's fields one by one (`with input as {...}` is refused: rego-cpp
# cannot compile it), and bind a `with` value to a local first (rego-cpp reads a rule named
# directly after `as` as undefined).

package agento.commissioning.routing_test

import data.agento.commissioning.routing

schedule := {"overcurrent_pickup": {"expected": 1.2, "tolerance": 0.05}}

within := [{"parameter": "overcurrent_pickup", "value": 1.22}]

outside := [{"parameter": "overcurrent_pickup", "value": 1.4}]

decide(punch_items, results) := decision if {
	spec := schedule
	decision := routing with input.procore as {"punch_items_open_bess": punch_items}
		with input.test_results as results
		with input.protection_settings_schedule as spec
}

test_clean_commissioning_is_allowed if {
	results := within
	decision := decide([], results)
	decision.allow
	decision.reason == set()
}

test_open_punch_items_are_denied if {
	results := within
	decision := decide(["PI-17"], results)
	not decision.allow
	decision.reason == {"punch items still open"}
}

test_a_result_outside_tolerance_is_denied if {
	results := outside
	decision := decide([], results)
	not decision.allow
	decision.reason == {"test result outside tolerance"}
}

test_both_problems_are_both_reasons if {
	results := outside
	decision := decide(["PI-17", "PI-18"], results)
	not decision.allow
	decision.reason == {"punch items still open", "test result outside tolerance"}
}
