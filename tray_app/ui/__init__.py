"""The Qt user interface: tray icon and menu, notices, dialogs and the sessions window.

Everything here runs on the one qasync loop thread; state comes from the session store.
"""
