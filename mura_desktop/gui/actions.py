"""The main window's actions, menus and toolbar, as one table.

Each row names the window attribute the action is kept in (``act_<name>``), its text,
shortcut and tip, and what it calls; ``build_actions`` makes them and ``build_menus``
lays them out. Adding a command is adding a row here and a method on the window (or on
one of its parts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence

from mura_desktop.core.display import HEATMAP_MODES, MAP_KINDS, WINDOW_PRESETS
from mura_desktop.core.resources import is_frozen
from mura_desktop.gui.viewer_state import map_kind_unavailable_reason

if TYPE_CHECKING:
    from mura_desktop.gui.main_window import MainWindow
    from mura_desktop.gui.viewer_state import DisplayState


@dataclass(frozen=True)
class Command:
    name: str
    text: str
    slot: Callable[[MainWindow], Callable]
    shortcut: str | None = None
    tip: str = ""
    checkable: bool = False


COMMANDS: tuple[Command, ...] = (
    # File
    Command("open_folder", "Open &folder…", lambda w: w.opener.choose_folder, "Ctrl+O",
            "Open a study, patient or dataset folder"),
    Command("open_files", "Open &files…", lambda w: w.opener.choose_files, "Ctrl+Shift+O",
            "Open image files or DICOMs"),
    Command("open_results", "Open &results…", lambda w: w.opener.choose_results_file, None,
            "Re-open saved results without recomputing"),
    Command("save_results", "&Save results…", lambda w: w.exports.choose_results_target,
            "Ctrl+S", "Save scores as JSON (re-openable) or CSV"),
    Command("export_png", "Export view as &PNG…", lambda w: w.exports.choose_png_target,
            "Ctrl+E", "The current view with its window, orientation and heatmap"),
    Command("export_pdf", "Export study &report (PDF)…",
            lambda w: w.exports.choose_report_target, "Ctrl+P",
            "One page: views with heatmaps, scores, verdict, model"),
    Command("export_metrics", "Export &metrics report (PDF)…",
            lambda w: w.metrics.choose_report_target, None,
            "The dataset's metrics with 95% intervals, error bars and reliability diagram"),
    Command("export_dicom", "Export &DICOM results…",
            lambda w: w.dicom.choose_export_folder, None,
            "A Structured Report and heatmap Secondary Captures per scored DICOM study"),
    Command("send_pacs", "Send results to &PACS", lambda w: w.dicom.send_to_pacs, None,
            "The DICOM results, sent (C-STORE) to the PACS set in DICOM ▸ PACS settings"),
    Command("pacs_settings", "PACS &settings…", lambda w: w.dicom.pacs_settings, None,
            "The PACS's AE title, host and port, with a C-ECHO test"),
    Command("listen", "&Listen for studies", lambda w: w.dicom.toggle_listener, None,
            "Receive studies over DICOM (C-STORE), score each once complete, list it",
            checkable=True),
    Command("skipped", "S&kipped files…", lambda w: w.dialogs.show_skipped_files, None,
            "Every path the last scan skipped or doubted, with the reason"),
    Command("quit", "&Quit", lambda w: w.close, "Ctrl+Q"),
    # View
    Command("invert", "&Invert", lambda w: w.image_view.toggle_invert, "I"),
    Command("rotate_right", "Rotate &right", lambda w: lambda: w.image_view.rotate(1), "R"),
    Command("rotate_left", "Rotate &left", lambda w: lambda: w.image_view.rotate(-1), "L"),
    Command("flip_h", "Flip &horizontally", lambda w: w.image_view.flip_horizontal, "H"),
    Command("flip_v", "Flip &vertically", lambda w: w.image_view.flip_vertical, "V"),
    Command("reset", "R&eset view", lambda w: w.image_view.reset, "Space"),
    Command("fit", "&Fit to window", lambda w: w.image_view.fit, "F"),
    Command("actual", "&Actual size (1:1)", lambda w: w.image_view.actual_size, "Z"),
    Command("zoom_in", "Zoom in", lambda w: lambda: w.image_view.zoom_by(1.25), "+"),
    Command("zoom_out", "Zoom out", lambda w: lambda: w.image_view.zoom_by(0.8), "-"),
    Command("heatmap", "&Heatmap overlay",
            lambda w: lambda on: w.viewer.set_display(heatmap_visible=on), "M", checkable=True),
    Command("maps_all_views", "Maps on &every view",
            lambda w: lambda on: w.viewer.set_display(all_views=on), None,
            "Also draw the maps of views below the operating point", checkable=True),
    Command("maps_scale_opacity", "Map opacity follows the &probability",
            lambda w: lambda on: w.viewer.set_display(scale_opacity=on), None,
            "A view the model finds less abnormal gets a fainter map", checkable=True),
    Command("opacity_up", "More opaque heatmap", lambda w: lambda: w.nudge_opacity(0.1), "]"),
    Command("opacity_down", "More transparent heatmap",
            lambda w: lambda: w.nudge_opacity(-0.1), "["),
    Command("loupe", "Ma&gnifier", lambda w: w.loupe.set_enabled, "G",
            "A magnified square that follows the cursor", checkable=True),
    Command("layout_1x1", "One view", lambda w: _layout(w, "1×1"), "Ctrl+1"),
    Command("layout_1x2", "Two views side by side (1×2)", lambda w: _layout(w, "1×2"), "Ctrl+2"),
    Command("layout_2x2", "Four views (2×2)", lambda w: _layout(w, "2×2"), "Ctrl+4"),
    Command("link_views", "&Link zoom and pan", lambda w: w.grid.set_linked, None,
            "Side-by-side views zoom and pan together", checkable=True),
    Command("grouped", "&Group by body part and patient",
            lambda w: lambda on: w.viewer.set_display(grouped=on), None, checkable=True),
    # Measure
    Command("measure_distance", "Measure &distance", lambda w: _measure(w, "distance"), "D",
            "Click the two ends; mm when the file has a pixel spacing"),
    Command("measure_angle", "Measure &angle", lambda w: _measure(w, "angle"), "A",
            "Click an arm's end, the vertex, the other arm's end"),
    Command("measure_cobb", "&Cobb angle", lambda w: _measure(w, "cobb"), "C",
            "Two points on each line: the angle between the lines"),
    Command("stop_measuring", "&Stop measuring", lambda w: w.measure.tool.stop, "Esc"),
    # Study
    Command("prev_view", "Previous view", lambda w: lambda: w.step_view(-1), "Up"),
    Command("next_view", "Next view", lambda w: lambda: w.step_view(1), "Down"),
    Command("first_view", "First view", lambda w: lambda: w.show_view(0), "Home"),
    Command("last_view", "Last view", lambda w: lambda: w.step_view(1_000_000), "End"),
    Command("prev_study", "Previous study", lambda w: lambda: w.browser.step(-1), "PgUp"),
    Command("next_study", "Next study", lambda w: lambda: w.browser.step(1), "PgDown"),
    Command("score_study", "Score this &study", lambda w: w.viewer.score_current_study, "F5"),
    Command("score_all", "Score &all studies", lambda w: w.score_all, "Ctrl+R",
            "Score every study in the list in the background"),
    Command("pause", "&Pause scoring", lambda w: w.progress.pause_button.toggle),
    Command("cancel", "&Cancel scoring", lambda w: w.cancel_scoring),
    # Model
    Command("load_model", "&Load bundle…", lambda w: w.dialogs.choose_model_file, None,
            "Load a .mura model bundle"),
    Command("model_dialog", "Model &settings and provenance…",
            lambda w: w.dialogs.show_model_dialog, "Ctrl+M",
            "Provenance, device, threshold; import a checkpoint"),
    Command("compare", "&Compare with a results file…", lambda w: w.dialogs.choose_comparison,
            None,
            "Pair these scores with saved results: paired tests and the studies they decide apart"),
    Command("train", "&Train a model…", lambda w: w.dialogs.show_train_window, None,
            "Run mura-train and watch it"),
    # Help
    Command("shortcuts", "&Keyboard shortcuts", lambda w: w.dialogs.show_shortcuts, "F1"),
    Command("about", "&About MURA Desktop", lambda w: w.dialogs.show_about),
)  # fmt: skip

MENUS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("&File", ("open_folder", "open_files", "open_results", "@recent", "-", "save_results",
               "export_png", "export_pdf", "export_metrics", "export_dicom", "-", "skipped", "-",
               "quit")),
    ("&View", ("invert", "rotate_right", "rotate_left", "flip_h", "flip_v", "reset", "-",
               "fit", "actual", "zoom_in", "zoom_out", "loupe", "@presets", "-", "layout_1x1",
               "layout_1x2", "layout_2x2", "link_views", "-", "heatmap",
               "@heatmap_modes", "@map_kinds", "maps_all_views", "maps_scale_opacity", "opacity_up",
               "opacity_down", "-", "grouped", "@panels")),
    ("M&easure", ("measure_distance", "measure_angle", "measure_cobb", "stop_measuring")),
    ("&Study", ("prev_study", "next_study", "prev_view", "next_view", "first_view",
                "last_view", "-", "score_study", "score_all", "pause", "cancel")),
    ("&DICOM", ("export_dicom", "send_pacs", "-", "listen", "-", "pacs_settings")),
    ("&Model", ("load_model", "model_dialog", "compare", "-", "train")),
    ("&Help", ("shortcuts", "about")),
)  # fmt: skip

TOOLBAR = ("open_folder", "open_files", "-", "score_all", "heatmap", "-", "invert",
           "rotate_left", "rotate_right", "fit", "reset", "-", "@presets")  # fmt: skip


def _layout(window: MainWindow, name: str) -> Callable[[], None]:
    def apply() -> None:
        window.grid.set_layout(name)
        window.display.refresh_grid()

    return apply


def _measure(window: MainWindow, kind: str) -> Callable[[], None]:
    return lambda: window.measure.tool.start(kind)


def build_actions(window: MainWindow) -> None:
    """Make every ``Command`` an action on ``window`` (``window.act_<name>``), plus the
    window/level preset actions (``window.preset_actions``)."""
    for command in COMMANDS:
        action = _action(window, command.text, command.slot(window), command.shortcut)
        if command.tip:
            action.setStatusTip(command.tip)
            action.setToolTip(command.tip)
        action.setCheckable(command.checkable)
        setattr(window, f"act_{command.name}", action)
    window.preset_actions = [
        _action(window, name, lambda _=False, n=name: window.image_view.apply_preset(n), str(i))
        for i, name in enumerate(WINDOW_PRESETS, 1)
    ]
    # the heatmap switch (M) turns maps off
    modes = {mode: text for mode, text in HEATMAP_MODES.items() if mode != "off"}
    window.heatmap_mode_actions = _choices(window, "heatmap_mode", modes)
    window.map_kind_actions = _choices(window, "map_kind", MAP_KINDS)
    for action in window.map_kind_actions:
        if reason := map_kind_unavailable_reason(action.data()):
            action.setEnabled(False)
            action.setToolTip(f"{action.text()}: {reason}")
    if is_frozen():  # the packaged app leaves the trainer out
        window.act_train.setEnabled(False)
        window.act_train.setToolTip("Training runs from a source checkout (see README)")
    window.act_heatmap.setChecked(True)
    window.act_grouped.setChecked(True)


def _choices(window: MainWindow, setting: str, choices: dict[str, str]) -> list[QAction]:
    """One checkable action per choice of a display ``setting``; ``data()`` is the choice."""
    actions = []
    for value, text in choices.items():
        action = _action(
            window, text, lambda _=False, v=value: window.viewer.set_display(**{setting: v}), None
        )
        action.setCheckable(True)
        action.setData(value)
        actions.append(action)
    return actions


def build_menus(window: MainWindow) -> None:
    bar = window.menuBar()
    for title, items in MENUS:
        _fill(window, bar.addMenu(title), items)
    toolbar = window.addToolBar("Main")
    toolbar.setObjectName("toolbar_main")
    _fill(window, toolbar, TOOLBAR)


def _fill(window: MainWindow, target, items: tuple[str, ...]) -> None:
    for item in items:
        if item == "-":
            target.addSeparator()
        elif item == "@recent":
            window.recent_menu = target.addMenu("Open &recent")
            window.recent_menu.aboutToShow.connect(window.opener.fill_recent_menu)
        elif item == "@presets":
            if hasattr(target, "addMenu") and not hasattr(target, "setMovable"):
                presets = target.addMenu("Window/level &presets")
                presets.addActions(window.preset_actions)
                window.header_windows_menu = presets.addMenu("The file's &windows")
                window.header_windows_menu.aboutToShow.connect(lambda: fill_header_windows(window))
            else:
                target.addActions(window.preset_actions)
        elif item == "@heatmap_modes":
            target.addMenu("Heatmap &style").addActions(window.heatmap_mode_actions)
        elif item == "@map_kinds":
            target.addMenu("Heatmap &kind").addActions(window.map_kind_actions)
        elif item == "@panels":
            target.addMenu("P&anels").addActions([d.toggleViewAction() for d in window.docks])
        else:
            target.addAction(getattr(window, f"act_{item}"))


def fill_header_windows(window: MainWindow) -> None:
    """The windows the image on screen names in its header, in its own values."""
    menu = window.header_windows_menu
    menu.clear()
    image = window.image_view.image
    named = image.named_windows if image is not None else ()
    for item in named:
        text = f"{item.name}  (W {item.width:g} L {item.center:g})"
        menu.addAction(text, lambda n=item: window.image_view.apply_named_window(n))
    if not named:
        menu.addAction("This image names no windows").setEnabled(False)
    if image is not None and image.window_note:
        menu.addSeparator()
        menu.addAction(f"Header window not used: {image.window_note}").setEnabled(False)


def _action(window: MainWindow, text: str, slot, shortcut: str | None) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(slot)
    window.addAction(action)
    return action


def check_display_actions(window: MainWindow, display: DisplayState) -> None:
    """Tick the display actions as ``display`` says, without triggering them."""
    for action, on in (
        (window.act_heatmap, display.heatmap_visible),
        (window.act_grouped, display.grouped),
        (window.act_maps_all_views, display.all_views),
        (window.act_maps_scale_opacity, display.scale_opacity),
        *((a, a.data() == display.heatmap_mode) for a in window.heatmap_mode_actions),
        *((a, a.data() == display.map_kind) for a in window.map_kind_actions),
    ):
        action.blockSignals(True)
        action.setChecked(on)
        action.blockSignals(False)
