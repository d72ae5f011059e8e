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
# The V3-Small 1.0 row in the other version of the paper, whose Small head is 1280 wide: (MMACs, Mparams)
MOBILENET_V3_SMALL_1280_HEAD = (66, 2.9)
# Section 5.3, "Redesigning Expensive Layers": change -> (MMACs saved, Pixel-1 ms saved, the paper's words)
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

# AlexNet. Krizhevsky et al. 2012: "60 million parameters and 650,000 neurons"; MobileNetV1 Table 9
# lists it at 57.2% top-1, 720 M Mult-Adds, 60 M params. torchvision implements the 2014 "one weird
# trick" variant (arXiv 1404.5997).
ALEXNET_SOURCE = "Krizhevsky et al. 2012; MobileNetV1 Table 9"
ALEXNET_PAPER = {"Mparams": 60, "MMACs": 720, "top1": 57.2}

# CIFAR-10 results of the same families (32x32 variants, 200-350 epochs), top-1 test accuracy.
CIFAR10_PUBLISHED = {
    "mobilenet_v2": (94.43, "kuangliu/pytorch-cifar README (350 epochs, CIFAR stem)"),
    "mobilenet_v2 (chenyaofo)": (93.79, "chenyaofo/pytorch-cifar-models README"),
    "shufflenet_v2_x0_5": (90.13, "chenyaofo/pytorch-cifar-models README"),
    "shufflenet_v2_x1_0": (92.98, "chenyaofo/pytorch-cifar-models README"),
    "shufflenet_v2_x2_0": (93.81, "chenyaofo/pytorch-cifar-models README"),
}
