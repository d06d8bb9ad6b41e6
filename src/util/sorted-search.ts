/**
 * The index of `value` among the `length` ascending values `at(0) .. at(length - 1)`, or -1: a
 * binary search (labels of rows written in label order, in several places).
 */
export function indexInAscending(length: number, at: (index: number) => number, value: number): number {
  let lo = 0;
  let hi = length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const here = at(mid);
    if (here === value) return mid;
    if (here < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
