# Which tools an agent may call, by role, with per-tool argument checks.
package corpus.tools

default allow := false

allowed_tools := {t | some role in input.agent.roles; some t in data.role_tools[role]}

allow if {
	input.tool in allowed_tools
	arguments_ok
}

arguments_ok if input.tool != "send_email"

arguments_ok if {
	input.tool == "send_email"
	endswith(input.arguments.to, "@example.com")
	count(input.arguments.body) <= 2000
}

reason contains sprintf("tool %s is not granted to roles %v", [input.tool, input.agent.roles]) if {
	tool := input.tool
	not tool in allowed_tools
}
