"""A local package of the orders workflow: carried with its ``__init__``."""
