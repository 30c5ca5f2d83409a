/**
 * Network protocol nodes from a disk's typed `source` (and the URIs that map to them): the
 * node options QEMU's drivers take, secrets and TLS credentials as objects of the disk's graph
 * (never in argv), field errors naming the member at fault, and `json:` pseudo-filenames.
 */
import * as E from 'fp-ts/lib/Either.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { backingFilename, decodeDisk, decodeInstance, formatError, MASTER_KEY_ID, planDevices, renderArgv, toRuntime, decodeRuntime, planHotAdd, encodeRuntime, runtimeArgv, type BlockGraph, type DeviceTree, type Instance } from '../lib/index.js'
import { fail, GANETI_DISK_ID, GANETI_UUID, spec, type JsonObj } from './support/fixtures.js'

const ID = GANETI_DISK_ID

const plan = (disk: JsonObj, qemu = '7.2', host: JsonObj = {}): E.Either<string, DeviceTree> =>
  E.mapLeft(formatError)(E.chain((i: Instance) => planDevices(i, { qemu, host }))(decodeInstance(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, ...disk }] }))))

const planned = (disk: JsonObj, qemu = '7.2', host: JsonObj = {}): DeviceTree => {
  const r = plan(disk, qemu, host)
  return E.isRight(r) ? r.right : fail(r.left)
}

const graph = (disk: JsonObj, qemu = '7.2', host: JsonObj = {}): BlockGraph => {
  const d = planned(disk, qemu, host).disks[0]
  return d === undefined ? fail('no disk') : d.graph
}

const nodeOf = (g: BlockGraph, name: string): Record<string, unknown> => {
  const n = g.nodes.find((x) => x['node-name'] === name)
  return n === undefined ? fail(`no node ${name}`) : { ...n }
}

/** The error text has a line for `path`. */
const refused = (disk: JsonObj, path: string, pattern?: RegExp, host: JsonObj = {}): string => {
  const r = plan(disk, '7.2', host)
  if (E.isRight(r)) return fail(`expected ${JSON.stringify(disk)} to be refused at ${path}`)
  const line = r.left.split('\n').find((l) => l.startsWith(`${path}: `))
  assert.ok(line !== undefined, `no line for ${path} in:\n${r.left}`)
  if (pattern !== undefined) assert.match(line ?? '', pattern)
  return line ?? ''
}

const argvOf = (disk: JsonObj, qemu = '7.2', host: JsonObj = {}): ReadonlyArray<string> => renderArgv(planned(disk, qemu, host), { qmpSocket: '/run/q.sock' })

const RBD = {
  driver: 'rbd',
  pool: 'rbd',
  image: 'vm1 disk:0@x',
  user: 'admin',
  conf: '/etc/ceph/ceph.conf',
  server: [{ host: 'mon1.example.org', port: 6789 }, { host: 'fd00::2', port: '3300' }],
  key: { file: '/etc/ceph/admin.key', format: 'base64' }
}

test('rbd source: monitors as {host, port} strings, user, conf, any image name, the key as a secret object', () => {
  const g = graph({ source: RBD })
  const p = nodeOf(g, `${ID}-a-p`)
  assert.equal(p, {
    driver: 'rbd',
    'node-name': `${ID}-a-p`,
    cache: { direct: false, 'no-flush': false },
    pool: 'rbd',
    image: 'vm1 disk:0@x',
    conf: '/etc/ceph/ceph.conf',
    user: 'admin',
    server: [{ host: 'mon1.example.org', port: '6789' }, { host: 'fd00::2', port: '3300' }],
    'auth-client-required': ['cephx', 'none'],
    'key-secret': `${ID}-secret`,
    discard: 'ignore'
  })
  assert.equal(g.objects?.[0], { 'qom-type': 'secret', id: `${ID}-secret`, file: '/etc/ceph/admin.key', format: 'base64' })
  assert.is(g.objects?.[1]?.['qom-type'], 'throttle-group')
  const argv = argvOf({ source: RBD })
  // The secret object comes before the node naming it.
  const objectAt = argv.findIndex((w) => w.includes('"qom-type":"secret"'))
  const nodeAt = argv.findIndex((w) => w.includes('"driver":"rbd"'))
  assert.ok(objectAt >= 0 && objectAt < nodeAt)
})

