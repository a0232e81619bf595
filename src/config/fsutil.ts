/**
 * File helpers for the home directory: atomic writes (CometBFT libs/tempfile
 * `WriteFileAtomic`: temp file in the same directory, fsync, rename, fsync the directory),
 * bounded reads with UTF-8 checking, and the key-file permission check (as OpenSSH does for
 * private keys: a key other users can read is refused, not merely warned about).
 */
import { randomBytes } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { AidError, type ErrorCode } from '../errors.ts'

/** Mode of key files and the double-sign state (CometBFT privval writes 0600). */
export const KEY_FILE_MODE = 0o600
/** Mode of config.toml and genesis.json (public information). */
export const PUBLIC_FILE_MODE = 0o644
/** Mode of config/, data/, data/cs.wal/ (CometBFT DefaultDirPerm). */
export const DIR_MODE = 0o700

/**
 * Write `data` to `file` so that a reader sees either the old content or the new one,
 * never a half-written file, even across a crash: the bytes go to a temp file in the same
 * directory (same filesystem, so rename is atomic), are fsynced, renamed over the target,
 * and the directory entry is fsynced.
 */
export async function writeFileAtomic (file: string, data: string | Uint8Array, mode: number): Promise<void> {
  const dir = dirname(file)
  const tmp = join(dir, `.${basename(file)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`)
  const fh = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, mode)
  try {
    try {
      await fh.chmod(mode) // the umask may have cleared bits; set exactly what we mean
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, file)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  await fsyncDir(dir)
}

/** fsync a directory so a rename or create inside it survives a crash (no-op where unsupported). */
export async function fsyncDir (dir: string): Promise<void> {
  let fh
  try {
    fh = await open(dir, 'r')
    await fh.sync()
  } catch {
    // Windows cannot open directories; some filesystems refuse fsync on them.
  } finally {
    await fh?.close().catch(() => {})
  }
}

/**
 * Create a directory (and parents) with `mode` when it is new; an existing directory keeps
 * whatever mode its operator gave it (as CometBFT's EnsureDir).
 */
export async function ensureDir (dir: string, mode: number = DIR_MODE): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode })
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new AidError('ERR_HOME_INVALID', `cannot create directory: ${e.code ?? e.message}`, dir)
  }
  const st = await stat(dir)
  if (!st.isDirectory()) throw new AidError('ERR_HOME_INVALID', 'exists but is not a directory', dir)
}

export async function pathExists (p: string): Promise<boolean> {
  try {
    await stat(p)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
}

export interface ReadTextOptions {
  /** Error code to raise (config, genesis or key file). */
  code: ErrorCode
  /** Refuse files larger than this many bytes. */
  maxBytes: number
  /** Human name used in messages, e.g. "genesis file". */
  what: string
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/** Decode UTF-8 strictly (an invalid sequence is an error, not U+FFFD); a leading BOM is dropped. */
export function decodeUtf8 (bytes: Uint8Array, opts: { code: ErrorCode, at: string }): string {
  try {
    return utf8Decoder.decode(bytes)
  } catch {
    throw new AidError(opts.code, 'not valid UTF-8 text', opts.at)
  }
}

/** Read a whole text file with a size cap; missing files and I/O errors become `code` errors. */
export async function readTextFile (file: string, opts: ReadTextOptions): Promise<string> {
  let fh
  try {
    fh = await open(file, 'r')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    const why = e.code === 'ENOENT' ? `${opts.what} not found` : `cannot open ${opts.what}: ${e.code ?? e.message}`
    throw new AidError(opts.code, why, file)
  }
  try {
    const st = await fh.stat()
    if (!st.isFile()) throw new AidError(opts.code, `${opts.what} is not a regular file`, file)
    if (st.size > opts.maxBytes) {
      throw new AidError(opts.code, `${opts.what} is ${st.size} bytes, more than the ${opts.maxBytes}-byte limit`, file)
    }
    const buf = await fh.readFile()
    if (buf.length > opts.maxBytes) {
      throw new AidError(opts.code, `${opts.what} grew past the ${opts.maxBytes}-byte limit while reading`, file)
    }
    return decodeUtf8(buf, { code: opts.code, at: file })
  } catch (err) {
    if (err instanceof AidError) throw err
    const e = err as NodeJS.ErrnoException
    throw new AidError(opts.code, `cannot read ${opts.what}: ${e.code ?? e.message}`, file)
  } finally {
    await fh.close().catch(() => {})
  }
}

/**
 * Refuse a key file that anyone but its owner may read or write (mode & 0o077 ≠ 0).
 *
 * Refuse rather than warn: a validator key that leaks lets its thief double-sign in the
 * operator's name, and a warning in a busy log is easy to miss; fixing it is one chmod.
 * Skipped on Windows, where POSIX modes do not describe access.
 */
export async function checkKeyFileMode (file: string): Promise<void> {
  if (process.platform === 'win32') return
  let mode: number
  try {
    mode = (await stat(file)).mode & 0o777
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new AidError('ERR_KEYFILE_INVALID', e.code === 'ENOENT' ? 'key file not found' : `cannot stat key file: ${e.code ?? e.message}`, file)
  }
  if ((mode & 0o077) !== 0) {
    throw new AidError('ERR_KEYFILE_INSECURE',
      `mode ${mode.toString(8).padStart(4, '0')} lets other users access this private key; ` +
      `run \`chmod 600 ${file}\` (and consider the key exposed if others could read it)`, file)
  }
}
