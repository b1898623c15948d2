/**
 * A shared resource guarded by the lock and checked with the fencing token, the way deploy
 * tooling should use one: every read and write carries the caller's token, and anything lower
 * than the highest token seen is rejected. A client increments it (read, then write read + 1)
 * while it believes it holds the key's lock. With a correct lock no acknowledged increment is
 * ever lost; when two holders share a grant (a broken lock), increments get lost.
 */
export class FencedCounter {
  value = 0;
  highest = 0;
  /** Increments whose write was accepted. */
  acknowledged = 0;
  rejected = 0;

  read(token: number): number | null {
    if (token < this.highest) {
      this.rejected++;
      return null;
    }
    this.highest = token;
    return this.value;
  }

  write(token: number, value: number): boolean {
    if (token < this.highest) {
      this.rejected++;
      return false;
    }
    this.highest = token;
    this.value = value;
    this.acknowledged++;
    return true;
  }
}
