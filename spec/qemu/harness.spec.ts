/**
 * Tests of the integration harness itself: the QMP client against a scripted fake server (wire
 * details QEMU rarely exercises), then the harness against a real QEMU 7.2.
 */
import * as net from 'node:net'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as E from 'fp-ts/lib/Either.js'
import * as O from 'fp-ts/lib/Option.js'
import { connectQmp, toExecutor } from '../../examples/qmp-client.js'
import type { QmpEvent } from '../../lib/qmp/executor.js'
import {
  makeImage,
  namedNodes,
  pciSlots,
  peripheral,
  qemuBinary,
  qemuSuite,
  qomGet,
  startQemu,
  startQemuExpectFailure,
  tempDir,
  withQemu
} from './harness.js'

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === 'object' && u !== null && !Array.isArray(u)

// ---------------------------------------------------------------------------------------------
// The client on its own, against a fake QMP server that cuts its output at awkward places.

interface FakeServer {
  readonly received: () => readonly unknown[]
  readonly close: () => Promise<void>
}

/**
 * Greets in fragments (splitting a multi-byte character), then answers each command through
 * `answer`, which returns the raw text to write (so tests control framing and order).
 */
const fakeQmp = (
  path: string,
  answer: (msg: Record<string, unknown>, sock: net.Socket) => void
): Promise<FakeServer> => {
  const received: unknown[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((sock) => {
    sockets.add(sock)
    sock.on('close', () => sockets.delete(sock))
    const greeting = Buffer.from(
      JSON.stringify({ QMP: { version: { package: 'fake – ünïcode' }, capabilities: [] } }) + '\r\n'
    )
    const cut = greeting.indexOf(Buffer.from('–')) + 1 // inside the 3-byte en dash
    sock.write(greeting.subarray(0, 5))
    setTimeout(() => sock.write(greeting.subarray(5, cut)), 5)
    setTimeout(() => sock.write(greeting.subarray(cut)), 10)
    let buf = ''
    sock.setEncoding('utf8')
    sock.on('data', (chunk: string) => {
      buf += chunk
      let nl = buf.indexOf('\n')
      while (nl >= 0) {
        const msg: unknown = JSON.parse(buf.slice(0, nl))
        buf = buf.slice(nl + 1)
        received.push(msg)
        if (isRecord(msg)) answer(msg, sock)
        nl = buf.indexOf('\n')
      }
    })
  })
  return new Promise((resolve) => {
    server.listen(path, () =>
      resolve({
        received: () => received,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy()
            server.close(() => done())
          })
      })
    )
  })
}

const client = suite('qmp-client (fake server)')

client('connects once the socket appears, and negotiates capabilities', async () => {
  const tmp = await tempDir()
  const path = join(tmp.path, 'late.sock')
  let server: FakeServer | undefined
  try {
    const connecting = connectQmp(path, { retryMs: 20, connectTimeoutMs: 3000 })
    await new Promise((r) => setTimeout(r, 150)) // socket file does not exist yet meanwhile
    server = await fakeQmp(path, (msg, sock) => {
      sock.write(JSON.stringify({ return: {}, id: msg['id'] }) + '\r\n')
    })
    const qmp = await connecting
    const first = server.received()[0]
    assert.ok(isRecord(first))
    assert.is(first['execute'], 'qmp_capabilities')
    assert.type(first['id'], 'number')
    await qmp.close()
  } finally {
    await server?.close()
    await tmp.cleanup()
  }
})

client('gives up after connectTimeoutMs when nothing listens', async () => {
  const tmp = await tempDir()
  try {
    const t0 = Date.now()
    const err = await connectQmp(join(tmp.path, 'never.sock'), {
      retryMs: 20,
      connectTimeoutMs: 200
    }).then(
      () => undefined,
      (e: unknown) => e
    )
    assert.instance(err, Error)
    assert.match(String(err), /timed out/)
    assert.ok(Date.now() - t0 < 2000)
  } finally {
    await tmp.cleanup()
  }
})

