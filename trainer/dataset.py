"""Views as tensors: the torch ``Dataset``, its epoch-aware sampler and the DataLoader.

A worker returns the augmented S×S grayscale view (float32 in [0, 1]); the training loop
moves the batch to the device and applies the engine's ``normalize_gray`` there. A view
that cannot be decoded is dropped from its batch and reported in ``Batch.skipped``; it
never stops the epoch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from mura_desktop.core.errors import ImageLoadError
from trainer.augment import Augmentation
from trainer.data import ViewSample
from trainer.image_cache import ImageCache


@dataclass
class Batch:
    """Views that loaded (``images`` (N, S, S), ``labels`` float (N,), ``parts`` long (N,),
    ``indices`` long (N,) into the sample list) and ``(index, reason)`` of those that did not."""

    images: torch.Tensor
    labels: torch.Tensor
    parts: torch.Tensor
    indices: torch.Tensor
    skipped: list[tuple[int, str]]

    def pin_memory(self) -> Batch:
        self.images = self.images.pin_memory()
        self.labels = self.labels.pin_memory()
        self.parts = self.parts.pin_memory()
        self.indices = self.indices.pin_memory()
        return self

    def __len__(self) -> int:
        return int(self.indices.numel())


class ViewDataset(Dataset):
    """Indexed by ``(epoch, i)`` pairs from ``EpochSampler``; returns a dict per view."""

    def __init__(
        self,
        samples: Sequence[ViewSample],
        cache: ImageCache,
        augmentation: Augmentation | None = None,
        seed: int = 0,
    ) -> None:
        self.samples = list(samples)
        self.cache = cache
        self.augmentation = augmentation
        self.seed = seed

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: tuple[int, int]) -> dict:
        epoch, index = key
        sample = self.samples[index]
        try:
            array = self.cache.load(sample.path)
        except ImageLoadError as exc:
            return {"index": index, "error": exc.reason}
        image = torch.from_numpy(array).float().div_(255.0)
        if self.augmentation is not None:
            rng = np.random.default_rng((self.seed, epoch, index))
            image = self.augmentation(image, rng)
        return {"index": index, "image": image, "label": sample.label, "part": sample.part}


class EpochSampler(Sampler):
    """Wraps a ``DistributedSampler`` and tags each index with the epoch: ``(epoch, i)``.

    The tag reaches the dataset even with persistent workers, whose own copies of the
    dataset never see ``set_epoch``.
    """

    def __init__(self, inner: DistributedSampler) -> None:
        self.inner = inner
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self.inner.set_epoch(epoch)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = self.epoch
        return ((epoch, i) for i in self.inner)

    def __len__(self) -> int:
        return len(self.inner)


def collate(items: list[dict]) -> Batch:
    good = [it for it in items if "error" not in it]
    skipped = [(it["index"], it["error"]) for it in items if "error" in it]
    images = torch.stack([it["image"] for it in good]) if good else torch.empty((0, 0, 0))
    return Batch(
        images=images,
        labels=torch.tensor([it["label"] for it in good], dtype=torch.float32),
        parts=torch.tensor([it["part"] for it in good], dtype=torch.long),
        indices=torch.tensor([it["index"] for it in good], dtype=torch.long),
        skipped=skipped,
    )


def make_loader(
    dataset: ViewDataset,
    *,
    batch_size: int,
    train: bool,
    workers: int,
    seed: int,
    rank: int = 0,
    world_size: int = 1,
    pin_memory: bool = False,
) -> tuple[DataLoader, EpochSampler]:
    """A DataLoader over ``dataset`` sharded for this rank; shuffled per epoch when training.

    Evaluation shards are padded by ``DistributedSampler`` to equal length; the padding
    repeats views, which the evaluation removes by index.
    """
    sampler = EpochSampler(
        DistributedSampler(
            dataset, num_replicas=world_size, rank=rank, shuffle=train, seed=seed, drop_last=False
        )
    )
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=pin_memory,
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
    )
    return loader, sampler
