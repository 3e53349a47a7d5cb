from agento._cli import main

raise SystemExit(main())
