# `agento policy test examples/commissioning/policy`

package agento.commissioning.reviewers_test

import data.agento.commissioning.reviewers

engineer := {"subject": "engineer.lee", "groups": ["commissioning-engineers"], "verified": true}

unverified := {"subject": "engineer.lee", "groups": ["commissioning-engineers"], "verified": false}

intern := {"subject": "intern.sam", "groups": ["interns"], "verified": true}

review := {"activity": "generate_and_route_report", "reason": "policy_denied"}

test_an_engineer_may_override_a_routing_deny if {
	who := engineer
	r := review
	reviewers.allow with input.action as "approve" with input.reviewer as who with input.review as r
}

test_anyone_else_may_not_and_is_told_why if {
	who := intern
	r := review
	not reviewers.allow with input.action as "approve" with input.reviewer as who with input.review as r
	reasons := reviewers.reason with input.action as "approve" with input.reviewer as who with input.review as r
	count(reasons) == 1
}

test_an_unverified_engineer_may_not_and_is_told_why if {
	who := unverified
	r := review
	not reviewers.allow with input.action as "approve" with input.reviewer as who with input.review as r
	reasons := reviewers.reason with input.action as "approve" with input.reviewer as who with input.review as r
	reasons == {"engineer.lee's identity is not verified: approve through the review service"}
}

test_anyone_may_reject if {
	who := intern
	r := review
	reviewers.allow with input.action as "reject" with input.reviewer as who with input.review as r
}
