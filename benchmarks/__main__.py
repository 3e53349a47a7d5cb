from benchmarks import validator

validator.main()
