# The seed's BESS routing policy, unchanged but for OPA 1.x syntax (`reason contains ...` where
# the seed wrote `reason[...]`) and one name: the seed's `results_within_tolerance` is
# `results_within_tolerance` here, because OPA's test runner takes every rule named `test_*`
# for a test. Owned by the customer's compliance team.

package agento.commissioning.routing

default allow := false

allow if {
    no_open_punch_items
    results_within_tolerance
}

no_open_punch_items if {
    count(input.procore.punch_items_open_bess) == 0
}

results_within_tolerance if {
    every result in input.test_results {
        spec := input.protection_settings_schedule[result.parameter]
        abs(result.value - spec.expected) <= spec.tolerance
    }
}

reason contains "punch items still open" if {
    not no_open_punch_items
}

reason contains "test result outside tolerance" if {
    not results_within_tolerance
}
