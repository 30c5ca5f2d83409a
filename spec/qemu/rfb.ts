/**
 * The client half of an RFB 3.8 handshake with VNC authentication (security type 2), enough to
 * ask a real VNC server whether it accepts a password. The response is the 16-byte challenge
 * encrypted with DES, keyed by the password's first 8 bytes with each byte's bits reversed (as
 * every VNC implementation does). Single DES is three-key 3DES with the same key three times,
 * which OpenSSL 3's default provider still offers.
 */
import { createCipheriv } from 'node:crypto'
import { connect, type Socket } from 'node:net'

/** What the server said: accepted, refused (with its reason), or no VNC auth offered at all. */
export type VncAuthResult = { readonly _tag: 'accepted' } | { readonly _tag: 'refused'; readonly reason: string } | { readonly _tag: 'not-offered'; readonly types: ReadonlyArray<number> }

const reverseBits = (b: number): number => {
  let r = 0
  for (let i = 0; i < 8; i++) r |= ((b >> i) & 1) << (7 - i)
  return r
}

/** The VNC authentication response to `challenge` for `password`. */
export const vncResponse = (password: string, challenge: Buffer): Buffer => {
  const key = Buffer.alloc(8)
  Buffer.from(password, 'latin1').subarray(0, 8).forEach((b, i) => key.writeUInt8(reverseBits(b), i))
  const des = createCipheriv('des-ede3-ecb', Buffer.concat([key, key, key]), null)
  des.setAutoPadding(false)
  return Buffer.concat([des.update(challenge), des.final()])
}

/** Reads exactly the bytes asked for, in order, from a socket. */
const reader = (s: Socket) => {
  let buf = Buffer.alloc(0)
  let want: { readonly n: number; readonly resolve: (b: Buffer) => void } | undefined
  let failure: Error | undefined
  const pump = (): void => {
    if (want !== undefined && buf.length >= want.n) {
      const w = want
      want = undefined
      const out = buf.subarray(0, w.n)
      buf = buf.subarray(w.n)
      w.resolve(out)
    }
  }
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d])
    pump()
  })
  const fail = (e: Error): void => {
    failure = e
  }
  s.on('error', fail)
  s.on('close', () => fail(new Error('the VNC server closed the connection')))
  return (n: number, timeoutMs = 5000): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(failure ?? new Error(`no ${n} bytes from the VNC server within ${timeoutMs} ms`)), timeoutMs)
      want = { n, resolve: (b) => { clearTimeout(timer); resolve(b) } }
      pump()
    })
}

/** A failure reason; QEMU counts the NUL of its C string in the length, and sends it. */
const reasonOf = (b: Buffer): string => b.toString('latin1').replace(/\0+$/, '')

/** Connects to the VNC server on unix socket `path` and authenticates with `password`. */
export const vncAuthenticate = async (path: string, password: string): Promise<VncAuthResult> => {
  const s = connect(path)
  try {
    const read = reader(s)
    const version = (await read(12)).toString('latin1')
    if (version !== 'RFB 003.008\n') throw new Error(`unexpected RFB version ${JSON.stringify(version)}`)
    s.write('RFB 003.008\n')
    const count = (await read(1)).readUInt8(0)
    if (count === 0) {
      const len = (await read(4)).readUInt32BE(0)
      return { _tag: 'refused', reason: reasonOf(await read(len)) }
    }
    const types = [...(await read(count))]
    if (!types.includes(2)) return { _tag: 'not-offered', types }
    s.write(Buffer.from([2]))
    s.write(vncResponse(password, await read(16)))
    if ((await read(4)).readUInt32BE(0) === 0) return { _tag: 'accepted' }
    const len = (await read(4)).readUInt32BE(0)
    return { _tag: 'refused', reason: reasonOf(await read(len)) }
  } finally {
    s.destroy()
  }
}
