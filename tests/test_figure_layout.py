"""Figures: no text runs into other text, out of its panel, or under a marker (drawn with
matplotlib's own renderer and compared as bounding boxes)."""

from __future__ import annotations

import itertools

import pytest

import chokepoint_data as cd
from chokepoint_data import figures

SLACK = 0.5  # pixels: boxes that merely touch do not overlap


@pytest.fixture(scope="module")
def tables():
    return {n: cd.load(n) for n in cd.list_tables()}


def _texts(fig, renderer):
    """Every visible, non-empty text of the figure with its box on the canvas."""
    from matplotlib.text import Text

    ticks, drawn = set(), set()
    for ax in fig.axes:
        for axis in ax._axis_map.values():
            for tick in axis.majorTicks + axis.minorTicks:
                ticks |= {id(tick.label1), id(tick.label2)}
            for tick in axis._update_ticks():  # the ticks inside the view: those drawn
                drawn |= {id(tick.label1), id(tick.label2)}
    out = []
    for t in fig.findobj(Text):
        if not t.get_visible() or not t.get_text().strip() or (id(t) in ticks and id(t) not in drawn):
            continue
        box = t.get_window_extent(renderer)
        if box.width > 0 and box.height > 0:
            out.append((t, box))
    return out


def _overlap(a, b) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > SLACK) and (min(a.y1, b.y1) - max(a.y0, b.y0) > SLACK)


def _drawn(name, tables):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = figures.make_figure(name, tables)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return fig, canvas.get_renderer()


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_no_two_texts_overlap(name, tables):
    fig, renderer = _drawn(name, tables)
    texts = _texts(fig, renderer)
    assert len(texts) > 5
    clashes = [(a.get_text(), b.get_text()) for (a, ba), (b, bb) in itertools.combinations(texts, 2) if _overlap(ba, bb)]
    assert not clashes, clashes[:10]


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_texts_stay_inside_the_figure_and_their_panel(name, tables):
    fig, renderer = _drawn(name, tables)
    canvas = fig.bbox
    for t, box in _texts(fig, renderer):
        assert box.x0 >= canvas.x0 - SLACK and box.x1 <= canvas.x1 + SLACK, t.get_text()
        assert box.y0 >= canvas.y0 - SLACK and box.y1 <= canvas.y1 + SLACK, t.get_text()
        if t.axes is not None and t in t.axes.texts:  # a label drawn in the data stays in its panel
            panel = t.axes.get_window_extent(renderer)
            assert box.x0 >= panel.x0 - SLACK and box.x1 <= panel.x1 + SLACK, t.get_text()


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_no_text_hides_under_a_marker(name, tables):
    """A marker (a scatter point) never sits on a label's text."""
    import numpy as np

    fig, renderer = _drawn(name, tables)
    labels = [(t, box) for t, box in _texts(fig, renderer) if t.axes is not None and t in t.axes.texts]
    for ax in fig.axes:
        for coll in ax.collections:
            offsets = coll.get_offsets()
            if not len(offsets) or not len(coll.get_sizes()):
                continue
            points = coll.get_offset_transform().transform(np.asarray(offsets, dtype=float))
            radius = np.sqrt(max(coll.get_sizes())) * fig.dpi / 72 / 2
            for t, box in labels:
                if t.axes is not ax:
                    continue
                inside = ((points[:, 0] + radius > box.x0 + SLACK) & (points[:, 0] - radius < box.x1 - SLACK)
                          & (points[:, 1] + radius > box.y0 + SLACK) & (points[:, 1] - radius < box.y1 - SLACK))
                assert not inside.any(), (name, t.get_text())


def test_titles_fit_their_rows(tables):
    """The concentration figure lists markets where Chinese firms lead too (EV batteries)."""
    fig = figures.make_figure("concentration", tables)
    title = fig.get_suptitle()
    rows = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    if any(r.startswith("EV batter") for r in rows):
        assert "China depends on" not in title, title


@pytest.mark.parametrize("publisher, url, name", [
    ("全球化工設備網 / 中國化工儀器網 (mirror)", "https://www.example.cn/a", "example.cn"),
    ("21世纪经济报道 (21st Century Business Herald)", None, "21st Century Business Herald"),
    ("China News Service (中新社), via Sohu", None, "China News Service, via Sohu"),
    ("中商产业研究院 (re-post on jiongage.com)", "https://jiongage.com/x", "jiongage.com"),
    ("Reuters", None, "Reuters"),
])
def test_a_publisher_keeps_a_readable_name(publisher, url, name):
    assert figures.publisher_name(publisher, url) == name


def test_captions_keep_the_publishers_name(tables):
    """The status figure printed "/ (mirror)" for a publisher written in Chinese."""
    for name in figures.FIGURES:
        fig = figures.make_figure(name, tables)
        caption = " ".join(" ".join(t.get_text() for t in fig.texts).split())
        listed = caption.split("documents): ", 1)[1].split(". Data:", 1)[0]
        for publisher in listed.split("; "):
            assert publisher.strip() and publisher[0].isalnum() and "()" not in publisher, (name, publisher)
