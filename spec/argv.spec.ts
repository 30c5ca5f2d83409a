/**
 * renderArgv: determinism, JSON or key=value by target version (DOMAIN §6), the parts of a complete
 * command line, and — with fast-check — that no string from the spec can add, drop or change an
 * option. Values are read back with a test-side parser of QEMU's syntax (fixtures.parseKeyval)
 * and JSON.parse; showArgv is read back with splitWords and with a real `sh`.
 */
import { spawnSync } from 'node:child_process'
import * as E from 'fp-ts/lib/Either.js'
import * as fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { renderArgv, showArgv, type DeviceTree } from '../lib/index.js'
import { splitWords } from '../lib/shell.js'
import {
  devicesOf,
  fail,
  ganetiId,
  GANETI_DISK_ID,
  GANETI_UUID,
  INSTANCE_UUID,
  nastyString,
  nicSpec,
  optionValues,
  parseKeyval,
  parseOption,
  planOk,
  spec,
  STRUCTURED,
  uuidN,
  validSpecArb,
  type Json
} from './support/fixtures.js'

const render = (input: unknown, qemu = '7.2', qmpSocket = '/run/vm1.qmp'): ReadonlyArray<string> => renderArgv(planOk(input, qemu), { qmpSocket, accel: 'tcg' })

const isJson = (v: string): boolean => v.startsWith('{')

// ---------------------------------------------------------------------------------------------
// Determinism

test('property: the same spec rendered twice (decoded twice) gives identical argv', () => {
  fc.assert(
    fc.property(validSpecArb, fc.constantFrom('6.0', '6.1', '6.2', '7.0', '7.1', '7.2', '8.2'), (s, v) => {
      const a = render(JSON.parse(JSON.stringify(s)), v)
      const b = render(JSON.parse(JSON.stringify(s)), v)
      assert.equal(a, b)
      for (const w of a) assert.type(w, 'string')
    }),
    { numRuns: 150 }
  )
})

// ---------------------------------------------------------------------------------------------
// Syntax by version

const SCSI_SPEC = spec({ disk_type: 'scsi-hd', cdrom_image_path: '/iso/a.iso', cdrom_disk_type: 'ide' }, 2, 1)

test('JSON or keyval per target: -device JSON from 6.2, -netdev JSON from 7.1', () => {
  const cases: Array<[string, boolean, boolean]> = [
    ['6.0', false, false],
    ['6.1', false, false],
    ['6.2', true, false],
    ['7.0', true, false],
    ['7.1', true, true],
    ['7.2', true, true]
  ]
  for (const [v, jsonDevice, jsonNetdev] of cases) {
    const argv = render(SCSI_SPEC, v)
    const devices = optionValues(argv, '-device')
    const netdevs = optionValues(argv, '-netdev')
    // lsi, a disk, a NIC, a CD-ROM, the floppy, and the machine's balloon
    assert.ok(devices.length === 6 && netdevs.length === 1, `${v}: ${devices.length} -device, ${netdevs.length} -netdev`)
    for (const d of devices) assert.is(isJson(d), jsonDevice, `${v} -device ${d}`)
    for (const n of netdevs) assert.is(isJson(n), jsonNetdev, `${v} -netdev ${n}`)
    for (const b of optionValues(argv, '-blockdev')) assert.ok(isJson(b) || !jsonDevice, `${v} -blockdev ${b}`)
  }
})

/** Flattens parsed JSON the way keyval spells it: dotted keys, booleans as on/off. */
const flattenJson = (v: Json, prefix = ''): Array<readonly [string, string]> => {
  if (v === null) return []
  if (Array.isArray(v)) return v.flatMap((x, i) => flattenJson(x, `${prefix}.${i}`))
  if (typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => flattenJson(x, prefix === '' ? k : `${prefix}.${k}`))
  return [[prefix, typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v)]]
}

