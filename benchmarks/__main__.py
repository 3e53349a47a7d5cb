from benchmarks import mypy_plugin, validator

validator.main()
mypy_plugin.main()
