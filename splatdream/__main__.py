from splatdream.cli import main

raise SystemExit(main())
