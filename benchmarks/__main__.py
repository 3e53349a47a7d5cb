from benchmarks import decisions, mypy_plugin, validator

validator.main()
decisions.main()
mypy_plugin.main()
