from benchmarks import audit_tools, cli_startup, decisions, execution, mypy_plugin, validator

validator.main()
decisions.main()
execution.main()
audit_tools.main()
cli_startup.main()
mypy_plugin.main()
