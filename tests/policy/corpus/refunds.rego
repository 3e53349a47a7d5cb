# Refunds an agent may issue: a limit by role from data, reasons built with sprintf.
package corpus.refunds

default allow := false

limit := data.refund_limits[input.requester.role]

allow if {
	count(deny) == 0
	input.amount > 0
	input.amount <= limit
}

deny contains sprintf("refund of %d exceeds the %s limit of %d", [input.amount, input.requester.role, limit]) if {
	input.amount > limit
}

deny contains "refunds to a closed account need a human" if input.account.closed == true

deny contains sprintf("currency %s is not refundable", [currency]) if {
	currency := input.currency
	not currency in {"EUR", "USD", "GBP"}
}
