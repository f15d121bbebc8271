"""Speaker embeddings grouped into speakers: average-linkage agglomerative clustering on cosine similarity.

Every embedding starts as its own group; the two groups whose members are most alike on average are
joined, until no pair is alike by ``THRESHOLD`` (or until the number of speakers asked for is reached).
For unit vectors the average similarity of two groups is ``sum_a . sum_b / (n_a * n_b)``, so a group is
its sum and its size and a join costs one row of products. Long recordings have thousands of windows:
they are first reduced to at most ``MAX_GROUPS`` k-means groups (weighted by their sizes from then on).
Groups of less than ``MIN_SHARE`` of the speech (a cough, a few words in another voice) are folded
into the group they are most alike, unless the number of speakers was given.
"""

from __future__ import annotations

import numpy as np

THRESHOLD = 0.475  # the least average cosine similarity of two groups that are one speaker
MAX_GROUPS = 400  # agglomeration starts from at most this many groups
MIN_SHARE = 0.05  # a speaker with less of the windows is folded into the nearest one
MAX_SPEAKERS = 32
_SEED = 0


def unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float64)


def kmeans(x: np.ndarray, k: int, *, rounds: int = 20) -> np.ndarray:
    """Labels of unit rows ``x`` in ``k`` spherical k-means groups (farthest-first start, fixed seed)."""
    rng = np.random.default_rng(_SEED)
    centers = [x[int(rng.integers(len(x)))]]
    best = x @ centers[0]
    for _ in range(1, k):
        centers.append(x[int(np.argmin(best))])
        best = np.maximum(best, x @ centers[-1])
    c = np.stack(centers)
    labels = np.zeros(len(x), dtype=np.int64)
    for _ in range(rounds):
        fresh = np.argmax(x @ c.T, axis=1)
        if np.array_equal(fresh, labels) and _ > 0:
            break
        labels = fresh
        sums = np.zeros_like(c)
        np.add.at(sums, labels, x)
        empty = np.linalg.norm(sums, axis=1) == 0
        sums[empty] = c[empty]
        c = unit(sums)
    return labels


def cluster(
    embeddings: np.ndarray, *, num_speakers: int = 0, min_speakers: int = 1, max_speakers: int = MAX_SPEAKERS
) -> np.ndarray:
    """A speaker index per embedding (0 for the speaker heard first, then 1...). ``num_speakers`` fixes
    the count (0: found by ``THRESHOLD``, kept within ``min_speakers``..``max_speakers``)."""
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    x = unit(embeddings)
    start = kmeans(x, MAX_GROUPS) if n > MAX_GROUPS else np.arange(n)
    groups = int(start.max()) + 1
    sums = np.zeros((groups, x.shape[1]))
    np.add.at(sums, start, x)
    sizes = np.bincount(start, minlength=groups).astype(np.float64)
    keep = sizes > 0
    sums, sizes = sums[keep], sizes[keep]
    start = np.cumsum(keep)[start] - 1
    low = num_speakers or min_speakers
    high = num_speakers or max_speakers
    members = _agglomerate(sums, sizes, low=max(1, low), high=max(1, high))
    labels = members[start]
    if not num_speakers:
        labels = _fold_small(x, labels, floor=max(1, min_speakers))
    return _in_order_heard(labels)


def _agglomerate(sums: np.ndarray, sizes: np.ndarray, *, low: int, high: int) -> np.ndarray:
    """The group each of the starting groups ends in: joined while the best pair is alike by
    ``THRESHOLD`` and there are more than ``low`` groups, and always while there are more than ``high``."""
    count = len(sums)
    owner = np.arange(count)
    alive = np.ones(count, dtype=bool)
    similarity = (sums @ sums.T) / np.outer(sizes, sizes)
    np.fill_diagonal(similarity, -np.inf)
    groups = count
    while groups > low:
        flat = int(np.argmax(similarity))
        a, b = divmod(flat, count)
        if similarity[a, b] < THRESHOLD and groups <= high:
            break
        sums[a] += sums[b]
        sizes[a] += sizes[b]
        alive[b] = False
        owner[owner == b] = a
        row = (sums @ sums[a]) / (sizes * sizes[a])
        row[~alive] = -np.inf
        row[a] = -np.inf
        similarity[a, :] = row
        similarity[:, a] = row
        similarity[b, :] = -np.inf
        similarity[:, b] = -np.inf
        groups -= 1
    return owner


def _fold_small(x: np.ndarray, labels: np.ndarray, *, floor: int) -> np.ndarray:
    """Labels with each group of less than ``MIN_SHARE`` of the rows joined to the most alike big one
    (never below ``floor`` groups)."""
    labels = labels.copy()
    while True:
        names, counts = np.unique(labels, return_counts=True)
        if len(names) <= floor:
            return labels
        smallest = int(np.argmin(counts))
        if counts[smallest] >= MIN_SHARE * len(labels):
            return labels
        small = names[smallest]
        centers = {name: unit(x[labels == name].sum(axis=0, keepdims=True))[0] for name in names}
        mean = centers[small]
        target = max((name for name in names if name != small), key=lambda name: float(centers[name] @ mean))
        labels[labels == small] = target


def _in_order_heard(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0, 1, ... in the order each first occurs."""
    order: dict[int, int] = {}
    for label in labels.tolist():
        order.setdefault(label, len(order))
    return np.asarray([order[label] for label in labels.tolist()], dtype=np.int64)
