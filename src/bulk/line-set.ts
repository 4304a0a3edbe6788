/**
 * Which line a key (a normalised email, a username) was first seen on, for files of
 * millions of rows in a few bytes a key: an open-addressing table of 85-bit hashes (no
 * strings kept). Two different keys would have to agree on all 85 bits to be taken for
 * the same: for ten million keys, a chance of about one in 10^13.
 */
export class LineSet {
  #hi = new Float64Array(1 << 16);
  #lo = new Uint32Array(1 << 16);
  #line = new Uint32Array(1 << 16);
  #size = 0;

  /** The line the key was first seen on, or undefined (and it is remembered on `line`). */
  firstLine(key: string, line: number): number | undefined {
    if ((this.#size + 1) * 2 > this.#hi.length) this.#grow();
    const [hi, lo] = hash(key);
    const mask = this.#hi.length - 1;
    for (let i = (hi ^ lo) & mask; ; i = (i + 1) & mask) {
      if (this.#line[i] === 0) {
        this.#hi[i] = hi;
        this.#lo[i] = lo;
        this.#line[i] = line;
        this.#size++;
        return undefined;
      }
      if (this.#hi[i] === hi && this.#lo[i] === lo) return this.#line[i];
    }
  }

  #grow(): void {
    const [hi, lo, line] = [this.#hi, this.#lo, this.#line];
    this.#hi = new Float64Array(hi.length * 2);
    this.#lo = new Uint32Array(hi.length * 2);
    this.#line = new Uint32Array(hi.length * 2);
    const mask = this.#hi.length - 1;
    for (let j = 0; j < hi.length; j++) {
      if (line[j] === 0) continue;
      let i = (hi[j]! ^ lo[j]!) & mask;
      while (this.#line[i] !== 0) i = (i + 1) & mask;
      this.#hi[i] = hi[j]!;
      this.#lo[i] = lo[j]!;
      this.#line[i] = line[j]!;
    }
  }
}

/** cyrb53 (53 bits) and a 32-bit FNV-1a: independent enough for 85 bits between them. */
function hash(s: string): [number, number] {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  let f = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
    f = Math.imul(f ^ c, 16777619);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return [4294967296 * (2097151 & h2) + (h1 >>> 0), f >>> 0];
}
