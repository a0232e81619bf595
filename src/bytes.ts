/** Small byte helpers shared across the kernel. Hex is lower-case on input and output here;
 * the RPC layer upper-cases hashes for CometBFT compatibility at its own boundary. */
import { AidError } from './errors.ts'

export function toHex (b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

export function fromHex (hex: string, at = 'hex'): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new AidError('ERR_CODEC_WRONG_TYPE', 'expected an even-length hex string', at)
  }
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

export function toBase64 (b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')
}

export function fromBase64 (s: string, at = 'base64'): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) {
    throw new AidError('ERR_CODEC_WRONG_TYPE', 'expected standard padded base64', at)
  }
  return new Uint8Array(Buffer.from(s, 'base64'))
}

export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b)
}

export function concatBytes (...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts))
}

const encoder = new TextEncoder()
export function utf8 (s: string): Uint8Array {
  return encoder.encode(s)
}
