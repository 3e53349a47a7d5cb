from benchmarks import (
    agents,
    audit_tools,
    cli_startup,
    decisions,
    execution,
    mypy_plugin,
    receipts,
    validator,
)

validator.main()
decisions.main()
receipts.main()
execution.main()
audit_tools.main()
agents.main()
cli_startup.main()
mypy_plugin.main()
