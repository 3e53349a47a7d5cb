package agento.tests.weekday

# Bookings only on a weekday where the site is: a time zone in a built-in.
default allow := false

local_day := time.weekday([input.at_ns, input.site_zone])

allow if not local_day in {"Saturday", "Sunday"}

reason contains sprintf("%s is a %s in %s", [input.at, local_day, input.site_zone]) if not allow
