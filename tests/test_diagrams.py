"""The drawn diagrams show what the package's modules are: the texts in the boxes come from the code."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from lightnets_course import diagrams  # noqa: E402
from lightnets_course.models.alexnet import ALEXNET_HALF, feature_map_size  # noqa: E402


def texts(figure) -> list[str]:
    return [text.get_text() for ax in figure.axes for text in ax.texts]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_the_inverted_residual_is_drawn_from_the_package_block():
    figure = diagrams.draw_inverted_residual(24, 6)
    shown = " ".join(texts(figure))
    assert "1x1 conv, 24 -> 144" in shown and "1x1 conv, 144 -> 24" in shown and "identity" in shown
    assert "no activation (linear)" in shown


def test_the_alexnet_diagram_has_every_layer_with_its_computed_size():
    figure = diagrams.draw_alexnet(224)
    shown = texts(figure)
    for index, row in enumerate(ALEXNET_HALF):
        side = feature_map_size(224, ALEXNET_HALF[: index + 1])
        assert f"{row[0]} x {side}x{side}" in shown
    assert sum(text.startswith("fc") for text in shown) == 3


def test_the_other_diagrams_draw_their_blocks():
    assert "channel shuffle" in texts(diagrams.draw_shufflenet_units())
    assert len(diagrams.draw_shufflenet_units().axes) == 2
    assert any("SE: average pool" in text for text in texts(diagrams.draw_mobilenet_v3_block()))
    assert any(
        "3x3 depthwise conv, 32 filters" in text for text in texts(diagrams.draw_depthwise_separable(32, 64))
    )
