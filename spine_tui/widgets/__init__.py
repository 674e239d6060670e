"""Widgets shared by screens, grouped by what they show, and the helpers they draw with.

Importing this package loads nothing else: the headless CLI uses ``widgets.status``
(formatting only, no Textual), so re-exports belong in subpackages such as ``dag``.
"""
