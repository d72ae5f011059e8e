"""Companion package of the LightNets course on lightweight convolutional networks.

Every piece of real code the notebooks run lives here:

- ``lightnets_course.models``: AlexNet, MobileNetV1/V2/V3 and ShuffleNetV2, written as the papers' tables;
- ``lightnets_course.complexity``: params, MACs, FLOPs and memory access cost, per layer and per model;
- ``lightnets_course.benchmark``: latency and throughput, and ShuffleNetV2's guideline experiments G1-G4;
- ``lightnets_course.data`` / ``train`` / ``transfer`` / ``predict``: datasets, the training loop,
  ImageNet transfer learning and prediction;
- ``lightnets_course.viz`` / ``widgets`` / ``exercises``: plots, notebook explorers and exercise checks.
"""

__version__ = "0.1.0"
