"""Made-up examples between intents: where they lie, how long they are, what they skip."""

from __future__ import annotations

import numpy as np
import scipy.sparse

from bot.engine.between_intents import SHARE_RANGE, mixes_between_intents

# Three intents along three axes (unit sentence vectors), one out-of-scope example
# (on no axis; its length does not matter here),
# then two sparse columns weighted to length 0.1 as the classifier weights them.
DENSE = np.array(
    [[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0.5]], dtype=float
)
SPARSE = 0.1 * np.array([[1, 0], [0, 1], [1, 0], [1, 0], [0, 1], [0, 1]], dtype=float)
FEATURES = scipy.sparse.csr_matrix(np.hstack([DENSE, SPARSE]))
LABELS = ["track", "track", "refund", "refund", "greet", "out_of_scope"]


def _mixes(count: int = 200, seed: int = 7) -> np.ndarray:
    mixed = mixes_between_intents(
        FEATURES, LABELS, count=count, outside="out_of_scope", block_ends=[3, 5], seed=seed
    )
    dense: np.ndarray = mixed.toarray()
    return dense


def test_each_mix_lies_between_two_different_intents() -> None:
    dense = _mixes()[:, :3]
    # Never on one axis (a pair from one intent), never on all three (a mix with the
    # out-of-scope example): two axes, neither holding more than 0.7 of the mix.
    assert ((dense > 1e-9).sum(axis=1) == 2).all()
    assert (dense.max(axis=1) / dense.sum(axis=1) <= SHARE_RANGE[1] + 1e-9).all()
    pairs = {tuple(int(axis) for axis in np.flatnonzero(row > 1e-9)) for row in dense}
    assert pairs == {(0, 1), (0, 2), (1, 2)}


def test_mixes_keep_the_length_of_their_sources_block_by_block() -> None:
    """A short vector would be out of scope by its length alone, not by where it lies."""
    mixed = _mixes()
    assert np.allclose(np.linalg.norm(mixed[:, :3], axis=1), 1.0)
    sparse_lengths = np.linalg.norm(mixed[:, 3:], axis=1)
    assert np.allclose(sparse_lengths, 0.1)


def test_the_same_seed_gives_the_same_mixes() -> None:
    assert np.array_equal(_mixes(seed=3), _mixes(seed=3))
    assert not np.array_equal(_mixes(seed=3), _mixes(seed=4))


def test_nothing_to_mix_gives_no_rows() -> None:
    one_intent = ["track", "track", "track", "track", "track", "out_of_scope"]
    for labels, count in ((LABELS, 0), (one_intent, 50)):
        mixed = mixes_between_intents(
            FEATURES, labels, count=count, outside="out_of_scope", block_ends=[5], seed=1
        )
        assert mixed.shape == (0, 5)
