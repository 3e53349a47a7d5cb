package bench.orders

default allow := false

allow if input.amount <= 1000

reason contains "amount over 1000" if input.amount > 1000
