"""``spine-engine serve``: the HTTP API (FastAPI on uvicorn), the cron schedule loop and the
event-trigger router, in one process over the same run store and workflow folders as the
workbench. A thin face like the CLI: routes parse, call the engine's entry points and return
the models of ``spine_client.models``; it never imports Textual.
"""
