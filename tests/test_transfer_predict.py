"""Tests of transfer learning (ImageNet weights, new classifier, frozen features), the shipped
CIFAR-10 checkpoints, prediction and the prediction grid."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
from pathlib import Path

import matplotlib
import pytest
import torch
import torchvision
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torchvision.transforms.functional import pil_to_tensor

from lightnets_course.checkpoint import CheckpointError, compare_state_dicts, load_checkpoint
from lightnets_course.data import (
    CIFAR10_CLASSES,
    CIFAR10_MEAN,
    CIFAR10_STD,
    DeviceLoader,
    cifar10_sample,
    eval_transform,
    file_sha256,
    load_image,
)
from lightnets_course.models import get_model
from lightnets_course.predict import Prediction, predict
from lightnets_course.results import History
from lightnets_course.shipped import (
    has_pretrained_cifar10,
    list_pretrained_cifar10,
    load_pretrained_cifar10,
    save_pretrained_cifar10,
)
from lightnets_course.train import fit
from lightnets_course.transfer import (
    freeze_features,
    load_imagenet_weights,
    load_torchvision_state,
    pretrained,
    replace_classifier,
    trainable_report,
)
from lightnets_course.viz import plot_predictions

matplotlib.use("Agg")
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "cifar10_sample"


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture
def hub_dir(tmp_path):
    """An empty torchvision weights cache, so no test sees (or downloads into) the real one."""
    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    yield tmp_path / "hub"
    torch.hub.set_dir(previous)


def place_in_cache(hub_dir: Path, name: str) -> nn.Module:
    """Put a randomly initialised torchvision model where torchvision caches the ImageNet weights."""
    reference = torchvision.models.get_model(name)
    url = torchvision.models.get_model_weights(name).DEFAULT.url
    cached = hub_dir / "checkpoints" / Path(urllib.parse.urlparse(url).path).name
    cached.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), cached)
    return reference.eval()


def small_model(num_classes: int = 10) -> nn.Module:
    return get_model("mobilenet_v1", num_classes=num_classes, cifar=True, width_mult=0.25)


def with_metadata(model: nn.Module) -> nn.Module:
    model.class_names = list(CIFAR10_CLASSES)
    model.normalization = {"mean": list(CIFAR10_MEAN), "std": list(CIFAR10_STD)}
    model.image_size = 32
    return model.eval()


# ---------------------------------------------------------------------------------------------------
# ImageNet weights


def test_imagenet_weights_load_from_torchvisions_cache(hub_dir):
    reference = place_in_cache(hub_dir, "mobilenet_v3_small")
    model = get_model("mobilenet_v3_small")
    assert load_imagenet_weights(model, progress=False) is model
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), reference(x))


def test_offline_download_says_where_to_put_the_file(hub_dir, monkeypatch):
    def offline(url, destination, *args, **kwargs):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(ConnectionError) as caught:
        load_imagenet_weights(get_model("shufflenet_v2_x0_5"), progress=False)
    message = str(caught.value)
    url = torchvision.models.ShuffleNet_V2_X0_5_Weights.DEFAULT.url
    assert f"Could not download torchvision's ImageNet weights for shufflenet_v2_x0_5 from {url}" in message
    assert "Temporary failure in name resolution" in message
    assert f"save the file, unchanged, as {hub_dir / 'checkpoints' / Path(url).name}" in message


def test_imagenet_weights_refuse_models_they_do_not_fit():
    with pytest.raises(
        ValueError, match=r"has 10 classes; build it with num_classes=1000.*replace_classifier\(model, 10\)"
    ):
        load_imagenet_weights(get_model("shufflenet_v2_x0_5", num_classes=10))
    with pytest.raises(ValueError, match="torchvision has no ImageNet weights for mobilenet_v1"):
        load_imagenet_weights(get_model("mobilenet_v1"))
    with pytest.raises(TypeError, match="needs a course model"):
        load_imagenet_weights(nn.Linear(2, 2))


def test_torchvision_weights_load_strictly_with_a_readable_report():
    model = get_model("shufflenet_v2_x0_5")
    reference = torchvision.models.shufflenet_v2_x0_5().eval()
    load_torchvision_state(model, reference)  # a model works as well as its state dict
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), reference(x))

    before = {key: value.clone() for key, value in model.state_dict().items()}
    ten_classes = torchvision.models.shufflenet_v2_x0_5(num_classes=10).state_dict()
    with pytest.raises(
        ValueError,
        match=r"different shapes \(2\):\n    fc.weight: model \(1000, 1024\), weights \(10, 1024\)",
    ):
        load_torchvision_state(model, ten_classes)
    other = torchvision.models.mobilenet_v3_small().state_dict()
    with pytest.raises(
        ValueError,
        match=r"(?s)nothing was loaded.*missing from the weights \(\d+\): conv1.0.weight.*not in the model",
    ):
        load_torchvision_state(model, other)
    assert all(torch.equal(value, before[key]) for key, value in model.state_dict().items())


# ---------------------------------------------------------------------------------------------------
# New classifier, frozen features


@pytest.mark.parametrize(
    ("name", "options", "last_layer"),
    [
        ("alexnet_half", {}, "classifier.6"),
        ("mobilenet_v1", {"width_mult": 0.25}, "classifier.1"),
        ("mobilenet_v2", {"width_mult": 0.25}, "classifier.1"),
        ("mobilenet_v3_small", {"width_mult": 0.25}, "classifier.3"),
        ("shufflenet_v2_x0_5", {}, "fc"),
    ],
)
def test_replace_classifier_changes_only_the_last_layer(name, options, last_layer):
    model = get_model(name, num_classes=10, cifar=True, **options)
    before = {key: value.clone() for key, value in model.state_dict().items()}
    assert replace_classifier(model, 7) is model
    after = model.state_dict()
    changed = sorted(
        key
        for key in before
        if before[key].shape != after[key].shape or not torch.equal(before[key], after[key])
    )
    assert changed == [f"{last_layer}.bias", f"{last_layer}.weight"]
    assert after[f"{last_layer}.weight"].shape[0] == 7
    assert model.eval()(torch.randn(2, 3, 32, 32)).shape == (2, 7)
    # The configuration follows, so a checkpoint rebuilds the new shape.
    assert model.config["num_classes"] == 7
    assert compare_state_dicts(get_model(**model.config).state_dict(), after) == ""


def test_freeze_features_trains_only_the_classifier_and_keeps_batchnorm_statistics():
    torch.manual_seed(0)
    model = get_model("mobilenet_v2", num_classes=10, cifar=True, width_mult=0.25)
    report = freeze_features(model)
    classifier = sum(p.numel() for p in model.classifier.parameters())
    total = sum(p.numel() for p in model.parameters())
    assert (report.trainable, report.frozen) == (classifier, total - classifier)
    assert report.by_module == {"features": (0, total - classifier), "classifier": (classifier, 0)}
    assert repr(report).splitlines() == [
        f"TrainableReport: {classifier:,} of {total:,} parameters trainable "
        f"({100 * classifier / total:.1f}%)",
        f"  features    {total - classifier:,} frozen",
        f"  classifier  {classifier:,} trainable",
    ]

    before = {key: value.clone() for key, value in model.state_dict().items()}
    images, labels = torch.randn(64, 3, 32, 32), torch.arange(64) % 10
    fit(model, DataLoader(TensorDataset(images, labels), batch_size=16), epochs=1, progress=False)
    after = model.state_dict()
    changed = {key for key in before if not torch.equal(before[key], after[key])}
    # Frozen weights and the running statistics of the frozen BatchNorm layers stay as they were.
    assert changed == {"classifier.1.weight", "classifier.1.bias"}
    assert trainable_report(model).trainable == classifier


def test_pretrained_is_imagenet_weights_plus_a_new_frozen_head(hub_dir):
    reference = place_in_cache(hub_dir, "mobilenet_v3_small")
    model = pretrained("mobilenet_v3_small", num_classes=5, cifar=True)
    assert model.classifier[3].out_features == 5 and model.config["cifar"]
    assert torch.equal(model.features[0][0].weight, reference.features[0][0].weight)
    assert all(not p.requires_grad for p in model.features.parameters())
    assert all(p.requires_grad for p in model.classifier.parameters())


# ---------------------------------------------------------------------------------------------------
# Shipped CIFAR-10 checkpoints


def test_a_shipped_checkpoint_round_trips_with_its_manifest(tmp_path):
    train, val = cifar10_sample().split(0.2, seed=0)
    _, train = train.split(0.2, seed=0)
    torch.manual_seed(0)
    model = small_model()
    history = fit(model, DeviceLoader(train, 32, train=True, device="cpu"), None, 1, progress=False)
    path = save_pretrained_cifar10(
        model,
        test_accuracy=0.5,
        sample_accuracy=0.4,
        recipe="SGD, one cycle, batch 32",
        command="lightnets train --model mobilenet_v1 ...",
        history=history,
        folder=tmp_path,
    )
    assert path == tmp_path / "mobilenet_v1.pt"
    entry = json.loads((tmp_path / "manifest.json").read_text())["mobilenet_v1.pt"]
    assert entry["model"] == "mobilenet_v1"
    assert entry["kwargs"] == {key: value for key, value in model.config.items() if key != "name"}
    assert entry["sha256"] == file_sha256(path)
    assert (entry["mean"], entry["std"]) == (list(CIFAR10_MEAN), list(CIFAR10_STD))
    assert entry["test_accuracy"] == 0.5 and entry["sample_accuracy"] == 0.4 and entry["epochs"] == 1
    assert entry["train_seconds"] == sum(history.epoch_time) and entry["history"]["lr"] == history.lr
    assert (entry["floor"], entry["meets_floor"]) == (0.86, False)
    assert {"recipe", "command", "machine", "date"} <= set(entry)
    stored = load_checkpoint(path)["model"]
    assert all(value.dtype == torch.float16 for value in stored.values() if value.is_floating_point())

    assert has_pretrained_cifar10("mobilenet_v1", folder=tmp_path)
    assert not has_pretrained_cifar10("mobilenet_v2", folder=tmp_path)
    assert list(list_pretrained_cifar10(tmp_path)) == ["mobilenet_v1"]
    loaded = load_pretrained_cifar10("mobilenet_v1", device="cpu", folder=tmp_path)
    assert not loaded.training and loaded.class_names == CIFAR10_CLASSES
    assert loaded.normalization == model.normalization
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    x = next(iter(DeviceLoader(val, 16, device="cpu")))[0]
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), atol=2e-2, rtol=2e-2)  # float16 storage

    path.write_bytes(path.read_bytes() + b"!")
    with pytest.raises(CheckpointError, match="is damaged or was changed: its SHA-256 is"):
        load_pretrained_cifar10("mobilenet_v1", folder=tmp_path)


def test_a_missing_shipped_checkpoint_says_how_to_train_one(tmp_path):
    with pytest.raises(
        FileNotFoundError,
        match="No pre-trained CIFAR-10 checkpoint of 'mobilenet_v2'.*"
        "lightnets train --model mobilenet_v2 --cifar",
    ):
        load_pretrained_cifar10("mobilenet_v2", folder=tmp_path)


def test_save_pretrained_needs_the_normalisation(tmp_path):
    with pytest.raises(ValueError, match="has no .normalization"):
        save_pretrained_cifar10(
            small_model(),
            test_accuracy=0.1,
            recipe="-",
            command="-",
            history=History(),
            sample_accuracy=0.1,
            folder=tmp_path,
        )


# ---------------------------------------------------------------------------------------------------
# Prediction


def test_paths_pil_images_and_tensors_get_the_same_predictions_as_the_eval_pipeline():
    torch.manual_seed(0)
    model = with_metadata(small_model())
    paths = sorted((SAMPLE / "cat").glob("*.jpg"))[:3]
    predictions = predict(model, paths, topk=3)

    images = [load_image(path) for path in paths]
    batch = torch.stack([eval_transform(32, CIFAR10_MEAN, CIFAR10_STD)(image) for image in images])
    with torch.no_grad():
        expected_probabilities, expected_indices = model(batch).softmax(dim=1).topk(3, dim=1)
    for prediction, probabilities, indices in zip(predictions, expected_probabilities, expected_indices):
        assert prediction.indices == indices.tolist()
        assert prediction.labels == [CIFAR10_CLASSES[i] for i in indices.tolist()]
        assert prediction.probabilities == pytest.approx(probabilities.tolist(), abs=1e-6)
        assert (
            prediction.label == prediction.labels[0] and prediction.probability == prediction.probabilities[0]
        )
    assert [p.source for p in predictions] == [str(path) for path in paths]
    assert repr(predictions[0]).startswith(f"Prediction({paths[0]}: {predictions[0].label} ")

    from_pil = predict(model, images, topk=3)
    from_tensors = predict(model, torch.stack([pil_to_tensor(image) for image in images]), topk=3)
    for other in (from_pil, from_tensors):
        assert [p.indices for p in other] == [p.indices for p in predictions]
        assert [p.source for p in other] == ["image 0", "image 1", "image 2"]
    single = predict(model, paths[0], topk=100)
    assert len(single) == 1 and len(single[0].labels) == 10  # topk stops at the number of classes


def test_prediction_mistakes_get_clear_errors(tmp_path):
    model = with_metadata(small_model())
    with pytest.raises(FileNotFoundError, match="No image file at .*holiday.jpg"):
        predict(model, [tmp_path / "holiday.jpg"])
    (tmp_path / "notes.jpg").write_text("not an image")
    with pytest.raises(ValueError, match="notes.jpg is not an image Pillow can read"):
        predict(model, [tmp_path / "notes.jpg"])
    with pytest.raises(TypeError, match="image 0 is a torch.float32 tensor; predict takes uint8 images"):
        predict(model, torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="topk must be a whole number >= 1"):
        predict(model, torch.zeros(3, 32, 32, dtype=torch.uint8), topk=0)
    with pytest.raises(ValueError, match="pass mean= and std="):
        predict(small_model(), torch.zeros(3, 32, 32, dtype=torch.uint8))


def test_prediction_grid_titles_right_green_and_wrong_red():
    sample = cifar10_sample()
    images, labels = sample.images[::250], sample.labels[::250]  # four images of four classes
    logits = torch.full((4, 10), -5.0)
    guesses = [int(labels[0]), int(labels[1]), (int(labels[2]) + 1) % 10, (int(labels[3]) + 1) % 10]
    logits[range(4), guesses] = 5.0
    figure = plot_predictions(images, logits, labels=labels, class_names=CIFAR10_CLASSES)
    titles = [ax.title for ax in figure.axes[:4]]
    assert [title.get_color() for title in titles] == ["green", "green", "red", "red"]
    assert titles[0].get_text() == f"{CIFAR10_CLASSES[guesses[0]]} 100%"
    assert titles[2].get_text().endswith(f"(true: {CIFAR10_CLASSES[int(labels[2])]})")

    normalised = (images.float() / 255 - torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)) / torch.tensor(
        CIFAR10_STD
    ).view(1, 3, 1, 1)
    predictions = [Prediction("image", [CIFAR10_CLASSES[g]], [0.9], [g]) for g in guesses]
    figure = plot_predictions(normalised, predictions, mean=CIFAR10_MEAN, std=CIFAR10_STD)
    assert [ax.title.get_color() for ax in figure.axes[:4]] == ["black"] * 4  # no true labels given
    with pytest.raises(ValueError, match="normalised; pass mean= and std="):
        plot_predictions(normalised, predictions)
