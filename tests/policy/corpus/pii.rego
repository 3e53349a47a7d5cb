# An agent's outgoing message must not carry personal data.
package corpus.pii

default allow := false

allow if count(findings) == 0

findings contains "an email address" if regex.match(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`, input.message)

findings contains "a social security number" if regex.match(`\b\d{3}-\d{2}-\d{4}\b`, input.message)

findings contains "a card number" if regex.match(`\b(?:\d[ -]?){13,16}\b`, input.message)

findings contains sprintf("a blocked word: %s", [w]) if {
	some w in data.blocked_words
	contains(lower(input.message), w)
}