test('gluster source: a server list of inet (port a string, 24007 by default) and unix', () => {
  const g = graph({ source: { driver: 'gluster', volume: 'vol0', path: 'vm1/d.img', server: [{ type: 'inet', host: 'gl1', port: 24010 }, { type: 'inet', host: 'gl2' }, { type: 'unix', path: '/run/gd.sock' }] } })
  assert.equal(nodeOf(g, `${ID}-a-p`)['server'], [{ type: 'inet', host: 'gl1', port: '24010' }, { type: 'inet', host: 'gl2', port: '24007' }, { type: 'unix', path: '/run/gd.sock' }])
})

test('gluster+rdma:// is mapped to inet with a warning, as QEMU does; gluster still warns deprecated from 9.2', () => {
  const tree = planned({ uri: 'gluster+rdma://gl1.example.org/vol0/d.img' }, '9.2')
  assert.equal(nodeOf(tree.disks[0]?.graph ?? fail('no disk'), `${ID}-a-p`)['server'], [{ type: 'inet', host: 'gl1.example.org', port: '24007' }])
  const rdma = tree.warnings.find((w) => w._tag === 'Ignored')
  assert.is(rdma?.path, 'disks[0].uri')
  assert.match(rdma?.message ?? '', /rdma/)
  assert.ok(tree.warnings.some((w) => w._tag === 'Deprecated' && w.path === 'disks[0].uri'))
  const q = planned({ uri: 'gluster://gl1.example.org/vol0/d.img?transport=rdma' })
  assert.ok(q.warnings.some((w) => w._tag === 'Ignored' && /rdma/.test(w.message)))
  const typed = planned({ source: { driver: 'gluster', volume: 'v', path: 'p', server: [{ type: 'inet', host: 'h' }] } }, '9.2')
  assert.ok(typed.warnings.some((w) => w._tag === 'Deprecated' && w.path === 'disks[0].source'))
})

test('nbd source: inet or unix, export, TLS as a tls-creds-x509 client object', () => {
  const g = graph({ source: { driver: 'nbd', server: { type: 'inet', host: '127.0.0.1', port: 10810 }, export: 'e0', tls: { dir: '/etc/pki/nbd', hostname: 'nbd.example.org' } } })
  const p = nodeOf(g, `${ID}-a-p`)
  assert.equal(p['server'], { type: 'inet', host: '127.0.0.1', port: '10810' })
  assert.is(p['export'], 'e0')
  assert.is(p['tls-creds'], `${ID}-tls`)
  assert.is(p['tls-hostname'], 'nbd.example.org')
  assert.equal(g.objects?.[0], { 'qom-type': 'tls-creds-x509', id: `${ID}-tls`, dir: '/etc/pki/nbd', endpoint: 'client', 'verify-peer': true })
  const u = graph({ source: { driver: 'nbd', server: { type: 'unix', path: '/run/nbd.sock' } } })
  assert.equal(nodeOf(u, `${ID}-a-p`)['server'], { type: 'unix', path: '/run/nbd.sock' })
  assert.is(nodeOf(u, `${ID}-a-p`)['export'], undefined)
})

test('iscsi source: user with a password secret, initiator-name, header digest', () => {
  const g = graph({ source: { driver: 'iscsi', portal: '192.0.2.1:3260', target: 'iqn.2000-01.com.example:t', lun: 2, user: 'u', password: { file: '/etc/iscsi/pw' }, 'initiator-name': 'iqn.2000-01.com.example:h', 'header-digest': 'crc32c' } })
  const p = nodeOf(g, `${ID}-a-p`)
  assert.is(p['user'], 'u')
  assert.is(p['password-secret'], `${ID}-secret`)
  assert.is(p['initiator-name'], 'iqn.2000-01.com.example:h')
  assert.is(p['header-digest'], 'crc32c')
  assert.is(p['lun'], 2)
  assert.is(p['transport'], 'tcp')
  assert.equal(g.objects?.[0], { 'qom-type': 'secret', id: `${ID}-secret`, file: '/etc/iscsi/pw', format: 'raw' })
})

