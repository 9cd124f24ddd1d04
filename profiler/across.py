"""What a batch adds beyond each column alone: label association, correlations between numeric
columns, the uniform sample of rows, the row sample the leakage check reads, and the personal-data scan.

Each function takes the BatchProfiler of the batch, whose columns it has converted once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from profiler import languages, pii, rowsample
from profiler.columns import ticks
from profiler.sketches import CoMoments, Moments
from profiler.state import PII_SAMPLE, SAMPLE_ROWS
from profiler.values import iso_strings, jsonable, temporal_form

if TYPE_CHECKING:
    from profiler.compute import BatchProfiler

# Label values beyond this many are not a classification label; association is not computed.
LABEL_CLASSES_LIMIT = 1_000
# Categorical features with more values than this are left out of label association (Cramér's V).
ASSOCIATION_VALUES_LIMIT = 200
# Pairwise correlations are computed for at most this many numeric columns, over blocks of this
# many rows (20 columns of them in float64 fit in a core's cache: three times faster than whole batches).
CORRELATION_COLUMNS = 20
CORRELATION_BLOCK = 16_384
# A pair's sum of squared deviations below this share of its sum of squares about the batch mean has
# lost too many digits to subtraction (float64 keeps about 16): it is computed directly instead.
CANCELLATION = 1e-7


def label_association(work: BatchProfiler) -> None:
    """Per label value: moments of each numeric feature, value counts of each categorical one.

    Computed from dictionary codes with numpy bincounts: one pass per feature, no grouping."""
    label = work.profile.label_column
    positions = {state.name: index for index, state in work.states}
    if label is None or label not in positions:
        return
    label_state = work.profile.column(label)
    if label_state is None or label_state.values is None or len(label_state.values) > LABEL_CLASSES_LIMIT:
        return
    label_encoded = work.encoding_of(positions[label], label_state, force=True)
    if label_encoded is None or not len(label_encoded.dictionary):
        return
    label_values = label_encoded.values()
    codes = label_encoded.codes
    labelled = codes >= 0
    every_row_labelled = bool(labelled.all())
    classes = len(label_values)
    for index, state in work.states:
        if state.name == label:
            continue
        if state.kind == "numeric":
            values = work.floats_of(index)
            present = np.isfinite(values)
            if not every_row_labelled:
                present &= labelled
            group, x = (codes, values) if present.all() else (codes[present], values[present])
            n = np.bincount(group, minlength=classes)
            sums = np.bincount(group, weights=x, minlength=classes)
            means = sums / np.maximum(n, 1)
            m2 = np.bincount(group, weights=(x - means[group]) ** 2, minlength=classes)
            for code in np.flatnonzero(n):
                key = label_values[code]
                previous = state.by_label.get(key, Moments())
                if isinstance(previous, Moments):
                    state.by_label[key] = previous.merge(Moments(int(n[code]), float(means[code]), float(m2[code])))
        elif (
            state.kind in ("string", "boolean")
            and state.values is not None
            and len(state.values) <= ASSOCIATION_VALUES_LIMIT
        ):
            feature = work.encoding_of(index, state, force=True)
            if feature is None or not len(feature.dictionary):
                continue
            feature_values = feature.values()
            present = labelled & (feature.codes >= 0)
            width = len(feature_values)
            cells = np.bincount(codes[present] * width + feature.codes[present], minlength=classes * width).reshape(
                classes, width
            )
            for code in np.flatnonzero(cells.any(axis=1)):
                counts = state.by_label.setdefault(label_values[code], {})
                if isinstance(counts, dict):
                    for value_code in np.flatnonzero(cells[code]):
                        value = feature_values[value_code]
                        counts[value] = counts.get(value, 0) + int(cells[code, value_code])


def correlations(work: BatchProfiler) -> None:
    """Pairwise-complete co-moments of the numeric columns, from matrix products over blocks of
    rows small enough to stay in the processor's cache."""
    assert work.batch is not None
    numeric = [
        (index, state.name)
        for index, state in work.states
        if state.kind == "numeric" and state.name != work.profile.label_column
    ][:CORRELATION_COLUMNS]
    if len(numeric) < 2:
        return
    k, rows = len(numeric), work.batch.num_rows
    # Centred on each column's batch mean: raw sums of heavy-tailed values lose precision.
    centre = np.array([work.means.get(index, 0.0) for index, _ in numeric])[:, None]
    columns = [work.floats_of(index) for index, _ in numeric]
    n, sums, squares, products = (np.zeros((k, k)) for _ in range(4))
    step = min(CORRELATION_BLOCK, rows)
    block, weights, squared = np.empty((k, step)), np.empty((k, step)), np.empty((k, step))
    valid = np.empty((k, step), dtype=bool)
    for start in range(0, rows, step):
        stop = min(start + step, rows)
        v, w, v2, ok = (
            block[:, : stop - start],
            weights[:, : stop - start],
            squared[:, : stop - start],
            valid[:, : stop - start],
        )
        for row, values in enumerate(columns):
            v[row] = values[start:stop]
        np.isfinite(v, out=ok)  # nulls became NaN; infinities have no moments
        np.copyto(w, ok)
        v -= centre
        np.copyto(v, 0.0, where=~ok)
        np.multiply(v, v, out=v2)
        n += w @ w.T  # n[i, j]: rows where both are present
        sums += v @ w.T  # sums[i, j]: sum of column i over rows where j is present too
        squares += v2 @ w.T
        products += v @ v.T
    for a in range(k):
        for b in range(a + 1, k):
            count = n[a, b]
            if not count:
                continue
            mean_x, mean_y = sums[a, b] / count, sums[b, a] / count
            m2_x = squares[a, b] - count * mean_x * mean_x
            m2_y = squares[b, a] - count * mean_y * mean_y
            if m2_x < squares[a, b] * CANCELLATION or m2_y < squares[b, a] * CANCELLATION:
                # The pair's rows lie far from a column's batch mean (its outliers are where the
                # other column is missing): the shortcut cancels digits, so the pair is summed again.
                part = _comoments(columns[a], columns[b])
            else:
                part = CoMoments(
                    int(count),
                    mean_x + centre[a, 0],
                    mean_y + centre[b, 0],
                    m2_x,
                    m2_y,
                    products[a, b] - count * mean_x * mean_y,
                )
            pair = (numeric[a][1], numeric[b][1])
            work.profile.pairs[pair] = work.profile.pairs.get(pair, CoMoments()).merge(part)