test('keyval (6.0) and JSON (7.2) say the same thing, option by option', () => {
  const input = spec({ disk_type: 'scsi-hd', disk_cache: 'none', disk_discard: 'unmap', cdrom_image_path: '/iso/a,b.iso' }, 0, 0, {
    disks: [
      { uuid: GANETI_UUID, path: '/srv/a,file.driver=nbd', mode: 'ro' },
      { uuid: uuidN(1), uri: 'gluster://gl1.example.org:24010/vol0/x%2Cy.img' },
      { uuid: uuidN(2), uri: 'rbd:po,ol/im=g:id=ad,min' }
    ],
    nics: [nicSpec(0)]
  })
  // The same tree in both syntaxes: planned for 6.0 (no throttle filters, which need JSON
  // -object), rendered once as 6.0 and once as if for 7.2.
  const tree = planOk(input, '6.0')
  const k = renderArgv(tree, { qmpSocket: '/run/vm1.qmp', accel: 'tcg' })
  const j = renderArgv({ ...tree, qemu: { major: 7, minor: 2, micro: 0 } }, { qmpSocket: '/run/vm1.qmp', accel: 'tcg' })
  assert.is(k.length, j.length)
  k.forEach((w, i) => {
    const prev = k[i - 1] ?? ''
    const jw = j[i] ?? ''
    if (prev === '-blockdev' || prev === '-device' || prev === '-netdev') {
      const kp = parseOption(prev, w)
      const jp = parseOption(prev, jw)
      if (kp.syntax !== 'keyval' || jp.syntax !== 'json') return fail(`${prev}: expected keyval on 6.0 and JSON on 7.2`)
      assert.equal(kp.pairs.map(([a, b]) => [a, b]), flattenJson(jp.value).map(([a, b]) => [a, b]), `${prev} ${w}`)
    } else assert.is(w, jw)
  })
  // The escaped values arrive whole.
  const blockdevs = optionValues(k, '-blockdev').map((b) => Object.fromEntries(parseKeyval(b, 'driver')))
  assert.ok(blockdevs.some((b) => b['filename'] === '/srv/a,file.driver=nbd'))
  assert.ok(blockdevs.some((b) => b['filename'] === '/iso/a,b.iso'))
  assert.ok(blockdevs.some((b) => b['path'] === 'x,y.img' && b['server.0.host'] === 'gl1.example.org' && b['server.0.port'] === '24010' && b['server.0.type'] === 'inet'))
  assert.ok(blockdevs.some((b) => b['pool'] === 'po,ol' && b['image'] === 'im=g' && b['user'] === 'ad,min'))
})

test('JSON -device is strictly typed: scsi-id/lun/channel/unit/bootindex numbers, addr a string', () => {
  const argv = render(spec({ disk_type: 'scsi-hd', cdrom_image_path: '/iso/a.iso', cdrom_disk_type: 'ide' }, 1, 1), '7.2')
  const devs = devicesOf(argv)
  const disk = devs.find((d) => d['id'] === ganetiId('disk', uuidN(0))) ?? fail('no disk')
  assert.equal(disk, { driver: 'scsi-hd', id: ganetiId('disk', uuidN(0)), bus: 'scsi.0', channel: 0, 'scsi-id': 0, lun: 0, drive: ganetiId('disk', uuidN(0)), 'write-cache': 'on', bootindex: 1 })
  const nic = devs.find((d) => d['id'] === ganetiId('nic', uuidN(0, 'b'))) ?? fail('no nic')
  assert.is(nic['addr'], '0x10')
  assert.is(nic['netdev'], ganetiId('nic', uuidN(0, 'b')))
  assert.is(nic['mac'], 'aa:00:00:00:00:00')
  const cd = devs.find((d) => d['id'] === 'cdrom1') ?? fail('no cd')
  assert.equal(cd, { driver: 'ide-cd', id: 'cdrom1', bus: 'ide.0', unit: 0, drive: 'cdrom1' })
  const ctl = devs.find((d) => d['id'] === 'scsi') ?? fail('no controller')
  assert.is(ctl['driver'], 'lsi')
  assert.type(ctl['addr'], 'string')
})

// ---------------------------------------------------------------------------------------------
// A complete command line

