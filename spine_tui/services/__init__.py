"""Services: the non-presentation work screens and widgets ask for, run in worker threads.

A service calls the engine and returns values, calls back or posts the app's messages; it
draws nothing and imports no widget or screen (``launcher`` runs workflows,
``playground_commands`` drives a ``WorkflowPlayground``,
``log_tail`` reads a run's log lines from the store).
"""
