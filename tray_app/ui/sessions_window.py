"""The sessions window: a live table of every session with the same actions as the
tray menu. Without a system tray it is the app's main window and closing it quits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QHideEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from tray_app.creation.wording import age_words, state_words
from tray_app.i18n import N_, _
from tray_app.sessions.states import SessionState
from tray_app.ui.keyboard import strip_mnemonic
from tray_app.ui.prompt_dialog import WARN_BANNER_STYLE
from tray_app.ui.sessions_model import AGE, DESTINATION, PHASE, STATE, TITLE, SessionsModel
from tray_app.ui.timers import make_timer

if TYPE_CHECKING:
    from tray_app.ui.session_actions import SessionActions

AGE_REFRESH_MS = 30_000


#: The states a session stays in for longer than a moment.
RESTING_STATES = (
    SessionState.INPUT_REQUIRED,
    SessionState.DONE,
    SessionState.FAILED,
    SessionState.ABORTED,
)


class SessionsWindow(QWidget):
    """Every session, newest first; act on the selected one."""

    #: The person closed the window while it stands in for the tray (quit_on_close).
    close_requested = Signal()

    def __init__(
        self,
        actions: SessionActions,
        *,
        reason: str | None = None,
        quit_on_close: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        # What the window does goes through ``actions``; what it lists is their store's.
        self.handler = actions
        self.store = actions.store
        self.quit_on_close = quit_on_close
        self.setObjectName("sessions_window")
        # Qt appends the application's display name (" — ExLab Tray") itself.
        self.setWindowTitle(_("Sessions"))
        self.resize(980, 420)

        self.banner = QLabel()
        self.banner.setObjectName("sessions_banner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(WARN_BANNER_STYLE)
        self.set_reason(reason)

        settings = actions.settings
        root = settings.local_root_path() if settings is not None else None
        self.model = SessionsModel(self.store, self, root=root)
        self.table = QTableView()
        self.table.setObjectName("sessions_table")
        self.table.setAccessibleName(_("Sessions"))
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        # Destinations are short (relative to the data folder), so the end of a phase such as
        # "Cancelled while waiting for your input" may go, not its middle.
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().hide()
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(TITLE, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(PHASE, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(DESTINATION, QHeaderView.ResizeMode.Stretch)
        # A folder keeps both ends (DEMO/Project/…/Run_<stamp>) when it does not fit.
        self._middle = _ElideMiddle(self.table)
        self.table.setItemDelegateForColumn(DESTINATION, self._middle)
        header.setHighlightSections(False)
        self._fit_columns()
        self.empty_label = QLabel(_("No sessions yet. Start one with New project… or New run…."))
        self.empty_label.setObjectName("sessions_empty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        # Alt+letter on the buttons, and a shortcut for each action while the window has focus
        # (Enter on a row opens it: the prompt of a waiting session, else its details).
        self.answer_action = self._action(N_("&Answer…"), actions.open_prompt, "Ctrl+Return")
        self.details_action = self._action(N_("&Details…"), actions.show_details, "Ctrl+I")
        self.cancel_action = self._action(N_("&Cancel…"), actions.cancel, "Delete")
        self.folder_action = self._action(N_("Open &folder"), actions.open_folder, "Ctrl+O")
        self.copy_action = self._action(N_("Cop&y details"), actions.copy_details, "Ctrl+C")
        self.row_actions = (
            self.answer_action,
            self.details_action,
            self.cancel_action,
            self.folder_action,
            self.copy_action,
        )

        buttons = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for action in self.row_actions:
            button = QPushButton(action.text())
            button.setObjectName(f"button_{action.objectName()}")
            button.setToolTip(action.toolTip())
            button.clicked.connect(action.trigger)
            self.buttons[action.objectName()] = button
            buttons.addWidget(button)
        buttons.addStretch(1)
        for label, kind, keys in (
            (_("New &project…"), "project", "Ctrl+N"),
            (_("New &run…"), "run", "Ctrl+Shift+N"),
        ):
            button = QPushButton(label)
            button.setObjectName(f"button_new_{kind}")
            button.setToolTip(f"{strip_mnemonic(label)} ({keys})")
            new = QAction(label, self)
            new.setShortcut(QKeySequence(keys))
            new.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            new.triggered.connect(lambda _=False, k=kind: actions.new_session(k))
            self.addAction(new)
            button.clicked.connect(new.trigger)
            buttons.addWidget(button)
        # Ctrl+W closes (not Escape: without a tray, closing this window quits the app).
        close = QAction(_("Close"), self)
        close.setShortcuts(QKeySequence.keyBindings(QKeySequence.StandardKey.Close))
        close.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        close.triggered.connect(self.close)
        self.addAction(close)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(self.banner)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label)
        layout.addLayout(buttons)

        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        # Double-click or Enter on a row: answer a waiting session, else show its details.
        self.table.activated.connect(self._activated)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.model.rowsInserted.connect(self._rows_changed)
        self.model.rowsRemoved.connect(self._rows_changed)
        self.model.modelReset.connect(self._rows_changed)
        self.model.dataChanged.connect(self._update_actions)

        self._age_timer = make_timer(self, self.model.refresh_ages, AGE_REFRESH_MS, repeat=True)
        self._rows_changed()

    def _fit_columns(self) -> None:
        """Each column wide enough for its heading in the language shown ("Zustand",
        "Alter"; the header's own size hint measures the text and the sort arrow), and
        the state and age columns for the words they show ("Wartet auf Eingabe",
        "gerade eben"); titles, phases and folders are elided as they come."""
        header = self.table.horizontalHeader()
        metrics = self.table.fontMetrics()
        padding = 2 * self.table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 12
        words = {
            # The states a session rests in; one passing through ("NAS-Synchronisierung
            # wird eingereiht") may be elided for the seconds it lasts.
            STATE: [state_words(state) for state in RESTING_STATES],
            # The longest of each form age_words gives.
            AGE: [age_words(s) for s in (0, 59, 59 * 60, 23 * 3600 + 59 * 60, 99 * 86400)],
        }
        for column, width in ((TITLE, 300), (STATE, 100), (PHASE, 220), (AGE, 70)):
            texts = words.get(column, [])
            needed = max((metrics.horizontalAdvance(t) + padding for t in texts), default=0)
            header.resizeSection(column, max(width, header.sectionSizeHint(column), needed))

    def _action(self, english: str, handler: object, shortcut: str | None = None) -> QAction:
        # Named after the English words (tests and the buttons find it by name in every
        # language); it shows the translated ones.
        text = _(english)
        action = QAction(text, self)
        plain = strip_mnemonic(text)
        action.setObjectName(strip_mnemonic(english).rstrip("…").lower().replace(" ", "_"))
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{plain} ({keys})")
        self.addAction(action)

        def run() -> None:
            session_id = self.selected_session_id()
            if session_id is not None and callable(handler):
                handler(session_id)

        action.triggered.connect(run)
        return action

    # ---- state ---------------------------------------------------------------------------
    def set_reason(self, reason: str | None) -> None:
        """Say at the top why this window is shown (e.g. no system tray); None hides it."""
        self.banner.setText(reason or "")
        self.banner.setVisible(bool(reason))

    @property
    def age_timer_active(self) -> bool:
        return self._age_timer.isActive()

    def selected_session_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.session_id_at(rows[0].row())

    def select_session(self, session_id: str) -> None:
        row = self.model.row_of(session_id)
        if row >= 0:
            self.table.selectRow(row)

    def _rows_changed(self, *_args: object) -> None:
        empty = self.model.rowCount() == 0
        self.empty_label.setVisible(empty)
        self._update_actions()

    def _update_actions(self, *_args: object) -> None:
        session_id = self.selected_session_id()
        session = self.store.get(session_id) if session_id else None
        live = session is not None and not session.is_terminal()
        self.answer_action.setEnabled(
            session is not None and session.state is SessionState.INPUT_REQUIRED
        )
        self.details_action.setEnabled(session is not None)
        self.cancel_action.setEnabled(live)
        self.folder_action.setEnabled(session is not None and bool(session.destination))
        self.copy_action.setEnabled(session is not None)
        for action in self.row_actions:
            self.buttons[action.objectName()].setEnabled(action.isEnabled())

    def _activated(self, index: QModelIndex) -> None:
        session = self.model.session_at(index.row())
        if session is None:
            return
        if session.state is SessionState.INPUT_REQUIRED:
            self.handler.open_prompt(session.session_id)
        else:
            self.handler.show_details(session.session_id)

    def context_menu_for(self, row: int) -> QMenu:
        """The context menu of a row (selects it first); built, not shown."""
        self.table.selectRow(row)
        menu = QMenu(self)
        for action in self.row_actions:
            if action.isEnabled():
                menu.addAction(action)
        return menu

    def _context_menu(self, position: QPoint) -> None:
        index = self.table.indexAt(position)
        if not index.isValid():
            return
        menu = self.context_menu_for(index.row())
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.table.viewport().mapToGlobal(position))

    # ---- showing and closing -------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self.selected_session_id() is None and self.model.rowCount() > 0:
            # Keyboard users start on a row, so the actions and Enter work at once.
            self.table.selectRow(0)
        self.table.setFocus(Qt.FocusReason.ActiveWindowFocusReason)
        self.model.refresh_ages()
        self._age_timer.start()  # the Age column moves with time only while someone looks

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt override
        super().hideEvent(event)
        self._age_timer.stop()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self._age_timer.stop()
        super().closeEvent(event)
        if self.quit_on_close:
            self.close_requested.emit()


class _ElideMiddle(QStyledItemDelegate):
    """Elides in the middle (the table elides at the end): paths keep both ends."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex) -> None:  # type: ignore[override]  # noqa: N802 - Qt override
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle
