"""The ``apiVersion: spine.io/v1`` workflow document (spec I4): ``WorkflowSpec`` and its parts.

``document`` is the API, ``models`` the pydantic sections, ``locate`` YAML reading with
``file:line`` errors, ``convert`` the mapping to and from runtime ``Workflow`` objects.
Importing this package builds the pydantic models (~0.1 s), so ``engine`` loads it on use.
"""

from .document import WorkflowSpec

__all__ = ["WorkflowSpec"]
