"""Published numbers the course reproduces, each with its source.

Notebooks show these side by side with what the package measures, and tests assert the agreement,
so a number quoted from a paper is written down exactly once, here. Units follow the papers:
"MMACs" are millions of multiply-accumulates (the MobileNet papers' "Mult-Adds", ShuffleNetV2's
"FLOPs"), "Mparams" millions of parameters, accuracies in percent (top-1 unless stated).
"""

from __future__ import annotations

# MobileNetV1, Howard et al. 2017, arXiv 1704.04861.
MOBILENET_V1_SOURCE = "Howard et al., MobileNets (arXiv 1704.04861)"
# Table 6 (width multiplier alpha at 224x224): alpha -> (ImageNet top-1, MMACs, Mparams)
# Table 4: depthwise-separable against full convolutions, the same network otherwise:
# name -> (ImageNet top-1 %, million Mult-Adds, million params)
MOBILENET_V1_TABLE4 = {
    "Conv MobileNet": (71.7, 4866, 29.3),
    "MobileNet": (70.6, 569, 4.2),
}
# Table 9 (selected rows): name -> (ImageNet top-1 %, million Mult-Adds, million params)
MOBILENET_V1_TABLE9 = {
    "0.50 MobileNet-160": (60.2, 76, 1.32),
    "SqueezeNet": (57.5, 1700, 1.25),
    "AlexNet": (57.2, 720, 60),
}
MOBILENET_V1_TABLE6 = {
    1.0: (70.6, 569, 4.2),
    0.75: (68.4, 325, 2.6),
    0.5: (63.7, 149, 1.3),
    0.25: (50.6, 41, 0.5),
}
# Table 7 (resolution at alpha = 1.0): input side -> (ImageNet top-1, MMACs, Mparams)
MOBILENET_V1_TABLE7 = {
    224: (70.6, 569, 4.2),
    192: (69.1, 418, 4.2),
    160: (67.2, 290, 4.2),
    128: (64.4, 186, 4.2),
}
# Table 2: share of Mult-Adds and parameters per layer type, percent.
MOBILENET_V1_TABLE2 = {
    "Conv 1x1": (94.86, 74.59),
    "Conv DW 3x3": (3.06, 1.06),
    "Conv 3x3": (1.19, 0.02),
    "Fully connected": (0.18, 24.33),
}
# Table 3: one 3x3 layer with M = N = 512 at 14x14: (Million Mult-Adds, Million params)
MOBILENET_V1_TABLE3 = {
    "Convolution": (462, 2.36),
    "Depthwise Separable Conv": (52.3, 0.27),
}
# "MobileNet uses 3x3 depthwise separable convolutions which uses between 8 to 9 times less
# computation than standard convolutions" (section 3.1)
DEPTHWISE_SEPARABLE_CLAIM = (8, 9)

# MobileNetV2, Sandler et al. 2018, arXiv 1801.04381.
MOBILENET_V2_SOURCE = "Sandler et al., MobileNetV2 (arXiv 1801.04381)"
# Table 4: network -> (ImageNet top-1, Mparams, MMACs, Pixel-1 CPU ms or None)
MOBILENET_V2_TABLE4 = {
    "MobileNetV1": (70.6, 4.2, 575, 113),
    "ShuffleNet (1.5)": (71.5, 3.4, 292, None),
    "ShuffleNet (x2)": (73.7, 5.4, 524, None),
    "NasNet-A": (74.0, 5.3, 564, 183),
    "MobileNetV2": (72.0, 3.4, 300, 75),
    "MobileNetV2 (1.4)": (74.7, 6.9, 585, 143),
}

# MobileNetV3, Howard et al. 2019, arXiv 1905.02244. Table 3 (Pixel-1 float latency, batch 1):
# network -> (ImageNet top-1, MMACs, Mparams, Pixel-1 ms). Small is the 1024-wide-head version that
# torchvision and the TF reference code implement (another version of the paper says 66 M / 2.9 M).
MOBILENET_V3_SOURCE = "Howard et al., Searching for MobileNetV3 (arXiv 1905.02244)"
MOBILENET_V3_TABLE3 = {
    "V3-Large 1.0": (75.2, 219, 5.4, 51),
    "V3-Small 1.0": (67.4, 56, 2.5, 15.8),
    "V2 1.0": (72.0, 300, 3.4, 64),
    "V2 0.35": (60.8, 59.2, 1.6, 16.6),
}
# Table 4: the same networks quantized to 8 bits (TensorFlow Lite): network -> (ImageNet top-1, Pixel-1 ms).
# Beside Table 3 it says what int8 bought on a phone: V3-Small runs 15.8 -> 15.5 ms and loses 2.5 points.
MOBILENET_V3_TABLE4_INT8 = {
    "V3-Large 1.0": (73.8, 44),
    "V3-Small 1.0": (64.9, 15.5),
    "V2 1.0": (70.9, 52),
    "V2 0.35": (57.2, 16.7),
}
# The V3-Small 1.0 row in the other version of the paper, whose Small head is 1280 wide: (MMACs, Mparams)
MOBILENET_V3_SMALL_1280_HEAD = (66, 2.9)
# Section 5.1, "Redesigning Expensive Layers": change -> (MMACs saved, Pixel-1 ms saved, the paper's words)
MOBILENET_V3_SAVINGS = {
    "stem 32 -> 16 filters": (10, 2, "saves an additional 2 milliseconds and 10 million MAdds"),
    "efficient last stage": (
        30,
        7,
        "reduces the latency by 7 milliseconds which is 11% of the running time and reduces the number "
        "of operations by 30 millions MAdds",
    ),
}

