/**
 * Device ids as Ganeti's `_GenerateDeviceKVMId` makes them: `uuid.rsplit("-", 2)[0]`, written
 * here as that Python does it, against the library's index arithmetic.
 */
import * as fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { deviceId } from '../lib/ids.js'

// Python's str.rsplit('-', 2)[0]: split at the last two separators at most.
const rsplit2 = (s: string): string => {
  const parts = s.split('-')
  return parts.length > 2 ? parts.slice(0, parts.length - 2).join('-') : (parts[0] ?? '')
}

test('deviceId keeps the uuid up to its second last "-", as Ganeti does', () => {
  assert.is(deviceId('disk', '932df160-7a22-4067-a566-7e0ca8386133'), 'disk-932df160-7a22-4067')
  for (const u of ['', '-', '--', '---', 'a', 'a-b', '-a', 'a-', 'a-b-c', '-a-b', 'a--b', 'a-b-', 'a-b-c-d-e']) assert.is(deviceId('nic', u), `nic-${rsplit2(u)}`, JSON.stringify(u))
  fc.assert(
    fc.property(fc.array(fc.constantFrom('-', 'a', '0', 'é'), { maxLength: 12 }), (cs) => deviceId('disk', cs.join('')) === `disk-${rsplit2(cs.join(''))}`),
    { numRuns: 2000 }
  )
})

test.run()
