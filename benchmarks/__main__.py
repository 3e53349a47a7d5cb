from benchmarks import (
    agents,
    audit_tools,
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
mypy_plugin.main()
