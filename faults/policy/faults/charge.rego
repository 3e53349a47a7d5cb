package faults.charge

default allow := false

allow if input.amount <= 100

reason contains "amount over the limit of 100" if input.amount > 100

# Far over the limit is structural: no reviewer may wave it through.
recoverable := false if input.amount > 1000