test('the fixed part: binary, name, uuid, machine, memory, smp, -nodefaults, QMP socket', () => {
  const argv = render({ ...spec({ kvm_path: '/usr/bin/qemu-system-x86_64' }, 1, 0), vcpus: 2, memory: 768 }, '7.2', '/run/ganeti/vm1.qmp')
  assert.is(argv[0], '/usr/bin/qemu-system-x86_64')
  const after = (opt: string): string => argv[argv.indexOf(opt) + 1] ?? fail(`no ${opt}`)
  assert.equal(parseKeyval(after('-name'), 'guest'), [['guest', 'vm1.example.com']])
  assert.is(after('-uuid'), INSTANCE_UUID)
  assert.equal(Object.fromEntries(parseKeyval(after('-machine'), 'type')), { type: 'pc', accel: 'tcg' })
  assert.is(after('-m'), '768')
  assert.is(after('-smp'), '2')
  assert.ok(argv.includes('-nodefaults'))
  const chardev = Object.fromEntries(parseKeyval(after('-chardev'), 'backend'))
  assert.equal(chardev, { backend: 'socket', id: 'qmp', path: '/run/ganeti/vm1.qmp', server: 'on', wait: 'off' })
  assert.equal(Object.fromEntries(parseKeyval(after('-mon'), 'chardev')), { chardev: 'qmp', mode: 'control' })
  assert.is(renderArgv(planOk(spec({}, 1, 0)), { qmpSocket: '/q' }).join(' ').includes('accel=kvm'), true)
})

test('each device comes after its block nodes, each node after the nodes it names', () => {
  const input = spec({ disk_type: 'scsi-hd', cdrom_image_path: '/iso/a.iso', floppy_image_path: '/fd.img' }, 0, 1, {
    disks: [{ uuid: GANETI_UUID, path: '/t.qcow2', format: 'qcow2', backing: [{ path: '/b.qcow2', format: 'qcow2' }] }, { uuid: uuidN(1), path: '/d1' }]
  })
  for (const v of ['6.0', '7.2']) {
    const argv = render(input, v)
    const defined = new Set<string>()
    let controller = false
    argv.forEach((w, i) => {
      const value = argv[i + 1] ?? ''
      if (w === '-blockdev') {
        const p = parseOption(w, value)
        const o = p.syntax === 'json' ? (p.value as Record<string, Json>) : Object.fromEntries(p.pairs)
        // `backing=` (key=value's null) names no node: the base of a chain.
        for (const ref of [o['file'], o['backing']]) if (typeof ref === 'string' && ref !== '') assert.ok(defined.has(ref), `${v}: ${String(o['node-name'])} names ${ref} before it exists`)
        defined.add(String(o['node-name']))
      } else if (w === '-device') {
        const d = devicesOf([w, value])[0] ?? fail('device')
        if (d['id'] === 'scsi') controller = true
        if (typeof d['drive'] === 'string') assert.ok(defined.has(d['drive']), `${v}: ${String(d['id'])} before its drive`)
        if (d['bus'] === 'scsi.0') assert.ok(controller, `${v}: ${String(d['id'])} before the controller`)
      }
    })
    assert.ok(defined.has(`${GANETI_DISK_ID}-b1`) && defined.has('cdrom1') && defined.has('floppy0'))
  }
})

test('NIC: -netdev with the same id before its -device; user and tap (fds, vhost, multiqueue)', () => {
  const tap = planOk(
    spec({ vhost_net: true, virtio_net_queues: 2 }, 1, 0, { nics: [nicSpec(0, { backend: { type: 'tap', fds: [10, 11], vhostfds: [20, 21] } })] })
  )
  const argv = renderArgv(tap, { qmpSocket: '/q' })
  const id = ganetiId('nic', uuidN(0, 'b'))
  const netdev = JSON.parse(optionValues(argv, '-netdev')[0] ?? fail('no netdev')) as Record<string, Json>
  assert.equal(netdev, { type: 'tap', id, fds: '10:11', vhost: true, vhostfds: '20:21' })
  const dev = devicesOf(argv).find((d) => d['id'] === id) ?? fail('no nic device')
  assert.is(dev['netdev'], id)
  assert.is(dev['mq'], true)
  assert.is(dev['vectors'], 2 * 2 + 2)
  assert.ok(argv.indexOf('-netdev') < argv.lastIndexOf('-device'))
  const one = renderArgv(planOk(spec({}, 1, 0, { nics: [nicSpec(0, { backend: { type: 'tap', fds: [7] } })] }), '6.0'), { qmpSocket: '/q' })
  assert.equal(Object.fromEntries(parseKeyval(optionValues(one, '-netdev')[0] ?? '', 'type')), { type: 'tap', id, fd: '7' })
  const named = renderArgv(planOk(spec({}, 1, 0, { nics: [nicSpec(0, { backend: { type: 'tap', ifname: 'tap0' } })] })), { qmpSocket: '/q' })
  assert.equal(JSON.parse(optionValues(named, '-netdev')[0] ?? '{}'), { type: 'tap', id, ifname: 'tap0', script: 'no', downscript: 'no' })
})

