/**
 * Channel framing (DESIGN §8): every message on a channel stream is `uvarint(length) ||
 * payload`, the unsigned LEB128 varint of the multiformats unsigned-varint spec (the same
 * prefix it-length-prefixed writes). Pure code, no I/O.
 *
 * The decoder is strict, because what it reads comes from peers:
 * - the length is checked against the channel's cap as soon as the prefix is complete,
 *   before any of the body is buffered, so an oversize claim costs us at most 5 bytes;
 * - prefixes must be minimal (no `0x80 0x00` for 0) and at most 5 bytes (lengths < 2^35;
 *   every cap is far below that), per the unsigned-varint spec's "minimal encoding" rule;
 * - an empty frame is malformed: no channel message is empty, and free frames would be
 *   a way to spin the receiver without paying bandwidth.
 * Byzantine input comes back as data (`FrameError`), never as an exception. After the
 * first error the decoder is dead and ignores everything; the shell disconnects the peer.
 */
import { Uint8ArrayList } from 'uint8arraylist'

export const MAX_PREFIX_BYTES = 5

export type FrameError =
  | { readonly kind: 'oversize', readonly length: number, readonly max: number }
  | { readonly kind: 'malformed', readonly detail: string }

/** Byte length of the uvarint encoding of n (n a non-negative safe integer). */
export function uvarintLength (n: number): number {
  let len = 1
  while (n >= 0x80) {
    n = Math.floor(n / 128)
    len++
  }
  return len
}

/** Encodes n (non-negative safe integer) as an unsigned LEB128 varint. */
export function encodeUvarint (n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`uvarint out of range: ${n}`)
  const out = new Uint8Array(uvarintLength(n))
  let i = 0
  while (n >= 0x80) {
    out[i++] = (n % 128) | 0x80
    n = Math.floor(n / 128)
  }
  out[i] = n
  return out
}

/** One frame as the bytes that go on the wire: prefix then payload (payload not copied). */
export function encodeFrame (payload: Uint8Array): Uint8ArrayList {
  return new Uint8ArrayList(encodeUvarint(payload.byteLength), payload)
}

/**
 * Incremental decoder for one stream. `push` feeds bytes as they arrive and calls `onFrame`
 * for every complete frame, in order, with a fresh copy the callee owns; it returns the
 * first error, if any (frames before the bad one have been delivered).
 */
export class FrameDecoder {
  readonly maxBytes: number
  private readonly buf = new Uint8ArrayList()
  /** Body length of the frame being read, or -1 while reading a prefix. */
  private want = -1
  private failed: FrameError | undefined

  constructor (maxBytes: number) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`bad frame cap ${maxBytes}`)
    this.maxBytes = maxBytes
  }

  get error (): FrameError | undefined {
    return this.failed
  }

  /** Bytes held for an incomplete frame (bounded by maxBytes + MAX_PREFIX_BYTES + one chunk). */
  get buffered (): number {
    return this.buf.byteLength
  }

  push (chunk: Uint8Array | Uint8ArrayList, onFrame: (frame: Uint8Array) => void): FrameError | undefined {
    if (this.failed !== undefined) return this.failed
    this.buf.append(chunk)
    for (;;) {
      if (this.want < 0) {
        const prefix = this.readPrefix()
        if (prefix === undefined) return undefined
        if (typeof prefix !== 'number') return this.fail(prefix)
        this.want = prefix
      }
      if (this.buf.byteLength < this.want) return undefined
      const frame = this.buf.slice(0, this.want) // copies: the callee may keep it
      this.buf.consume(this.want)
      this.want = -1
      onFrame(frame)
      if (this.failed !== undefined) return this.failed // the callee may have called fail()
    }
  }

  /** Marks the stream dead (e.g. the peer was disconnected mid-chunk); drops buffered bytes. */
  fail (err: FrameError): FrameError {
    this.failed ??= err
    if (this.buf.byteLength > 0) this.buf.consume(this.buf.byteLength)
    return this.failed
  }

  /** A complete prefix's value, consumed; undefined if incomplete; an error if bad. */
  private readPrefix (): number | FrameError | undefined {
    const avail = this.buf.byteLength
    let value = 0
    let scale = 1
    for (let i = 0; i < MAX_PREFIX_BYTES; i++) {
      if (i >= avail) return undefined
      const b = this.buf.get(i)
      value += (b & 0x7f) * scale
      scale *= 128
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) return { kind: 'malformed', detail: 'non-minimal length prefix' }
        if (value === 0) return { kind: 'malformed', detail: 'empty frame' }
        if (value > this.maxBytes) return { kind: 'oversize', length: value, max: this.maxBytes }
        this.buf.consume(i + 1)
        return value
      }
      // A prefix that already claims more than the cap cannot end well: stop reading now.
      if (value > this.maxBytes) return { kind: 'oversize', length: value, max: this.maxBytes }
    }
    return { kind: 'malformed', detail: `length prefix longer than ${MAX_PREFIX_BYTES} bytes` }
  }
}