# ShuffleNetV2, Ma et al. 2018, arXiv 1807.11164 (ECCV). Its "FLOPs" are multiply-adds.
SHUFFLENET_V2_SOURCE = "Ma et al., ShuffleNet V2 (arXiv 1807.11164)"
# Table 5: width -> (stage output channels 2/3/4, conv5 channels, MFLOPs, Mparams)
SHUFFLENET_V2_TABLE5 = {
    "0.5x": ((48, 96, 192), 1024, 41, 1.4),
    "1x": ((116, 232, 464), 1024, 146, 2.3),
    "1.5x": ((176, 352, 704), 1024, 299, 3.5),
    "2x": ((244, 488, 976), 2048, 591, 7.4),
}
# Table 8 (selected rows): model -> (MFLOPs, ImageNet top-1 error %, GPU batches/s, ARM images/s)
SHUFFLENET_V2_TABLE8 = {
    "ShuffleNet v2 0.5x": (41, 39.7, 417, 57.0),
    "0.25 MobileNet v1": (41, 49.4, 502, 36.4),
    "ShuffleNet v2 1x": (146, 30.6, 341, 24.4),
    "0.5 MobileNet v1": (149, 36.3, 382, 16.5),
    "0.75 MobileNet v2 (their impl.)": (145, 32.1, 235, 15.9),
    "ShuffleNet v2 1.5x": (299, 27.4, 255, 11.8),
    "1.0 MobileNet v2": (300, 28.0, 180, 8.9),
    "ShuffleNet v2 2x": (591, 25.1, 217, 6.7),
    "1.0 MobileNet v1": (569, 29.4, 247, 6.5),
}

# AlexNet as MobileNetV1's Table 9 lists it: 57.2% ImageNet top-1, 720 M Mult-Adds, 60 M params. The 2012
# paper itself gives no Mult-Adds and reports error rates (below). torchvision's alexnet is the one-GPU
# network of "One weird trick" (arXiv 1404.5997) but with 256 filters in conv4 (384 in that paper).
ALEXNET_SOURCE = "MobileNetV1 (Howard et al. 2017), Table 9"
ALEXNET_PAPER = {"Mparams": 60, "MMACs": 720, "top1": 57.2}
# Krizhevsky, Sutskever and Hinton, NIPS 2012: "60 million parameters and 650,000 neurons"; Table 2,
# ILSVRC-2012 validation set, one CNN: 40.7% top-1 and 18.2% top-5 error.
ALEXNET_2012_SOURCE = "Krizhevsky, Sutskever and Hinton, NIPS 2012, Table 2 (1 CNN, ILSVRC-2012 val)"
ALEXNET_2012 = {"Mparams": 60, "top1_error": 40.7, "top5_error": 18.2}

# No CIFAR-10 result is published for the half-width AlexNet. For scale beside it: a plain (no shortcut)
# network, deeper and with BatchNorm, from the same README as MobileNetV2's 94.43% (hundreds of epochs).
CIFAR10_PLAIN_NETWORK = (92.64, "VGG16 with BatchNorm, kuangliu/pytorch-cifar README")

# CIFAR-10 results of the same families (32x32 variants, 200-350 epochs), top-1 test accuracy.
CIFAR10_PUBLISHED = {
    "mobilenet_v2": (94.43, "kuangliu/pytorch-cifar README (width 1.0, 350 epochs, CIFAR stem)"),
    "mobilenet_v2 (chenyaofo)": (93.79, "chenyaofo/pytorch-cifar-models README (width 1.0)"),
    "shufflenet_v2_x0_5": (90.13, "chenyaofo/pytorch-cifar-models README"),
    "shufflenet_v2_x1_0": (92.98, "chenyaofo/pytorch-cifar-models README"),
    "shufflenet_v2_x2_0": (93.81, "chenyaofo/pytorch-cifar-models README"),
}


# ---------------------------------------------------------------------------------------------------
# ShuffleNetV2 Tables 1-4: the guideline experiments (source: SHUFFLENET_V2_GUIDELINE_SOURCE). For each row: the
# configuration, the widths at x1 on the GPU, GPU batches/s at x1, x2, x4, the widths at x1 on ARM, ARM
# images/s at x1, x2, x4.

