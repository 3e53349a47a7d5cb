# Data access: the requester's clearance covers the dataset's class; owners always may.
package corpus.access

default allow := false

levels := {"public": 0, "internal": 1, "confidential": 2, "restricted": 3}

allow if input.requester.id == input.dataset.owner

allow if {
	levels[input.requester.clearance] >= levels[input.dataset.classification]
	not input.dataset.legal_hold
}

reason contains "the dataset is under legal hold" if input.dataset.legal_hold == true

reason contains sprintf("clearance %s does not cover %s", [input.requester.clearance, input.dataset.classification]) if {
	levels[input.requester.clearance] < levels[input.dataset.classification]
}
