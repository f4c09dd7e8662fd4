"""The study on screen, drawn: thumbnails, the image and its heatmap, captions, header
tags and the verdict panel, from what the viewer model holds."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mura_desktop.gui.loader import ImageCache
from mura_desktop.gui.thumbnails import gray_qimage
from mura_desktop.gui.verdict_text import (
    probability_caption,
    record_for,
    scored_by,
    status_text,
)
from mura_desktop.gui.view_grid import Cell

if TYPE_CHECKING:
    from mura_desktop.gui.main_window import MainWindow

log = logging.getLogger(__name__)

EMPTY_MESSAGE = (
    "Open a study folder, a dataset, images or DICOMs\n(File ▸ Open, or drop them here)."
)


class StudyDisplay:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.cache = ImageCache()

    def show_study(self, uid: str) -> None:
        """Make ``uid`` the study on screen: pixels first, then scores."""
        w = self.window
        current = w.viewer.show_study(uid)
        if current is None:
            return
        w.loader.min_request = current.request
        missing = [p for p in current.paths if self.cache.get(p) is None]
        if missing:
            w.loader.load_images(current.request, missing)
        w.browser.select(uid)
        w.studyShown.emit(uid)
        for path in current.paths:
            cached = self.cache.get(path)
            if cached is not None:
                w.viewer.image_arrived(current.request, path, cached)

    def on_study(self) -> None:
        w = self.window
        current = w.viewer.current
        w.tags.clear()
        w.image_view.set_image(None)
        if current is None:
            w.thumbnails.set_views([])
            w.image_view.set_message(EMPTY_MESSAGE)
        else:
            w.thumbnails.set_views([v.path.name for v in current.study.views])
            views = current.study.views
            w.image_view.set_message("Loading…" if views else "This study has no views.")
            self.show_badges()
        w.measure.tool.stop()
        w.measure.view_shown()
        self.refresh_grid()
        self.refresh_verdict()
        w.update_title()

    def show_view(self, index: int) -> None:
        w = self.window
        if not w.viewer.select_view(index):
            return
        w.measure.tool.stop()
        current = w.viewer.current
        w.thumbnails.select(index)
        path = current.paths[index]
        if path in current.images:
            item = current.images[path]
            w.image_view.set_image(item.image)
            self.show_heatmap()
            w.tags.set_tags(path.name, item.image.tags, current.study.views[index].is_dicom, path)
            self.update_captions()
            w.imageShown.emit(current.study.uid, index)
            w.viewer.release_deferred_model()
        elif path in current.failures:
            w.image_view.set_image(None)
            w.image_view.set_message(f"Cannot show this view.\n\n{current.failures[path]}")
            if current.study.views[index].is_dicom:
                w.tags.show_header_of_unreadable(f"{path.name} — pixels could not be read", path)
            else:
                w.tags.clear(f"{path.name} — could not be read")
            w.viewer.release_deferred_model()
        else:
            w.image_view.set_image(None)
            w.image_view.set_message("Loading…")
            w.tags.clear(path.name)
        w.measure.view_shown()
        self.refresh_grid()

    def refresh_grid(self) -> None:
        """The other cells of a side-by-side layout: the views after the current one."""
        w = self.window
        current = w.viewer.current
        if current is None or w.grid.n_cells == 1:
            w.grid.show_cells([])
            return
        n = len(current.paths)
        heatmaps = w.viewer.shown_heatmaps(current.study.uid) or {}
        cells = []
        for step in range(1, min(w.grid.n_cells, n)):
            index = (current.view + step) % n
            path = current.paths[index]
            item = current.images.get(path)
            message = current.failures.get(path, "Loading…") if item is None else ""
            probability, floor = self.view_score(index)
            cells.append(
                Cell(
                    index,
                    f"view {index + 1}/{n} · {path.name}",
                    item.image if item is not None else None,
                    heatmaps.get(path),
                    message,
                    probability,
                    floor,
                )
            )
        w.grid.show_cells(cells)

    def step_view(self, offset: int) -> None:
        w = self.window
        index = w.viewer.step_view(offset)
        if index is not None:
            self.show_view(index)

    def on_image_loaded(self, request: int, path: Path, item) -> None:
        w = self.window
        if not w.viewer.closing:
            self.cache.put(path, item)
            w.viewer.image_arrived(request, path, item)

    def on_images(self, indices: list[int]) -> None:
        w = self.window
        current = w.viewer.current
        for i in indices:
            path = current.paths[i]
            if path in current.images:
                w.thumbnails.set_thumbnail(i, gray_qimage(current.images[path].thumbnail))
            elif path in current.failures:
                w.thumbnails.set_failed(i, current.failures[path])
            if i == current.view:
                self.show_view(i)
        if current.view not in indices:
            self.refresh_grid()

    def show_badges(self) -> None:
        w = self.window
        current = w.viewer.current
        result = w.viewer.session.results.get(current.study.uid) if current else None
        if result is None:
            return
        for i, view in enumerate(result.views[: len(current.paths)]):
            if view.error:
                w.thumbnails.set_failed(i, view.error)
            else:
                p = view.probability
                verdict = None if p is None else result.rule.verdict(p, result.body_part)
                w.thumbnails.set_probability(i, p, verdict)

    def view_heatmap(self) -> np.ndarray | None:
        """The map of the kind on screen for the view on screen, if there is one."""
        current = self.window.viewer.current
        if current is None or not current.paths:
            return None
        maps = self.window.viewer.shown_heatmaps(current.study.uid) or {}
        return maps.get(current.paths[current.view])

    def show_heatmap(self) -> None:
        w = self.window
        current = w.viewer.current
        if current is None or w.image_view.image is None:
            return
        heatmap = self.view_heatmap()
        if heatmap is not None and heatmap.shape != w.image_view.image.pixels.shape:
            log.warning("heatmap shape %s differs from the image; not shown", heatmap.shape)
            heatmap = None
        w.image_view.set_heatmap(heatmap, *self.view_score(current.view))

    def view_score(self, index: int) -> tuple[float | None, float | None]:
        """View ``index``'s probability and the model's floor for drawing its map (the
        operating point, or the indeterminate band's lower edge); None when unscored."""
        current = self.window.viewer.current
        result = self.window.viewer.session.results.get(current.study.uid)
        if result is None or index >= len(result.views):
            return None, None
        return result.views[index].probability, result.rule.map_floor(result.body_part)

    def update_captions(self) -> None:
        w = self.window
        current = w.viewer.current
        if current is None:
            return
        n = len(current.paths)
        path = current.paths[current.view] if n else None
        w.image_view.set_caption(
            "top_left", f"view {current.view + 1}/{n}" + (f" · {path.name}" if path else "")
        )
        result = w.viewer.session.results.get(current.study.uid)
        scored = result is not None and current.view < len(result.views)
        probability = result.views[current.view].probability if scored else None
        w.image_view.set_caption("top_right", probability_caption(probability))

    def on_result(self, uid: str) -> None:
        w = self.window
        w.browser.result_changed(uid)
        w.schedule_metrics()
        current = w.viewer.current
        if current is None or current.study.uid != uid:
            return
        self.show_badges()
        if current.paths and current.paths[current.view] in current.failures:
            self.show_view(current.view)
        self.show_heatmap()
        self.update_captions()
        self.refresh_grid()
        self.refresh_verdict()
        w.resultShown.emit(uid)

    def refresh_verdict(self, status: str | None = None) -> None:
        w = self.window
        viewer = w.viewer
        current = viewer.current
        if current is None:
            w.verdict.show_state(None, None, "")
            return
        result = viewer.session.results.get(current.study.uid)
        w.verdict.show_state(
            current.study,
            result,
            status or status_text(viewer),
            scored_by(viewer, result),
            record_for(viewer, result),
        )
