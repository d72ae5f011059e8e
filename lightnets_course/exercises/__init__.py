"""Feedback for the notebooks' exercises, one module per notebook, in notebook order.

Each ``check_*`` function takes the learner's answer (a number, or code: a class or function the
learner wrote), prints whether it is right, and on a wrong answer prints a hint that names the first
thing wrong (never the solution). It returns ``True`` or ``False`` so tests can call it.
"""

from __future__ import annotations

from lightnets_course.exercises.alexnet import (
    check_alexnet_features,
    # 01
    check_conv_output_size,
    check_conv_params,
    check_fc_params,
)
from lightnets_course.exercises.comparison import (  # 07
    check_macs_ratio,
    check_params_front,
)
from lightnets_course.exercises.deployment import (  # 08
    check_int8_levels,
    check_quantize_per_channel,
)
from lightnets_course.exercises.depthwise import (
    # 02
    check_depthwise_groups,
    check_depthwise_macs,
    check_depthwise_separable_block,
    check_separable_ratio,
)
from lightnets_course.exercises.mobilenet_v1 import (
    check_mobilenet_v1_body,
    # 03
    check_params_vs_resolution,
    check_separable_params,
    check_width_resolution_macs,
)
from lightnets_course.exercises.mobilenet_v2 import (
    # 04
    check_bottleneck_macs,
    check_frozen_trainable_params,
    check_inverted_residual,
    check_shortcut_blocks,
)
from lightnets_course.exercises.mobilenet_v3 import (
    # 05
    check_hswish,
    check_se_squeeze_channels,
    check_squeeze_excite,
)
from lightnets_course.exercises.shufflenet_v2 import (
    check_channel_shuffle_function,
    # 06
    check_pointwise_mem_access,
    check_shuffle_position,
)
from lightnets_course.exercises.start_here import (  # 00
    check_batch_shape,
    check_batches_per_epoch,
)

__all__ = [
    "check_batch_shape",
    "check_batches_per_epoch",
    "check_conv_output_size",
    "check_conv_params",
    "check_fc_params",
    "check_depthwise_macs",
    "check_separable_ratio",
    "check_depthwise_groups",
    "check_width_resolution_macs",
    "check_separable_params",
    "check_params_vs_resolution",
    "check_bottleneck_macs",
    "check_shortcut_blocks",
    "check_frozen_trainable_params",
    "check_hswish",
    "check_se_squeeze_channels",
    "check_pointwise_mem_access",
    "check_shuffle_position",
    "check_params_front",
    "check_macs_ratio",
    "check_alexnet_features",
    "check_depthwise_separable_block",
    "check_mobilenet_v1_body",
    "check_inverted_residual",
    "check_squeeze_excite",
    "check_channel_shuffle_function",
    "check_quantize_per_channel",
    "check_int8_levels",
]