test('http(s): the disk must be read-only, and every node is, the throttle filter included', () => {
  for (const disk of [{ uri: 'http://127.0.0.1:8080/img.raw', mode: 'ro' }, { source: { driver: 'https', url: 'https://h/img.qcow2', sslverify: false }, mode: 'ro', format: 'qcow2' }]) {
    const g = graph(disk)
    assert.is(g.nodes.length, 3)
    for (const n of g.nodes) assert.is(n['read-only'], true, `${n['node-name']} is not read-only`)
  }
  assert.is(nodeOf(graph({ source: { driver: 'https', url: 'https://h/i', sslverify: false }, mode: 'ro' }), `${ID}-a-p`)['sslverify'], false)
  assert.is(nodeOf(graph({ source: { driver: 'https', url: 'https://h/i' }, mode: 'ro' }), `${ID}-a-p`)['sslverify'], undefined)
  refused({ uri: 'http://127.0.0.1/img.raw' }, 'disks[0].mode', /read-only/)
  refused({ source: { driver: 'http', url: 'http://h/i' } }, 'disks[0].mode', /read-only/)
})

test('field errors name the member at fault', () => {
  refused({ source: { ...RBD, server: [{ host: 'a', port: 1 }, { host: 'b', port: 70000 }] } }, 'disks[0].source.server[1].port', /port/)
  refused({ source: { ...RBD, server: [{ host: 'a', port: 1, type: 'inet' }] } }, 'disks[0].source.server[0].type', /unknown field/)
  refused({ source: { ...RBD, key: { data: 'AAAA' } } }, 'disks[0].source.key.iv')
  refused({ source: { ...RBD, key: 'AQBkey==' } }, 'disks[0].source.key', /never the secret in clear/)
  refused({ source: { ...RBD, conf: 'ceph.conf' } }, 'disks[0].source.conf')
  refused({ source: { driver: 'ceph' } }, 'disks[0].source.driver', /"rbd"/)
  refused({ source: { driver: 'gluster', volume: 'v', path: 'p', server: [{ type: 'tcp', host: 'h' }] } }, 'disks[0].source.server[0].type', /"inet", "unix"/)
  refused({ source: { driver: 'gluster', volume: 'v', path: 'p', server: [{ type: 'unix', path: 'rel' }] } }, 'disks[0].source.server[0].path')
  refused({ source: { driver: 'nbd', server: { type: 'inet', host: 'h' }, tls: { dir: 'x' } } }, 'disks[0].source.tls.dir')
  refused({ source: { driver: 'iscsi', portal: 'h', target: 'iqn.x:y', user: 'u' } }, 'disks[0].source.password', /CHAP/)
  refused({ source: { driver: 'iscsi', portal: 'h', target: 'iqn.x:y', password: { file: '/p' } } }, 'disks[0].source.user')
  refused({ source: { driver: 'iscsi', portal: 'h', target: 'iqn.x:y', 'header-digest': 'md5' } }, 'disks[0].source.header-digest')
  refused({ source: { driver: 'http', url: 'http://u:p@h/i' }, mode: 'ro' }, 'disks[0].source.url', /credentials/)
  refused({ source: { driver: 'https', url: 'http://h/i' }, mode: 'ro' }, 'disks[0].source.url', /https:\/\//)
  refused({ uri: 'nbd://h/e', source: { driver: 'nbd', server: { type: 'inet', host: 'h' } } }, 'disks[0].source', /not both/)
})

test('encrypted secrets: keyid names the host master key, rendered once at the head; without the host fact, refused', () => {
  const disk = { source: { ...RBD, key: { data: 'c2VjcmV0', iv: 'aXYxMjM0NTY3ODkwMTIzNA==' } } }
  refused(disk, 'target.host.secretMasterKey', /master key/)
  const g = graph(disk, '7.2', { secretMasterKey: '/etc/devplan/master.key' })
  assert.equal(g.objects?.[0], { 'qom-type': 'secret', id: `${ID}-secret`, data: 'c2VjcmV0', iv: 'aXYxMjM0NTY3ODkwMTIzNA==', keyid: MASTER_KEY_ID, format: 'base64' })
  const argv = argvOf(disk, '7.2', { secretMasterKey: '/etc/devplan/master.key' })
  const masters = argv.filter((w) => w.includes(`"id":"${MASTER_KEY_ID}"`))
  assert.equal(masters, [JSON.stringify({ 'qom-type': 'secret', id: MASTER_KEY_ID, format: 'raw', file: '/etc/devplan/master.key' })])
  assert.ok(argv.indexOf(masters[0] ?? '') < argv.findIndex((w) => w.includes(`"id":"${ID}-secret"`)))
  const old = argvOf(disk, '6.0', { secretMasterKey: '/etc/devplan/master.key' })
  assert.ok(old.includes(`secret,id=${MASTER_KEY_ID},format=raw,file=/etc/devplan/master.key`))
})

test('no secret in argv: only the file or the ciphertext, never a key in clear', () => {
  const argv = argvOf({ source: { ...RBD, key: { file: '/k' } } }).join(' ')
  assert.not.match(argv, /AQB/)
  assert.match(argv, /"file":"\/k"/)
})

test('recorded runtime keeps the secret and TLS objects and decodes them again; hot-add creates them first', () => {
  const inst = decodeInstance(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, source: { driver: 'nbd', server: { type: 'unix', path: '/run/n.sock' }, tls: { dir: '/pki' } } }] }))
  if (E.isLeft(inst)) return fail(formatError(inst.left))
  const tree = planDevices(inst.right, { qemu: '7.2' })
  if (E.isLeft(tree)) return fail(formatError(tree.left))
  const rt = toRuntime(inst.right, tree.right, { qmpSocket: '/run/q.sock' })
  if (E.isLeft(rt)) return fail(formatError(rt.left))
  const back = decodeRuntime(JSON.parse(JSON.stringify(encodeRuntime(rt.right))))
  if (E.isLeft(back)) return fail(formatError(back.left))
  assert.equal(back.right.disks[0]?.objects?.[0], { 'qom-type': 'tls-creds-x509', id: `${ID}-tls`, dir: '/pki', endpoint: 'client', 'verify-peer': true })
  const again = runtimeArgv(back.right)
  if (E.isLeft(again)) return fail(formatError(again.left))
  assert.equal(again.right, renderArgv(tree.right, { qmpSocket: '/run/q.sock' }))
  const disk = decodeDisk({ uuid: 'a0000001-0000-4000-8000-000000000001', source: RBD })
  if (E.isLeft(disk)) return fail(formatError(disk.left))
  const add = planHotAdd(rt.right, { disk: disk.right })
  if (E.isLeft(add)) return fail(formatError(add.left))
  const titles = add.right.steps.map((s) => s.description)
  const secretAt = titles.findIndex((t) => t.startsWith('object-add secret'))
  const nodeAt = titles.findIndex((t) => t.startsWith('blockdev-add') && t.includes('(rbd)'))
  assert.ok(secretAt >= 0 && secretAt < nodeAt, titles.join('\n'))
})

