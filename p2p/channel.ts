/**
 * One channel to one peer, both directions (DESIGN §8: one protocol per channel,
 * length-prefixed frames, per-peer send queues). Libp2p streams are used unidirectionally:
 * each side opens one long-lived outbound stream per (peer, channel) and only writes to it,
 * and only reads the streams the peer opened. That keeps ordering per channel, avoids the
 * who-opens-first race of a shared stream, and costs one multistream-select negotiation per
 * (peer, channel) instead of one per message (bench/p2p.ts: a fresh stream per 200 B message
 * manages ~150-250 msg/s on loopback; the long-lived stream ~25,000-40,000).
 *
 * Sending: `enqueue` never writes synchronously; it appends to a bounded queue (messages
 * and bytes) and schedules a flush in a microtask. The flush packs queued frames into
 * batches of up to BATCH_BYTES and writes while the stream accepts; when yamux's send
 * window is full (`send` returns false) it waits for 'drain'. So a slow peer fills its own
 * queue and then loses messages (counted as drops), and never the node's memory.
 *
 * Receiving: a FrameDecoder per inbound stream; the first bad frame makes the shell
 * disconnect and score the peer.
 */
import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import type { ChannelId } from '../src/transport.ts'
import { encodeUvarint, FrameDecoder, type FrameError } from './frame.ts'
import type { Logger } from './logger.ts'

/**
 * Bytes packed into one stream.send (yamux splits them into 64 KiB data frames). Measured
 * with bench/p2p.ts on loopback, 200 B votes: one message per send ~5,300 msg/s; 64 KiB
 * batches ~20,000; 256 KiB ~25,000-40,000; 1 MiB no better for small messages and worse
 * for 1 MiB blocksync frames (60 vs 105 MB/s).
 */
export const BATCH_BYTES = 256 * 1024
/** An outbound stream that keeps closing while the connection stays up is given up on after this many reopens. */
export const MAX_STREAM_REOPENS = 8

export function protocolFor (channel: ChannelId): string {
  return `/aidledger/${channel}/1.0.0`
}

export interface ChannelCounters {
  bytesSent: number
  bytesReceived: number
  messagesSent: number
  messagesReceived: number
  /** Messages refused by `send` (queue full, or peer not connected when sent to directly). */
  drops: number
}

export function newCounters (): ChannelCounters {
  return { bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0, drops: 0 }
}

/** FIFO bounded by message count and total bytes; one message is always admitted when empty. */
export class SendQueue {
  private items: Uint8Array[] = []
  private head = 0
  private bytes = 0
  readonly maxMessages: number
  readonly maxBytes: number

  constructor (maxMessages: number, maxBytes: number) {
    this.maxMessages = maxMessages
    this.maxBytes = maxBytes
  }

  get length (): number {
    return this.items.length - this.head
  }

  get byteLength (): number {
    return this.bytes
  }

  push (m: Uint8Array): boolean {
    const n = this.length
    if (n >= this.maxMessages || (n > 0 && this.bytes + m.byteLength > this.maxBytes)) return false
    this.items.push(m)
    this.bytes += m.byteLength
    return true
  }

  shift (): Uint8Array | undefined {
    if (this.head >= this.items.length) return undefined
    const m = this.items[this.head]
    this.items[this.head++] = EMPTY
    if (m !== undefined) this.bytes -= m.byteLength
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return m
  }

  peekLength (): number {
    return this.items[this.head]?.byteLength ?? 0
  }

  /** Empties the queue; returns how many messages were discarded. */
  clear (): number {
    const n = this.length
    this.items = []
    this.head = 0
    this.bytes = 0
    return n
  }
}

const EMPTY = new Uint8Array(0)

export interface OutChannelDeps {
  readonly channel: ChannelId
  readonly queue: SendQueue
  /** Counters this channel adds to: the peer's and the transport-wide one. */
  readonly counters: readonly ChannelCounters[]
  /** Opens a fresh outbound stream for this channel on one of the peer's connections. */
  readonly openStream: () => Promise<Stream>
  /** The channel cannot be kept open; the shell drops the connection. */
  readonly onFailure: (reason: string) => void
  /** The peer wrote on a stream that is ours to write (a protocol violation). */
  readonly onPeerWrote: (bytes: number) => void
  readonly log: Logger
}

export class OutChannel {
  private readonly d: OutChannelDeps
  private stream: Stream | undefined
  private opening = false
  private scheduled = false
  private awaitingDrain = false
  private disposed = false
  private reopens = 0