test('boot: exactly one bootindex=1, on the right device; floppy → -boot order=a; kernel → no bootindex', () => {
  const bootindexes = (argv: ReadonlyArray<string>): Array<[unknown, unknown]> => devicesOf(argv).filter((d) => d['bootindex'] !== undefined).map((d) => [d['id'], d['bootindex']])
  for (const v of ['6.0', '7.2']) {
    assert.equal(bootindexes(render(spec({}, 2, 1), v)).map(([id, b]) => [id, String(b)]), [[ganetiId('disk', uuidN(0)), '1']])
    assert.equal(bootindexes(render(spec({ boot_order: 'network' }, 2, 2), v)).map(([id]) => id), [ganetiId('nic', uuidN(0, 'b'))])
    assert.equal(bootindexes(render(spec({ boot_order: 'cdrom', cdrom_image_path: '/iso/a.iso', cdrom2_image_path: '/iso/b.iso' }, 2, 1), v)).map(([id]) => id), ['cdrom1'])
    const fd = render(spec({ boot_order: 'floppy', floppy_image_path: '/fd.img' }, 1, 0), v)
    assert.equal(bootindexes(fd), [])
    assert.equal(optionValues(fd, '-boot'), ['order=a'])
    const k = render(spec({ kernel_path: '/boot/vmlinuz', initrd_path: '/boot/initrd', root_path: '/dev/vda1', kernel_args: 'ro quiet', serial_console: false }, 1, 1), v)
    assert.equal(bootindexes(k), [])
    assert.equal(optionValues(k, '-kernel'), ['/boot/vmlinuz'])
    assert.equal(optionValues(k, '-initrd'), ['/boot/initrd'])
    assert.equal(optionValues(k, '-append'), ['root=/dev/vda1 ro quiet'])
    assert.not.ok(k.includes('-boot'))
  }
  const noInitrd = render(spec({ kernel_path: '/boot/vmlinuz', serial_console: false }, 1, 0))
  assert.not.ok(noInitrd.includes('-initrd') || noInitrd.includes('-append'))
})

test('kvm_extra words come last, verbatim', () => {
  const argv = render(spec({ kvm_extra: "-cpu host -smbios 'type=1,serial=a b' -device virtio-rng-pci,bus=pci.0,addr=0x9" }, 1, 1))
  assert.equal(argv.slice(-6), ['-cpu', 'host', '-smbios', 'type=1,serial=a b', '-device', 'virtio-rng-pci,bus=pci.0,addr=0x9'])
})

test('CD-ROM and floppy devices', () => {
  const argv = render(spec({ cdrom_image_path: '/iso/a.iso', floppy_image_path: '/fd.img' }, 1, 0))
  const devs = devicesOf(argv)
  const fd = devs.find((d) => d['id'] === 'floppy0') ?? fail('no floppy')
  assert.is(fd['driver'], 'floppy')
  assert.is(fd['drive'], 'floppy0')
  assert.is(fd['unit'], 0)
  const cd = devs.find((d) => d['id'] === 'cdrom1') ?? fail('no cd')
  assert.is(cd['driver'], 'virtio-blk-pci')
  assert.is(cd['drive'], 'cdrom1')
})

// ---------------------------------------------------------------------------------------------
// Injection

interface Values {
  readonly disk: string
  readonly cdrom: string
  readonly floppy: string
  readonly kernel: string
  readonly initrd: string
  readonly root: string
  readonly args: string
  readonly qmp: string
  readonly name: string
}

const PLAIN: Values = {
  disk: '/PLAIN-DISK',
  cdrom: '/PLAIN-CDROM',
  floppy: '/PLAIN-FLOPPY',
  kernel: '/PLAIN-KERNEL',
  initrd: '/PLAIN-INITRD',
  root: 'PLAIN-ROOT',
  args: 'PLAIN-ARGS',
  qmp: '/PLAIN-QMP',
  name: 'PLAIN-NAME'
}

/** Two command lines: with kernel boot (disk, cdrom, floppy) and with disk boot (no kernel words). */
const build = (v: Values, qemu: string, kernel: boolean): ReadonlyArray<string> => {
  const input = spec(
    {
      disk_type: 'scsi-hd',
      // The serial socket's path follows the name and the QMP directory: tested on its own.
      serial_console: false,
      cdrom_image_path: v.cdrom,
      floppy_image_path: v.floppy,
      ...(kernel ? { kernel_path: v.kernel, initrd_path: v.initrd, root_path: v.root, kernel_args: v.args } : {})
    },
    0,
    1,
    { disks: [{ uuid: GANETI_UUID, path: v.disk, kind: 'file' }] }
  )
  const tree: DeviceTree = { ...planOk(input, qemu), name: v.name }
  return renderArgv(tree, { qmpSocket: v.qmp, accel: 'kvm' })
}

