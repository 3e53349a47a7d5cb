package agento.tests.route

# A proposed change: the limit goes from 100 to 200.
default allow := false

allow if input.amount <= 200

reason contains "amount over the limit of 100" if input.amount > 200

recoverable := false if input.amount > 1000
