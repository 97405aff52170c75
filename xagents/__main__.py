from xagents.commands.main import main

raise SystemExit(main())
