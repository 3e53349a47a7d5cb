from benchmarks import agents, audit_tools, decisions, execution, mypy_plugin, validator

validator.main()
decisions.main()
execution.main()
audit_tools.main()
agents.main()
mypy_plugin.main()
