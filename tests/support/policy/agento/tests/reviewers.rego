package agento.tests.reviewers

# Who may resolve a review of the tests' runs: members of "approvers" approve; anyone may reject.

default allow := false

allow if "approvers" in input.reviewer.groups

allow if input.action == "reject"

reason contains sprintf("%s is not in the approvers group", [input.reviewer.subject]) if not allow
