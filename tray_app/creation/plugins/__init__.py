"""Creation plugins: manifests and discovery, the host that runs a plugin in its
own worker process, and that worker. Kept import-light: the worker imports it."""
