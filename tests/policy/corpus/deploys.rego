# Deploys an agent may start: environment by branch, a change ticket for production.
package corpus.deploys

default allow := false

allow if {
	input.environment in {"dev", "staging"}
}

allow if {
	input.environment == "production"
	input.branch == "main"
	startswith(input.ticket, "CHG-")
	count(input.approvers) >= 2
}

reason contains "production deploys need two approvers" if {
	input.environment == "production"
	count(input.approvers) < 2
}

reason contains sprintf("branch %s cannot deploy to production", [input.branch]) if {
	input.environment == "production"
	input.branch != "main"
}
