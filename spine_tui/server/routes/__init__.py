"""The API's routes, one module per resource; each module's ``router`` is mounted by
``spine_tui.server.app.create_app``."""
