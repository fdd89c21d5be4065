/**
 * The heights of a list's items, oldest first, kept as a Fenwick tree (binary indexed tree) so that
 * changing one height, the offset of an item and the item at an offset each cost O(log n). A
 * streaming answer that grows, or a message measured for the first time, therefore never walks a
 * 10,000-message conversation. Adding an item at the end is O(log n) too; adding a page at the
 * start rebuilds the tree in O(n), once per page.
 */
export class HeightIndex {
  private heights: Float64Array;
  /** 1-based: tree[i] holds the sum of heights (i - lowestBit(i), i]. */
  private tree: Float64Array;
  private count = 0;

  constructor(initialHeights: readonly number[] = []) {
    const capacity = Math.max(16, initialHeights.length);
    this.heights = new Float64Array(capacity);
    this.tree = new Float64Array(capacity + 1);
    this.rebuild(initialHeights);
  }

  get length(): number {
    return this.count;
  }

  /** The sum of all heights. */
  get total(): number {
    return this.prefixSum(this.count);
  }

  heightAt(index: number): number {
    this.checkIndex(index);
    return this.heights[index]!;
  }

  /** The sum of the heights before `index` (its top, counted from the first item's top). */
  offsetOf(index: number): number {
    if (index < 0 || index > this.count) throw new RangeError(`No item ${index} among ${this.count}`);
    return this.prefixSum(index);
  }

  set(index: number, height: number): void {
    this.checkIndex(index);
    const delta = height - this.heights[index]!;
    if (delta === 0) return;
    this.heights[index] = height;
    for (let node = index + 1; node <= this.count; node += node & -node) this.tree[node]! += delta;
  }

  push(height: number): void {
    if (this.count === this.heights.length) {
      this.rebuild([...this.heights.subarray(0, this.count), height], this.heights.length * 2);
      return;
    }
    const node = this.count + 1;
    this.heights[this.count] = height;
    this.count = node;
    // The node covers (node - lowestBit, node]: this height plus the sums already stored below it.
    this.tree[node] = height + this.prefixSum(node - 1) - this.prefixSum(node - (node & -node));
  }

  /** Adds items before the first one (an older page). */
  prepend(heights: readonly number[]): void {
    if (heights.length === 0) return;
    this.rebuild([...heights, ...this.heights.subarray(0, this.count)]);
  }

  /** Keeps the first `length` items. Nodes at or below `length` only cover items that stay, so nothing is recomputed. */
  truncate(length: number): void {
    if (length < 0 || length > this.count) throw new RangeError(`Cannot keep ${length} of ${this.count} items`);
    this.count = length;
  }

  /**
   * The item that covers `offset` (measured from the first item's top): the first whose bottom is
   * below it. Offsets before the first item give 0, offsets past the last give the last; -1 when empty.
   */
  indexAt(offset: number): number {
    if (this.count === 0) return -1;
    if (offset <= 0) return 0;
    // Binary lifting: the largest position whose prefix sum is still <= offset.
    let position = 0;
    let remaining = offset;
    for (let step = highestPowerOfTwoAtMost(this.count); step > 0; step >>= 1) {
      const next = position + step;
      if (next <= this.count && this.tree[next]! <= remaining) {
        position = next;
        remaining -= this.tree[next]!;
      }
    }
    return Math.min(position, this.count - 1);
  }

  private prefixSum(length: number): number {
    let sum = 0;
    for (let node = length; node > 0; node -= node & -node) sum += this.tree[node]!;
    return sum;
  }

  private rebuild(heights: ArrayLike<number>, minimumCapacity = 0): void {
    const capacity = Math.max(16, minimumCapacity, this.heights.length, heights.length);
    if (capacity !== this.heights.length) {
      this.heights = new Float64Array(capacity);
      this.tree = new Float64Array(capacity + 1);
    } else {
      this.tree.fill(0);
    }
    this.count = heights.length;
    this.heights.set(heights);
    // Linear construction: each node passes its sum on to its parent.
    for (let node = 1; node <= this.count; node++) {
      this.tree[node]! += this.heights[node - 1]!;
      const parent = node + (node & -node);
      if (parent <= this.count) this.tree[parent]! += this.tree[node]!;
    }
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) throw new RangeError(`No item ${index} among ${this.count}`);
  }
}

function highestPowerOfTwoAtMost(value: number): number {
  let power = 1;
  while (power * 2 <= value) power *= 2;
  return power;
}
