"""What the CPU app (no PyTorch installed) offers and refuses, as the viewer shows it.

The frozen CPU app's own self-test (CI) runs the real torch-free scoring; these tests
check the controls, with the install's "is torch here" answer set to no.
"""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from mura_desktop.core.display import EXACT_MAP
from mura_desktop.gui import model_dialog, viewer_state
from mura_desktop.gui.model_dialog import ModelDialog


def test_without_torch_the_approximate_maps_are_offered_disabled_saying_why(
    qtbot, settings, factory, monkeypatch
) -> None:
    from mura_desktop.gui.main_window import MainWindow

    monkeypatch.setattr(viewer_state, "torch_installed", lambda: False)
    window = MainWindow(settings, model_factory=factory)
    qtbot.addWidget(window)
    kinds = {a.data(): a for a in window.map_kind_actions}
    assert kinds[EXACT_MAP].isEnabled()
    others = [a for kind, a in kinds.items() if kind != EXACT_MAP]
    assert others and not any(a.isEnabled() for a in others)
    assert all("PyTorch" in a.toolTip() for a in others)
    window.close()


def test_with_torch_every_map_is_offered(qtbot, settings, factory) -> None:
    from mura_desktop.gui.main_window import MainWindow

    window = MainWindow(settings, model_factory=factory)
    qtbot.addWidget(window)
    assert all(a.isEnabled() for a in window.map_kind_actions)
    window.close()


def test_without_torch_the_model_dialog_runs_openvino_and_does_not_import(
    qtbot, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(model_dialog, "torch_installed", lambda: False)
    dialog = ModelDialog(None, "", "cpu", None, runtime="torch", cuda_available=False,
                         models_dir=tmp_path)  # fmt: skip
    qtbot.addWidget(dialog)
    assert dialog.runtime() == "auto"  # a kept "torch" cannot run here
    torch_row = dialog._runtime.findData("torch")
    assert not dialog._runtime.model().item(torch_row).isEnabled()
    assert not dialog._import_button.isEnabled()
    assert "PyTorch" in dialog._import_button.toolTip()
    dialog._set_busy(True)
    dialog._set_busy(False)
    assert not dialog._import_button.isEnabled()  # still: the busy state does not re-enable it
    QApplication.processEvents()
