package faults.loose

# A policy written carelessly: allow is a string, which agento must not read as an allow.
allow := "yes"