SHUFFLENET_V2_GUIDELINE_SOURCE = (
    "Ma, Zhang, Zheng and Sun, 'ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture "
    "Design', ECCV 2018 (arXiv 1807.11164), Tables 1-4. GPU: one GTX 1080Ti, cuDNN 7.0, batches/s. "
    "ARM: Snapdragon 810, single thread, images/s. Each network is 10 stacked blocks on a 56x56 input."
)

_SHUFFLENET_V2_TABLE_1 = (  # G1: c1:c2 ratio, (c1, c2)
    ("1:1", (128, 128), (1480, 723, 232), (32, 32), (76.2, 21.7, 5.3)),
    ("1:2", (90, 180), (1296, 586, 206), (22, 44), (72.9, 20.5, 5.1)),
    ("1:6", (52, 312), (876, 489, 189), (13, 78), (69.1, 17.9, 4.6)),
    ("1:12", (36, 432), (748, 392, 163), (9, 108), (57.6, 15.1, 4.4)),
)
_SHUFFLENET_V2_TABLE_2 = (  # G2: groups, channels
    (1, 128, (2451, 1289, 437), 64, (40.0, 10.2, 2.3)),
    (2, 180, (1725, 873, 341), 90, (35.0, 9.5, 2.2)),
    (4, 256, (1026, 644, 338), 128, (32.9, 8.7, 2.1)),
    (8, 360, (634, 445, 230), 180, (27.8, 7.5, 1.8)),
)
_SHUFFLENET_V2_TABLE_3 = (  # G3: structure, channels of the 1-fragment block
    ("1-fragment", 128, (2446, 1274, 434), 64, (40.2, 10.1, 2.3)),
    ("2-fragment-series", 128, (1790, 909, 336), 64, (38.6, 10.1, 2.2)),
    ("4-fragment-series", 128, (752, 745, 349), 64, (38.4, 10.1, 2.3)),
    ("2-fragment-parallel", 128, (1537, 803, 320), 64, (33.4, 9.1, 2.2)),
    ("4-fragment-parallel", 128, (691, 572, 292), 64, (35.0, 8.4, 2.1)),
)
_SHUFFLENET_V2_TABLE_4 = (  # G4: (ReLU, shortcut), channels of the unit
    ((True, True), 32, (2427, 2066, 1436), 32, (56.7, 16.9, 5.0)),
    ((True, False), 32, (2647, 2256, 1735), 32, (61.9, 18.8, 5.2)),
    ((False, True), 32, (2672, 2121, 1458), 32, (57.3, 18.2, 5.1)),
    ((False, False), 32, (2842, 2376, 1782), 32, (66.3, 20.2, 5.4)),
)
SHUFFLENET_V2_GUIDELINE_TABLES = {
    "G1": _SHUFFLENET_V2_TABLE_1,
    "G2": _SHUFFLENET_V2_TABLE_2,
    "G3": _SHUFFLENET_V2_TABLE_3,
    "G4": _SHUFFLENET_V2_TABLE_4,
}
SHUFFLENET_V2_GUIDELINE_SCALES = (1, 2, 4)  # the columns x1, x2, x4: every width times this

# The papers' ImageNet top-1 (percent, 224x224) of each course model, and where it is printed.
# ShuffleNetV2's Table 8 lists top-1 errors. AlexNet's number is the 2012 two-GPU network's (MobileNetV1
# Table 9); torchvision's alexnet is the 2014 one-GPU variant. alexnet_half was never trained on ImageNet.
PAPER_IMAGENET_TOP1: dict[str, tuple[float, str]] = {
    "alexnet": (ALEXNET_PAPER["top1"], ALEXNET_SOURCE),
    "mobilenet_v1": (MOBILENET_V1_TABLE6[1.0][0], f"{MOBILENET_V1_SOURCE}, Table 6"),
    "mobilenet_v2": (MOBILENET_V2_TABLE4["MobileNetV2"][0], f"{MOBILENET_V2_SOURCE}, Table 4"),
    "mobilenet_v3_large": (
        MOBILENET_V3_TABLE3["V3-Large 1.0"][0],
        f"{MOBILENET_V3_SOURCE}, Table 3",
    ),
    "mobilenet_v3_small": (
        MOBILENET_V3_TABLE3["V3-Small 1.0"][0],
        f"{MOBILENET_V3_SOURCE}, Table 3",
    ),
    **{
        f"shufflenet_v2_x{width}": (
            round(100 - SHUFFLENET_V2_TABLE8[f"ShuffleNet v2 {row}"][1], 1),
            f"{SHUFFLENET_V2_SOURCE}, Table 8",
        )
        for width, row in (("0_5", "0.5x"), ("1_0", "1x"), ("1_5", "1.5x"), ("2_0", "2x"))
    },
}
