from benchmarks import decisions, execution, mypy_plugin, validator

validator.main()
decisions.main()
execution.main()
mypy_plugin.main()
