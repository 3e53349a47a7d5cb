# Who may issue a refund, and how large. Owned by the customer's finance team.
#
# A refund that workflow code starts (a developer wrote the call) is allowed up to 1000. One an
# agent's model chose (input.agento.agent is there) is allowed up to 100; above that it pauses
# for a human review. Nothing above 5000 is refunded, by anyone: that deny is not recoverable.

package agento.refunds.issue

default allow := false

default limit := 1000

limit := 100 if {
	input.agento.agent
}

allow if {
	input.amount > 0
	input.amount <= limit
}

reason contains sprintf("an agent may not refund more than %d without review", [limit]) if {
	input.agento.agent
	input.amount > limit
}

reason contains sprintf("refunds above %d need a review", [limit]) if {
	not input.agento.agent
	input.amount > limit
}

reason contains "refunds above 5000 are never issued" if {
	input.amount > 5000
}

reason contains "a refund must be positive" if {
	input.amount <= 0
}

default recoverable := true

recoverable := false if {
	input.amount > 5000
}

recoverable := false if {
	input.amount <= 0
}
