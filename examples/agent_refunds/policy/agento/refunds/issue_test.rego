# The refund policy's table, as tests: `agento policy test examples/agent_refunds/policy`.

package agento.refunds.issue_test

import data.agento.refunds.issue

decide(amount, context) := decision if {
	decision := issue with input.amount as amount
		with input.agento as context
}

agent_context := {"agent": {"framework": "openai-agents", "agent": "refunds", "tool": "issue_refund"}}

test_agent_small_refund_allowed if {
	context := agent_context
	decide(40, context).allow
}

test_agent_large_refund_reviewed if {
	context := agent_context
	d := decide(250, context)
	not d.allow
	d.recoverable
	d.reason == {"an agent may not refund more than 100 without review"}
}

test_workflow_large_refund_allowed if {
	context := {"activity": "issue_refund"}
	decide(250, context).allow
}

test_huge_refund_denied_for_good if {
	context := {"activity": "issue_refund"}
	d := decide(9000, context)
	not d.allow
	not d.recoverable
}