client('matches replies by id, not by order, across split and merged chunks', async () => {
  const tmp = await tempDir()
  const path = join(tmp.path, 'qmp.sock')
  const held: Array<Record<string, unknown>> = []
  const server = await fakeQmp(path, (msg, sock) => {
    if (msg['execute'] === 'qmp_capabilities') {
      sock.write(JSON.stringify({ return: {}, id: msg['id'] }) + '\r\n')
      return
    }
    held.push(msg)
    if (held.length < 2) return
    // Answer the second command first, with an event in between, all in one write split mid-line.
    const [a, b] = held
    const text =
      JSON.stringify({ return: 'second', id: b?.['id'] }) +
      '\r\n' +
      JSON.stringify({ event: 'E1', data: { n: 1 }, timestamp: { seconds: 1, microseconds: 2 } }) +
      '\r\n' +
      JSON.stringify({ error: { class: 'GenericError', desc: 'first failed' }, id: a?.['id'] }) +
      '\r\n'
    const mid = Math.floor(text.length / 2)
    sock.write(text.slice(0, mid))
    setTimeout(() => sock.write(text.slice(mid)), 10)
  })
  try {
    const qmp = await connectQmp(path)
    const [ra, rb] = await Promise.all([qmp.execute('cmd-a'), qmp.execute('cmd-b', { x: 1 })])
    assert.equal(ra, { _tag: 'Error', class: 'GenericError', desc: 'first failed' })
    assert.equal(rb, { _tag: 'Return', value: 'second' })
    assert.equal(
      qmp.events().map((e) => e.event),
      ['E1']
    )
    assert.equal(qmp.events()[0]?.timestamp, { seconds: 1, microseconds: 2 })
    const sent = server.received().filter(isRecord)
    assert.equal(sent[2]?.['arguments'], { x: 1 })
    assert.not.equal(sent[1]?.['id'], sent[2]?.['id'])
    await qmp.close()
  } finally {
    await server.close()
    await tmp.cleanup()
  }
})

client('a peer hang-up fails pending commands and the executor turns that into Left', async () => {
  const tmp = await tempDir()
  const path = join(tmp.path, 'qmp.sock')
  const server = await fakeQmp(path, (msg, sock) => {
    if (msg['execute'] === 'qmp_capabilities') {
      sock.write(JSON.stringify({ return: {}, id: msg['id'] }) + '\r\n')
    } else {
      sock.destroy() // never answers
    }
  })
  try {
    const qmp = await connectQmp(path)
    const ex = toExecutor(qmp)
    const r = await ex.send({ execute: 'query-status' })()
    assert.ok(E.isLeft(r), 'a dropped connection must be a Left')
    if (E.isLeft(r)) assert.is(r.left._tag, 'TransportError')
    const again = await ex.send({ execute: 'query-status' })()
    assert.ok(E.isLeft(again), 'sending on a closed session must be a Left, not a throw')
    const w = await ex.waitEvent(() => true, 50)()
    assert.ok(E.isLeft(w), 'waiting on a closed session must be a Left')
    await qmp.close()
  } finally {
    await server.close()
    await tmp.cleanup()
  }
})

client.run()

// ---------------------------------------------------------------------------------------------
// The harness against a real QEMU.

const qemu = qemuSuite('harness (qemu)')

const base = [qemuBinary, '-machine', 'pc,accel=tcg', '-nodefaults']

const virtioArgv = (img: string, addr: string): string[] => [
  ...base,
  '-blockdev',
  JSON.stringify({ driver: 'file', filename: img, 'node-name': 'd1-file' }),
  '-blockdev',
  JSON.stringify({ driver: 'raw', file: 'd1-file', 'node-name': 'd1' }),
  '-device',
  JSON.stringify({ driver: 'virtio-blk-pci', id: 'd1', drive: 'd1', bus: 'pci.0', addr })
]

