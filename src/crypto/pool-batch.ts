/**
 * The verify pool's wire format: one ArrayBuffer per batch, transferred (not copied) to the
 * worker, and one back with the verdicts. Layout, little-endian:
 *   request   u32 jobId | u32 count | count × (u32 msgLen | pub[32] | sig[64] | msg[msgLen])
 *   response  u32 jobId | count × u8 verdict (1 valid, 0 invalid)
 * Items whose pub or sig has the wrong length never reach a worker (their verdict is false).
 */
import type { Ed25519Verifier } from './zip215.ts'

export interface VerifyItem {
  pub: Uint8Array
  msg: Uint8Array
  sig: Uint8Array
}

const ITEM_FIXED = 4 + 32 + 64

export function isWellFormedItem (it: VerifyItem): boolean {
  return it !== null && typeof it === 'object' &&
    it.pub instanceof Uint8Array && it.pub.length === 32 &&
    it.sig instanceof Uint8Array && it.sig.length === 64 &&
    it.msg instanceof Uint8Array
}

/** Pack items[idx[0]], items[idx[1]], ... (all well-formed) into one transferable buffer. */
export function packBatch (jobId: number, items: readonly VerifyItem[], idx: readonly number[]): ArrayBuffer {
  let size = 8
  for (const i of idx) size += ITEM_FIXED + (items[i] as VerifyItem).msg.length
  const buf = new ArrayBuffer(size)
  const dv = new DataView(buf)
  const u8 = new Uint8Array(buf)
  dv.setUint32(0, jobId, true)
  dv.setUint32(4, idx.length, true)
  let off = 8
  for (const i of idx) {
    const it = items[i] as VerifyItem
    dv.setUint32(off, it.msg.length, true)
    u8.set(it.pub, off + 4)
    u8.set(it.sig, off + 36)
    u8.set(it.msg, off + ITEM_FIXED)
    off += ITEM_FIXED + it.msg.length
  }
  return buf
}

/** Worker side: verify a packed batch, returning the response buffer. */
export function verifyPacked (verifier: Ed25519Verifier, buf: ArrayBuffer): ArrayBuffer {
  const dv = new DataView(buf)
  const u8 = new Uint8Array(buf)
  const jobId = dv.getUint32(0, true)
  const count = dv.getUint32(4, true)
  const out = new ArrayBuffer(4 + count)
  new DataView(out).setUint32(0, jobId, true)
  const verdicts = new Uint8Array(out, 4)
  let off = 8
  for (let k = 0; k < count; k++) {
    const msgLen = dv.getUint32(off, true)
    const pub = u8.subarray(off + 4, off + 36)
    const sig = u8.subarray(off + 36, off + ITEM_FIXED)
    const msg = u8.subarray(off + ITEM_FIXED, off + ITEM_FIXED + msgLen)
    verdicts[k] = verifier.verify(pub, msg, sig) ? 1 : 0
    off += ITEM_FIXED + msgLen
  }
  return out
}

/** Main side: the job id and the verdict bytes of a response. */
export function unpackVerdicts (buf: ArrayBuffer): { jobId: number, verdicts: Uint8Array } {
  return { jobId: new DataView(buf).getUint32(0, true), verdicts: new Uint8Array(buf, 4) }
}