def sample(work: BatchProfiler) -> None:
    """Keep the rows with the smallest random keys: a uniform sample that merges exactly."""
    assert work.batch is not None
    rows = work.batch.num_rows
    keys = work.random.random(rows)
    positions = np.argpartition(keys, SAMPLE_ROWS)[:SAMPLE_ROWS] if rows > SAMPLE_ROWS else np.arange(rows)
    worst_kept = work.profile.sample[-1][0] if len(work.profile.sample) >= SAMPLE_ROWS else 2.0
    positions = positions[keys[positions] < worst_kept]
    if positions.size == 0:
        return
    taken = work.batch.take(pa.array(positions, type=pa.int64()))
    columns = []
    for index, column in enumerate(taken.columns):
        state = work.states[index][1]
        if state.kind == "temporal":
            form, unit = temporal_form(str(column.type))
            texts = iso_strings(ticks(column), form, unit)
            valid = column.is_valid().to_pylist()
            columns.append([text if present else None for text, present in zip(texts, valid, strict=True)])
            continue
        values = column.to_pylist()
        if not (state.kind in ("string", "boolean") or pa.types.is_integer(column.type)):
            values = [jsonable(value) for value in values]  # strings, integers and booleans already are
        columns.append(values)
    for position, values in zip(positions.tolist(), zip(*columns, strict=True), strict=True):
        row_id = f"{work.relative_path}:{work.next_row + position + 1}"
        work.profile.sample.append((float(keys[position]), row_id, list(values)))
    work.profile.sample.sort(key=lambda entry: entry[0])
    del work.profile.sample[SAMPLE_ROWS:]


def row_sample(work: BatchProfiler) -> None:
    """Offer the batch's rows to the sample the label-leakage check reads: numeric columns as
    numbers, the others by the hashes `_hashes` computed."""
    assert work.batch is not None
    if work.profile.row_sample is None:
        work.profile.row_sample = rowsample.RowSample(capacity=rowsample.capacity(len(work.profile.columns)))
    rows = work.batch.num_rows
    row_ids = (np.uint64(work.file_index) << np.uint64(40)) | np.arange(
        work.next_row, work.next_row + rows, dtype=np.uint64
    )
    columns = {
        state.name: work.floats_of(index) if state.kind == "numeric" else work.column_hashes[index]
        for index, state in work.states
        if state.kind == "numeric" or index in work.column_hashes
    }
    work.profile.row_sample.add(row_ids, columns)


def pii_matches(work: BatchProfiler) -> None:
    for index, state in work.states:
        if state.kind != "string" or state.pii_sampled >= PII_SAMPLE:
            continue
        values = work.column_of(index).drop_null().slice(0, PII_SAMPLE - state.pii_sampled)
        scan = pii.scan_values(values)
        state.pii_sampled += scan.sampled
        for kind, matches in scan.matches.items():
            state.pii_matches[kind] = state.pii_matches.get(kind, 0) + matches


def language_sample(work: BatchProfiler) -> None:
    """Offer each string column's values to its language sample: the rows with the smallest keys
    (`languages.LanguageSample`). Past the first batches few rows have a key small enough, so only a
    comparison a row is paid for most of the scan."""
    assert work.batch is not None
    strings = [(index, state) for index, state in work.states if state.kind == "string"]
    if not strings or not work.languages:
        return
    rows = work.batch.num_rows
    row_ids = (np.uint64(work.file_index) << np.uint64(40)) | np.arange(
        work.next_row, work.next_row + rows, dtype=np.uint64
    )
    keys = rowsample.row_keys(row_ids)
    for index, state in strings:
        if state.languages is None:
            state.languages = languages.LanguageSample(capacity=languages.COLUMN_VALUES)
        sample = state.languages
        array = work.column_of(index)
        positions = np.arange(rows) if not array.null_count else np.flatnonzero(array.is_valid().to_numpy(False))
        threshold = sample.threshold()
        if threshold is not None:
            positions = positions[keys[positions] < np.uint64(threshold)]
        if positions.size > sample.capacity:
            positions = positions[np.argpartition(keys[positions], sample.capacity - 1)[: sample.capacity]]
        if positions.size:
            values = array.take(pa.array(positions, type=pa.int64())).to_pylist()
            sample.offer(keys[positions], [str(value) for value in values])


def _comoments(x: np.ndarray, y: np.ndarray) -> CoMoments:
    """Co-moments of two columns over the rows where both are finite, in two passes."""
    both = np.isfinite(x) & np.isfinite(y)
    x, y = x[both], y[both]
    if not x.size:
        return CoMoments()
    dx, dy = x - x.mean(), y - y.mean()
    return CoMoments(int(x.size), float(x.mean()), float(y.mean()), float(dx @ dx), float(dy @ dy), float(dx @ dy))