const scsiArgv = (img: string): string[] => [
  ...base,
  '-device',
  'lsi,id=scsi',
  '-blockdev',
  JSON.stringify({ driver: 'file', filename: img, 'node-name': 's1-file' }),
  '-blockdev',
  JSON.stringify({ driver: 'raw', file: 's1-file', 'node-name': 's1' }),
  '-device',
  JSON.stringify({ driver: 'scsi-hd', id: 's1', drive: 's1', bus: 'scsi.0', 'scsi-id': 0, lun: 0 })
]

/** A temp dir with one 1 MiB raw image, removed after `fn`. */
const withImage = async <T>(fn: (dir: string, img: string) => Promise<T>): Promise<T> => {
  const tmp = await tempDir()
  try {
    return await fn(tmp.path, await makeImage(tmp.path, 'disk.raw', 'raw'))
  } finally {
    await tmp.cleanup()
  }
}

const deviceDeletedFor =
  (id: string) =>
  (e: QmpEvent): boolean =>
    e.event === 'DEVICE_DELETED' && isRecord(e.data) && e.data['device'] === id

qemu('virtio-blk-pci at addr 0x10 reads back as slot 16, devfn 128, with both block nodes', async () => {
  await withImage((dir, img) =>
    withQemu(
      virtioArgv(img, '0x10'),
      async (vm) => {
        const slots = await pciSlots(vm)
        const d1 = slots.find((s) => s.qdev_id === 'd1')
        assert.ok(d1, `d1 not on pci.0: ${JSON.stringify(slots)}`)
        assert.is(d1?.slot, 16)
        assert.is(d1?.function, 0)
        // -nodefaults still leaves the host bridge and PIIX3 on pci.0 (DOMAIN.md §9).
        assert.ok(slots.some((s) => s.slot === 0))
        assert.ok(slots.some((s) => s.slot === 1 && s.function === 1))

        assert.is(await qomGet(vm, '/machine/peripheral/d1', 'addr'), 128)
        assert.is(await qomGet(vm, '/machine/peripheral/d1', 'drive'), 'd1')

        const nodes = await namedNodes(vm)
        const byName = new Map(nodes.map((n) => [n.node_name, n]))
        assert.is(byName.get('d1-file')?.drv, 'file')
        assert.is(byName.get('d1-file')?.file, img)
        assert.is(byName.get('d1')?.drv, 'raw')
        assert.is(byName.get('d1')?.ro, false)
        assert.is(byName.get('d1')?.cache.writeback, true)

        const devs = await peripheral(vm)
        assert.equal([...devs], [['d1', 'virtio-blk-pci']])
        assert.is(vm.stderr(), '')
        assert.ok(vm.pid > 0)
      },
      { dir }
    )
  )
})

qemu('an out-of-range addr is refused with QEMU stderr', async () => {
  await withImage(async (dir, img) => {
    const stderr = await startQemuExpectFailure(virtioArgv(img, '0x20'), { dir })
    assert.match(stderr, "Property 'virtio-blk-pci.addr' doesn't take value '0x20'")
    // startQemu must reject with that same line, not a bare timeout.
    const err = await startQemu(virtioArgv(img, '0x20'), { dir }).then(
      async (vm) => {
        await vm.kill()
        return undefined
      },
      (e: unknown) => e
    )
    assert.instance(err, Error)
    assert.match(String(err), "doesn't take value '0x20'")
  })
})

qemu('startQemuExpectFailure rejects when QEMU comes up', async () => {
  await withImage(async (dir, img) => {
    const err = await startQemuExpectFailure(virtioArgv(img, '0x10'), { dir }).then(
      () => undefined,
      (e: unknown) => e
    )
    assert.instance(err, Error)
    assert.match(String(err), 'accepted')
  })
})

