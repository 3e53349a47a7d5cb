from benchmarks import audit_tools, decisions, execution, mypy_plugin, receipts, validator

validator.main()
decisions.main()
receipts.main()
execution.main()
audit_tools.main()
mypy_plugin.main()
