# Payments: a per-currency cap, a daily total, an allow-list of payees.
package corpus.payments

default allow := false

allow if {
	input.amount <= data.caps[input.currency]
	input.amount + input.paid_today <= data.daily_cap
	input.payee in data.payees
}

reason contains "over the cap for the currency" if input.amount > data.caps[input.currency]

reason contains "over the daily cap" if input.amount + input.paid_today > data.daily_cap

reason contains sprintf("payee %s is not on the list", [input.payee]) if {
	payee := input.payee
	not payee in data.payees
}