qemu('executor: device_del of a SCSI disk yields DEVICE_DELETED for that id', async () => {
  await withImage((dir, img) =>
    withQemu(
      scsiArgv(img),
      async (vm) => {
        assert.is(await qomGet(vm, '/machine/peripheral/s1', 'scsi-id'), 0)
        const ex = toExecutor(vm.qmp)
        const r = await ex.send({ execute: 'device_del', arguments: { id: 's1' } })()
        assert.equal(r, E.right({ _tag: 'Return', value: {} }))
        const ev = await ex.waitEvent(deviceDeletedFor('s1'), 5000)()
        assert.ok(E.isRight(ev) && O.isSome(ev.right), `no DEVICE_DELETED: ${JSON.stringify(ev)}`)
        if (E.isRight(ev) && O.isSome(ev.right)) {
          assert.is(ev.right.value.event, 'DEVICE_DELETED')
          assert.ok(isRecord(ev.right.value.data))
          assert.is(isRecord(ev.right.value.data) && ev.right.value.data['device'], 's1')
        }
        assert.not.ok((await peripheral(vm)).has('s1'))
        // The event is still found by a later waitEvent with no send in between (it was buffered).
        const again = await ex.waitEvent(deviceDeletedFor('s1'), 10)()
        assert.ok(E.isRight(again) && O.isSome(again.right))
        // A new send moves the cursor: the old event is no longer "since the previous send".
        const st = await ex.send({ execute: 'query-status' })()
        assert.ok(E.isRight(st) && st.right._tag === 'Return')
        const stale = await ex.waitEvent(deviceDeletedFor('s1'), 50)()
        assert.equal(stale, E.right(O.none))
      },
      { dir }
    )
  )
})

qemu('executor: waitEvent with a never-matching predicate returns none after the timeout', async () => {
  await withImage((dir, img) =>
    withQemu(
      scsiArgv(img),
      async (vm) => {
        const ex = toExecutor(vm.qmp)
        // Make events flow, so "none" means the predicate was consulted and rejected them.
        await ex.send({ execute: 'device_del', arguments: { id: 's1' } })()
        const t0 = Date.now()
        const r = await ex.waitEvent(() => false, 300)()
        const elapsed = Date.now() - t0
        assert.equal(r, E.right(O.none))
        assert.ok(elapsed >= 290, `returned after ${elapsed} ms, before the timeout`)
        assert.ok(elapsed < 3000, `took ${elapsed} ms`)
        assert.ok(vm.qmp.events().some(deviceDeletedFor('s1')))
      },
      { dir }
    )
  )
})

qemu('executor: send with an fd is refused as a TransportError and reaches no QEMU', async () => {
  await withImage((dir, img) =>
    withQemu(
      virtioArgv(img, '0x10'),
      async (vm) => {
        const ex = toExecutor(vm.qmp)
        const r = await ex.send({ execute: 'getfd', arguments: { fdname: 'tap0' } }, 3)()
        assert.ok(E.isLeft(r))
        if (E.isLeft(r)) {
          assert.is(r.left._tag, 'TransportError')
          assert.match(r.left.message, 'SCM_RIGHTS')
        }
        // Plain commands still work, and a QMP error is a Right (an answer), not a Left.
        const bad = await ex.send({ execute: 'no-such-command' })()
        assert.ok(E.isRight(bad) && bad.right._tag === 'Error' && bad.right.class === 'CommandNotFound')
      },
      { dir }
    )
  )
})

qemu('kill ends the process and the QMP session', async () => {
  await withImage(async (dir, img) => {
    const vm = await startQemu(virtioArgv(img, '0x10'), { dir })
    const pid = vm.pid
    await vm.kill()
    assert.throws(() => process.kill(pid, 0), 'QEMU process still exists after kill()')
    assert.is(typeof vm.qmp.closedReason(), 'string')
    await vm.kill() // idempotent
  })
})

qemu.run()
