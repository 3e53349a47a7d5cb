from benchmarks import audit_tools, decisions, execution, mypy_plugin, validator

validator.main()
decisions.main()
execution.main()
audit_tools.main()
mypy_plugin.main()
