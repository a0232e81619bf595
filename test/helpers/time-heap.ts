/**
 * A binary min-heap of scheduled items ordered by (time, seq): the timer queue of the
 * engine tests' fake clock (test/consensus/helpers/fake-time.ts) and the event queue of the
 * simulator (test/sim/world.ts). Items due at the same time come out in `seq` order, so a
 * run is deterministic when `seq` counts up as items are scheduled. Large runs keep
 * thousands of items queued, hence a heap.
 */
export interface Scheduled { readonly time: number, readonly seq: number }

function before (a: Scheduled, b: Scheduled): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq)
}

export class TimeHeap<T extends Scheduled> {
  private readonly heap: T[] = []

  get size (): number { return this.heap.length }

  push (x: T): void {
    const h = this.heap
    h.push(x)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(h[i] as T, h[p] as T)) break
      this.swap(i, p)
      i = p
    }
  }

  peek (): T | undefined { return this.heap[0] }

  pop (): T | undefined {
    const h = this.heap
    const top = h[0]
    const last = h.pop()
    if (top === undefined || last === undefined) return undefined
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && before(h[l] as T, h[m] as T)) m = l
        if (r < h.length && before(h[r] as T, h[m] as T)) m = r
        if (m === i) break
        this.swap(i, m)
        i = m
      }
    }
    return top
  }

  private swap (i: number, j: number): void {
    const h = this.heap
    const t = h[i] as T
    h[i] = h[j] as T
    h[j] = t
  }
}
