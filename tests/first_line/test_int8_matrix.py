"""The int8 matrix product (first_line/int8_matrix.py) against numpy."""

from __future__ import annotations

import numpy as np

from first_line.int8_matrix import ROW_ZERO_POINT, Int8Matrix


def unit_rows(count: int, dimension: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, dimension)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_product_of_unit_vectors_is_within_a_few_thousandths_of_the_float_product():
    matrix = unit_rows(2000, 384, seed=1).T
    rows = unit_rows(50, 384, seed=2)
    product = Int8Matrix(matrix).product(rows)
    assert product.shape == (50, 2000) and product.dtype == np.float32
    assert np.abs(product - rows @ matrix).max() < 0.005


def test_integer_sums_are_exact_so_a_row_scores_the_same_alone_or_in_a_batch():
    matrix = unit_rows(300, 64, seed=3).T
    rows = unit_rows(20, 64, seed=4)
    int8 = Int8Matrix(matrix)
    batch = int8.product(rows)
    alone = np.vstack([int8.product(row[None]) for row in rows])
    assert np.array_equal(batch, alone)
    # the session's int32 sums equal numpy's on the same quantised values
    quantized = (np.round(rows / (np.abs(rows).max(1, keepdims=True) / 63)) + ROW_ZERO_POINT).astype(np.uint8)
    sums = int8._session.run(None, {"rows": quantized})[0]
    scale = np.abs(matrix).max(0) / 127
    expected = (quantized.astype(np.int64) - ROW_ZERO_POINT) @ np.round(matrix / scale).astype(np.int64)
    assert np.array_equal(sums, expected)


def test_zero_rows_and_columns_give_zeros():
    matrix = unit_rows(10, 16, seed=5).T.copy()
    matrix[:, 3] = 0.0
    rows = np.vstack([np.zeros(16, np.float32), unit_rows(1, 16, seed=6)[0]])
    product = Int8Matrix(matrix).product(rows)
    assert np.all(product[0] == 0.0) and np.all(product[:, 3] == 0.0)
    assert np.isfinite(product).all()
