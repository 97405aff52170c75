from xagents.cli import main

raise SystemExit(main())