const expectedWord = (base: string, plain: Values, nasty: Values): string => {
  const m = new Map<string, string>([
    [plain.disk, nasty.disk],
    [plain.cdrom, nasty.cdrom],
    [plain.floppy, nasty.floppy],
    [plain.kernel, nasty.kernel],
    [plain.initrd, nasty.initrd],
    [plain.qmp, nasty.qmp],
    [plain.name, nasty.name],
    [`root=${plain.root} ${plain.args}`, `root=${nasty.root} ${nasty.args}`]
  ])
  return m.get(base) ?? base
}

/** Walks two parsed JSON values in step: same shape and key order; strings mapped. */
const sameJson = (base: Json, got: Json, map: (s: string) => string, where: string, used: Set<string>): void => {
  if (typeof base === 'string') {
    if (map(base) !== base) used.add(base)
    assert.is(got, map(base), where)
  } else if (Array.isArray(base)) {
    if (!Array.isArray(got)) return fail(`${where}: expected a list`)
    assert.is(got.length, base.length, where)
    base.forEach((b, i) => sameJson(b, got[i] ?? null, map, `${where}[${i}]`, used))
  } else if (base !== null && typeof base === 'object') {
    if (got === null || typeof got !== 'object' || Array.isArray(got)) return fail(`${where}: expected an object`)
    assert.equal(Object.keys(got), Object.keys(base), `${where}: keys`)
    for (const k of Object.keys(base)) sameJson(base[k] ?? null, got[k] ?? null, map, `${where}.${k}`, used)
  } else assert.is(got, base, where)
}

/**
 * The heart of it: the argv with nasty values has the same length and the same option words at
 * the same places as the plain one, and every structured value parses to the same keys, in the
 * same order, with the nasty value exactly where the plain one was.
 */
const assertSameShape = (plainArgv: ReadonlyArray<string>, nastyArgv: ReadonlyArray<string>, plain: Values, nasty: Values): Set<string> => {
  const used = new Set<string>()
  const map = (s: string): string => expectedWord(s, plain, nasty)
  assert.is(nastyArgv.length, plainArgv.length, 'argv length')
  plainArgv.forEach((w, i) => {
    const got = nastyArgv[i] ?? ''
    const prev = plainArgv[i - 1]
    if (prev !== undefined && prev in STRUCTURED) {
      const a = parseOption(prev, w)
      const b = parseOption(prev, got)
      assert.is(b.syntax, a.syntax, `${prev} syntax`)
      if (a.syntax === 'json' && b.syntax === 'json') sameJson(a.value, b.value, map, prev, used)
      else if (a.syntax === 'keyval' && b.syntax === 'keyval') {
        assert.equal(b.pairs.map(([k]) => k), a.pairs.map(([k]) => k), `${prev} keys of ${got}`)
        a.pairs.forEach(([k, v], j) => {
          if (map(v) !== v) used.add(v)
          assert.is(b.pairs[j]?.[1], map(v), `${prev} ${k}`)
        })
      }
    } else {
      if (map(w) !== w) used.add(w)
      assert.is(got, map(w), `argv[${i}] after ${prev ?? '(start)'}`)
    }
  })
  return used
}

const valuesArb: fc.Arbitrary<Values> = fc
  .record({ disk: nastyString, cdrom: nastyString, floppy: nastyString, kernel: nastyString, initrd: nastyString, root: nastyString, args: nastyString, qmp: nastyString, name: nastyString })
  .map((s) => ({
    disk: `/srv/${s.disk}`,
    cdrom: `/iso/${s.cdrom}`,
    floppy: `/fd/${s.floppy}`,
    kernel: `/boot/${s.kernel}`,
    initrd: `/boot/i${s.initrd}`,
    root: s.root === '' ? 'r' : s.root,
    args: s.args === '' ? 'a' : s.args,
    qmp: s.qmp,
    name: s.name
  }))

