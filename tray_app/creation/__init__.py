"""Creation pipeline: requests, templates, plugins and the controller that turns
an operator's request into a folder on disk (DESIGN §6). No Qt here."""