test('hot-add of an encrypted secret needs an instance started with the master key', () => {
  const disk = decodeDisk({ uuid: 'a0000001-0000-4000-8000-000000000001', source: { ...RBD, key: { data: 'c2VjcmV0', iv: 'aXYxMjM0NTY3ODkwMTIzNA==' } } })
  if (E.isLeft(disk)) return fail(formatError(disk.left))
  for (const [host, ok] of [[{}, false], [{ secretMasterKey: '/etc/devplan/master.key' }, true]] as const) {
    const inst = decodeInstance(spec({}, 0, 0))
    if (E.isLeft(inst)) return fail(formatError(inst.left))
    const tree = planDevices(inst.right, { qemu: '7.2', host })
    if (E.isLeft(tree)) return fail(formatError(tree.left))
    const rt = toRuntime(inst.right, tree.right, { qmpSocket: '/run/q.sock' })
    if (E.isLeft(rt)) return fail(formatError(rt.left))
    const add = planHotAdd(rt.right, { disk: disk.right })
    assert.is(E.isRight(add), ok, E.isLeft(add) ? formatError(add.left) : 'planned')
    if (E.isLeft(add)) assert.match(formatError(add.left), /^disk\.source: .*master key/m)
  }
})

test('key=value targets (before 6.2): objects and lists as dotted keys, commas doubled', () => {
  const argv = argvOf({ source: { driver: 'nbd', server: { type: 'unix', path: '/s' }, tls: { dir: '/p,x' } } }, '6.0')
  assert.ok(argv.includes(`tls-creds-x509,id=${ID}-tls,dir=/p,,x,endpoint=client,verify-peer=on`), argv.join(' '))
  const rbd = argvOf({ source: RBD }, '6.0').find((w) => w.startsWith('driver=rbd')) ?? ''
  assert.match(rbd, /server\.0\.host=mon1\.example\.org,server\.0\.port=6789,server\.1\.host=fd00::2/)
  assert.match(rbd, /auth-client-required\.0=cephx,auth-client-required\.1=none/)
})

