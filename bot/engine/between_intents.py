"""Made-up examples between two intents, for the intent that means "none of these".

Under a plain softmax, an off-topic question goes to whichever intent lies nearest,
unless the out-of-scope intent's own examples claim the ground around it. They are too
few for that: CLINC150 has 100 among 15,000, and the shop has 158 among 2,000, for all
the space between the intents. This module fills that space with pseudo-outliers: a mix
of two examples of different intents (each weighing 0.3 to 0.7) lies between them, where
a question that is a little like both, and about neither, lands. Trained as the
out-of-scope intent, they make it the answer there, while the examples of each intent
keep their own region. It is the feature mixing of Zhan et al. 2021 ("Out-of-Scope
Intent Detection with Self-Supervision and Discriminative Training"), on the
classifier's input instead of inside a network.

A mix is shorter than the vectors it comes from (two unit vectors average to less than
one), and a short vector gets flat scores from every intent, which a linear classifier
would learn to call out of scope by length alone. So each block of columns (the sentence
vector; the sparse features) is scaled back to the mixed length of its two sources.

Imports: numpy, scipy and the standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

# How much of each source a mix takes: near the middle, away from both intents.
SHARE_RANGE = (0.3, 0.7)


def _row_norms(matrix: scipy.sparse.csr_matrix) -> np.ndarray:
    return np.asarray(scipy.sparse.linalg.norm(matrix, axis=1)).ravel()


def mixes_between_intents(
    features: scipy.sparse.csr_matrix,
    labels: Sequence[str],
    *,
    count: int,
    outside: str,
    block_ends: Sequence[int],
    seed: int,
) -> scipy.sparse.csr_matrix:
    """``count`` rows, each a mix of two examples of different intents, neither ``outside``.

    ``block_ends`` are the end columns of the blocks whose lengths are restored (the
    last one is the width). Fewer than two usable intents give no rows.
    """
    label_array = np.asarray(labels)
    usable = np.flatnonzero(label_array != outside)
    width = features.shape[1]
    if count < 1 or len(set(label_array[usable])) < 2:
        return scipy.sparse.csr_matrix((0, width))
    rng = np.random.default_rng(seed)
    first, second = rng.choice(usable, count), rng.choice(usable, count)
    # A pair from one intent is redrawn; the usable intents number at least two.
    same = label_array[first] == label_array[second]
    while same.any():
        second[same] = rng.choice(usable, int(same.sum()))
        same = label_array[first] == label_array[second]
    share = rng.uniform(*SHARE_RANGE, count)
    rows = np.arange(count)
    mixing = scipy.sparse.csr_matrix(
        (np.concatenate([share, 1 - share]), (np.tile(rows, 2), np.concatenate([first, second]))),
        shape=(count, features.shape[0]),
    )
    mixed = (mixing @ features).tocsc()
    blocks = []
    for start, end in zip([0, *block_ends[:-1]], block_ends, strict=True):
        source = features[:, start:end]
        wanted = mixing @ _row_norms(source)
        block = mixed[:, start:end].tocsr()
        length = _row_norms(block)
        scale = np.divide(wanted, length, out=np.zeros(count), where=length > 0)
        blocks.append(scipy.sparse.diags(scale) @ block)
    return scipy.sparse.hstack(blocks).tocsr()
