# Who may resolve a review of a commissioning run: asked by the worker, through the recorded
# decision step, for every resolution (AgentoPlugin(reviewer_policy="agento/commissioning/reviewers")).
# Only commissioning engineers, as the review service verified them, may override a routing deny;
# any reviewer may reject, and so stop a run; nobody reviews their own run (agento enforces that
# one whatever this policy says).

package agento.commissioning.reviewers

default allow := false

allow if input.action == "reject"

allow if {
	input.action == "approve"
	input.reviewer.verified
	"commissioning-engineers" in input.reviewer.groups
}

reason contains sprintf("%s is not a commissioning engineer: only members of commissioning-engineers may override %s", [input.reviewer.subject, input.review.activity]) if {
	input.action == "approve"
	groups := input.reviewer.groups # bound first: without groups, no reason (as in OPA)
	not "commissioning-engineers" in groups
}

reason contains sprintf("%s's identity is not verified: approve through the review service", [input.reviewer.subject]) if {
	input.action == "approve"
	not input.reviewer.verified
}
