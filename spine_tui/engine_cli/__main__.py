"""``python -m spine_tui.engine_cli``: the same as the ``spine-engine`` console script."""

from __future__ import annotations

from spine_tui.engine_cli import main

raise SystemExit(main())
