"""Local HTTP + WebSocket API (DESIGN §5), the headless service, and their client.

Submodules are imported where needed so that the CLI and ``serve`` load only
what they use (``client`` never imports the server, and nothing here imports Qt).
"""

from tray_app.api._aiohttp_import import import_aiohttp_without_tls

# Before any submodule imports aiohttp; see the module for why.
import_aiohttp_without_tls()
