# Spend across line items stays within budget; every item names a cost centre.
package corpus.budget

default allow := false

total := sum([item.amount | some item in input.items])

allow if {
	total <= input.budget
	every item in input.items {
		item.cost_centre in data.cost_centres
	}
}

reason contains sprintf("total %v exceeds budget %v", [total, input.budget]) if total > input.budget

reason contains sprintf("item %d has an unknown cost centre", [i]) if {
	some i, item in input.items
	centre := item.cost_centre
	not centre in data.cost_centres
}