test('a runtime record without nodes (as Ganeti writes them) of an http disk rebuilds read-only', () => {
  const inst = decodeInstance(spec({}, 0, 0, { disks: [{ uuid: GANETI_UUID, uri: 'http://h/i.raw', mode: 'ro' }] }))
  if (E.isLeft(inst)) return fail(formatError(inst.left))
  const tree = planDevices(inst.right, { qemu: '7.2' })
  if (E.isLeft(tree)) return fail(formatError(tree.left))
  const rt = toRuntime(inst.right, tree.right, { qmpSocket: '/run/q.sock' })
  if (E.isLeft(rt)) return fail(formatError(rt.left))
  const legacy = { ...rt.right, disks: rt.right.disks.map(({ objects: _objects, ...d }) => ({ ...d, blockdev: undefined, rest: { ...d.rest, mode: 'rw' } })) }
  const argv = runtimeArgv(legacy)
  if (E.isLeft(argv)) return fail(formatError(argv.left))
  const nodes = argv.right.filter((w) => w.includes('"node-name"')).map((w): unknown => JSON.parse(w))
  assert.ok(nodes.length >= 2 && nodes.every((n) => typeof n === 'object' && n !== null && Reflect.get(n, 'read-only') === true), JSON.stringify(nodes))
})

test('backingFilename: a plain path for local images, json:{format over protocol} without ids for network ones', () => {
  assert.is(backingFilename(graph({ path: '/srv/vm1/d.qcow2', format: 'qcow2' })), '/srv/vm1/d.qcow2')
  assert.is(backingFilename(graph({ path: '/dev/vg/lv' })), '/dev/vg/lv')
  const rbd = backingFilename(graph({ source: RBD }))
  assert.is(rbd, `json:${JSON.stringify({ driver: 'raw', file: { driver: 'rbd', pool: 'rbd', image: 'vm1 disk:0@x', conf: '/etc/ceph/ceph.conf', user: 'admin', server: [{ host: 'mon1.example.org', port: '6789' }, { host: 'fd00::2', port: '3300' }] } })}`)
  const nbd = backingFilename(graph({ source: { driver: 'nbd', server: { type: 'unix', path: '/s' }, tls: { dir: '/pki' } } })) ?? ''
  assert.not.match(nbd, /tls-creds|node-name/)
  assert.match(nbd, /"server":\{"type":"unix","path":"\/s"\}/)
  // Without a filter (a 6.0 target) the format node is the top.
  assert.match(backingFilename(graph({ uri: 'nbd://h/e' }, '6.0')) ?? '', /^json:\{"driver":"raw","file":\{"driver":"nbd"/)
  assert.is(backingFilename({ top: 'x', nodes: [] }), undefined)
})

test.run()