  constructor (deps: OutChannelDeps) {
    this.d = deps
  }

  get queued (): number {
    return this.d.queue.length
  }

  start (): void {
    this.open()
  }

  enqueue (data: Uint8Array): boolean {
    if (this.disposed || !this.d.queue.push(data)) return false
    this.schedule()
    return true
  }

  /** Stops using the channel; queued messages are discarded (their count is returned). */
  dispose (): number {
    this.disposed = true
    this.stream = undefined
    return this.d.queue.clear()
  }

  private open (): void {
    if (this.disposed || this.opening || this.stream !== undefined) return
    this.opening = true
    this.d.openStream().then((s) => {
      this.opening = false
      if (this.disposed) {
        s.abort(new Error('channel disposed'))
        return
      }
      this.attach(s)
    }, (err: Error) => {
      this.opening = false
      if (this.disposed) return
      this.d.onFailure(`cannot open ${this.d.channel} stream: ${err.message}`)
    })
  }

  private attach (s: Stream): void {
    this.stream = s
    this.awaitingDrain = false
    s.addEventListener('message', (evt) => {
      this.d.onPeerWrote(evt.data.byteLength)
    })
    s.addEventListener('close', () => {
      if (this.stream !== s) return
      this.stream = undefined
      this.awaitingDrain = false
      if (this.disposed) return
      if (++this.reopens > MAX_STREAM_REOPENS) {
        this.d.onFailure(`${this.d.channel} stream closed ${this.reopens} times`)
        return
      }
      // Reopen on the next turn: when a whole connection closes, its streams report 'close'
      // before the connection does, and the peer-down that follows disposes this channel.
      setImmediate(() => {
        if (this.disposed) return
        this.d.log.debug('outbound stream closed; reopening', { channel: this.d.channel, reopens: this.reopens })
        this.open()
      })
    })
    this.schedule()
  }

  private schedule (): void {
    if (this.scheduled || this.awaitingDrain || this.stream === undefined) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      this.flush()
    })
  }

  private flush (): void {
    const s = this.stream
    const q = this.d.queue
    if (s === undefined || this.disposed || s.writeStatus !== 'writable') return
    while (q.length > 0) {
      if (s.writableNeedsDrain) {
        this.waitDrain(s)
        return
      }
      const batch = new Uint8ArrayList()
      let messages = 0
      while (q.length > 0 && (messages === 0 || batch.byteLength + q.peekLength() <= BATCH_BYTES)) {
        const m = q.shift() as Uint8Array
        batch.append(encodeUvarint(m.byteLength))
        batch.append(m)
        messages++
      }
      let more: boolean
      try {
        more = s.send(batch)
      } catch (err) {
        // The stream died under us; its 'close' handler reopens. The batch is lost, as it
        // would have been had it been in flight.
        this.d.log.debug('stream send failed', { channel: this.d.channel, err: (err as Error).message })
        return
      }
      for (const c of this.d.counters) {
        c.bytesSent += batch.byteLength
        c.messagesSent += messages
      }
      if (!more) {
        this.waitDrain(s)
        return
      }
    }
  }

  private waitDrain (s: Stream): void {
    if (this.awaitingDrain) return
    this.awaitingDrain = true
    s.addEventListener('drain', () => {
      if (this.stream !== s) return
      this.awaitingDrain = false
      this.schedule()
    }, { once: true })
  }
}

export interface InboundDeps {
  readonly channel: ChannelId
  readonly maxFrameBytes: number
  readonly counters: readonly ChannelCounters[]
  readonly onFrame: (frame: Uint8Array) => void
  readonly onBadFrame: (err: FrameError) => void
}

/** Reads frames from a stream the peer opened; we never write to it. */
export function readInbound (s: Stream, d: InboundDeps): void {
  const decoder = new FrameDecoder(d.maxFrameBytes)
  const onFrame = (frame: Uint8Array): void => {
    for (const c of d.counters) c.messagesReceived++
    d.onFrame(frame)
  }
  s.addEventListener('message', (evt) => {
    if (decoder.error !== undefined) return
    for (const c of d.counters) c.bytesReceived += evt.data.byteLength
    const err = decoder.push(evt.data, onFrame)
    if (err !== undefined) {
      s.abort(new Error(`bad frame: ${err.kind}`))
      d.onBadFrame(err)
    }
  })
  s.addEventListener('remoteCloseWrite', () => {
    s.close().catch(() => { /* the connection is going away anyway */ })
  })
}