for (const [qemu, syntax] of [
  ['7.2', 'JSON'],
  ['6.0', 'keyval']
] as const) {
  test(`property (${qemu}, ${syntax}): no string in disk/cdrom/floppy/kernel paths, kernel args, name or QMP path changes an option`, () => {
    const plainK = build(PLAIN, qemu, true)
    const plainD = build(PLAIN, qemu, false)
    fc.assert(
      fc.property(valuesArb, (nasty) => {
        const used = assertSameShape(plainK, build(nasty, qemu, true), PLAIN, nasty)
        // Every plain value was found and replaced (else the property would prove nothing).
        for (const p of [PLAIN.disk, PLAIN.cdrom, PLAIN.floppy, PLAIN.kernel, PLAIN.initrd, PLAIN.qmp, PLAIN.name, `root=${PLAIN.root} ${PLAIN.args}`]) {
          if (expectedWord(p, PLAIN, nasty) !== p) assert.ok(used.has(p), `${p} was never found in the argv`)
        }
        assertSameShape(plainD, build(nasty, qemu, false), PLAIN, nasty)
      }),
      { numRuns: 300 }
    )
  })
}

test('the nasty classics, one by one, on both syntaxes', () => {
  for (const qemu of ['6.0', '6.2', '7.0', '7.2']) {
    for (const s of [',', ',,', '=', ',file.driver=nbd', 'json:{}', '"', "'", '\n', ' ', '-device', 'x,,y', ',id=evil', '\u00e9\u65e5']) {
      const nasty: Values = { disk: `/srv/${s}`, cdrom: `/iso/${s}`, floppy: `/fd/${s}`, kernel: `/boot/${s}`, initrd: `/boot/i${s}`, root: `r${s}`, args: `a${s}`, qmp: `/q${s}`, name: `n${s}` }
      const used = assertSameShape(build(PLAIN, qemu, true), build(nasty, qemu, true), PLAIN, nasty)
      assert.is(used.size, 8, `${qemu} ${JSON.stringify(s)}`)
    }
  }
})

// ---------------------------------------------------------------------------------------------
// showArgv

const roundTrip = (argv: ReadonlyArray<string>): void => {
  const back = splitWords(showArgv(argv))
  if (E.isLeft(back)) return fail(`splitWords: ${back.left}`)
  assert.equal(back.right, argv)
}

test('property: showArgv read back by splitWords gives the argv exactly', () => {
  fc.assert(
    fc.property(valuesArb, fc.constantFrom('6.0', '7.2'), fc.boolean(), (v, qemu, kernel) => roundTrip(build(v, qemu, kernel))),
    { numRuns: 200 }
  )
  fc.assert(fc.property(validSpecArb, (s) => roundTrip(render(s))), { numRuns: 50 })
})

const utf8Safe = (s: string): boolean => Buffer.from(s, 'utf8').toString('utf8') === s

test('showArgv read back by sh gives the argv exactly', () => {
  const samples = fc.sample(valuesArb.filter((v) => Object.values(v).every(utf8Safe)), { numRuns: 6, seed: 20261123 })
  const classic: Values = { disk: "/srv/a b,c='d'\n\"e\"$(id)`x`\\", cdrom: '/iso/-device', floppy: '/fd/ ', kernel: '/boot/*', initrd: "/boot/i'", root: '$HOME', args: 'a\\\nb', qmp: '/q \t', name: 'n!' }
  for (const v of [classic, ...samples]) {
    for (const qemu of ['6.0', '7.2']) {
      const argv = build(v, qemu, true)
      const r = spawnSync('sh', ['-c', `printf '%s\\0' ${showArgv(argv)}`], { encoding: 'utf8' })
      assert.is(r.status, 0, r.stderr)
      assert.equal(r.stdout.split('\0').slice(0, -1), [...argv])
    }
  }
})

test('showArgv: one option per line, its value beside it', () => {
  const text = showArgv(['/usr/bin/kvm', '-m', '512', '-nodefaults', '-device', '{"driver":"e1000"}'])
  assert.is(text, `/usr/bin/kvm \\\n  -m 512 \\\n  -nodefaults \\\n  -device '{"driver":"e1000"}'`)
})

// A spec-level check: a NUL can never reach the argv (QEMU would see a cut string).
test('property: no argv word of a valid spec contains NUL', () => {
  fc.assert(
    fc.property(validSpecArb, (s) => {
      for (const w of render(s)) assert.not.ok(w.includes('\0'))
    }),
    { numRuns: 50 }
  )
})

test.run()
