import assert from "node:assert/strict";
import { HeightIndex } from "../../webview/src/chat/height-index";

/** The same answers computed the slow, obvious way. */
class PlainHeights {
  constructor(readonly heights: number[] = []) {}
  offsetOf(index: number): number {
    return this.heights.slice(0, index).reduce((sum, height) => sum + height, 0);
  }
  indexAt(offset: number): number {
    if (this.heights.length === 0) return -1;
    let top = 0;
    for (let index = 0; index < this.heights.length; index++) {
      if (top + this.heights[index]! > offset) return index;
      top += this.heights[index]!;
    }
    return this.heights.length - 1;
  }
}

/** A small deterministic generator, so a failure can be replayed. */
function randomSequence(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("HeightIndex (offsets of a virtualised list, no DOM)", () => {
  it("gives offsets and the item at an offset", () => {
    const index = new HeightIndex([100, 50, 25]);
    assert.equal(index.length, 3);
    assert.equal(index.total, 175);
    assert.deepEqual(
      [0, 1, 2, 3].map((position) => index.offsetOf(position)),
      [0, 100, 150, 175],
    );
    assert.equal(index.indexAt(-10), 0);
    assert.equal(index.indexAt(0), 0);
    assert.equal(index.indexAt(99.5), 0);
    assert.equal(index.indexAt(100), 1, "an offset at an item's top belongs to that item");
    assert.equal(index.indexAt(174), 2);
    assert.equal(index.indexAt(10_000), 2, "past the end: the last item");
    assert.equal(new HeightIndex().indexAt(0), -1);
    assert.throws(() => index.heightAt(3), RangeError);
  });

  it("agrees with plain sums through sets, appends, prepends and truncations", () => {
    const random = randomSequence(7);
    const plain = new PlainHeights();
    const index = new HeightIndex();
    for (let step = 0; step < 3_000; step++) {
      const choice = random();
      const height = Math.round(random() * 400 * 4) / 4;
      if (choice < 0.4 || plain.heights.length === 0) {
        plain.heights.push(height);
        index.push(height);
      } else if (choice < 0.75) {
        const position = Math.floor(random() * plain.heights.length);
        plain.heights[position] = height;
        index.set(position, height);
      } else if (choice < 0.85) {
        const page = Array.from({ length: 1 + Math.floor(random() * 60) }, () => Math.round(random() * 300));
        plain.heights.unshift(...page);
        index.prepend(page);
      } else {
        const length = Math.floor(random() * plain.heights.length);
        plain.heights.length = length;
        index.truncate(length);
      }
      assert.equal(index.length, plain.heights.length);
      const probe = Math.floor(random() * (plain.heights.length + 1));
      assert.equal(index.offsetOf(probe), plain.offsetOf(probe), `offset of ${probe} at step ${step}`);
      const offset = random() * (plain.offsetOf(plain.heights.length) + 50) - 10;
      assert.equal(index.indexAt(offset), plain.indexAt(offset), `item at ${offset} at step ${step}`);
    }
  });
});
