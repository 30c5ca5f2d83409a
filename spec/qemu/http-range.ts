/**
 * A request handler serving one image over HTTP as QEMU's curl driver reads it: HEAD for the
 * size, GET with a single byte range for the data. Every request is logged as
 * `METHOD URL RANGE`, for the suites that check QEMU really read ranges.
 */
import type * as http from 'node:http'

export const rangeHandler = (body: Buffer, urlPath: string, requests: string[]) => (req: http.IncomingMessage, res: http.ServerResponse): void => {
  requests.push(`${req.method ?? ''} ${req.url ?? ''} ${req.headers.range ?? ''}`.trim())
  if (req.url !== urlPath || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(req.url !== urlPath ? 404 : 405).end()
    return
  }
  const common = { 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' }
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
  if (m === null) {
    res.writeHead(200, { ...common, 'Content-Length': body.length })
    res.end(req.method === 'HEAD' ? undefined : body)
    return
  }
  const start = Number(m[1])
  const end = Math.min(m[2] === '' || m[2] === undefined ? body.length - 1 : Number(m[2]), body.length - 1)
  if (start > end) {
    res.writeHead(416, { ...common, 'Content-Range': `bytes */${body.length}` }).end()
    return
  }
  res.writeHead(206, { ...common, 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${body.length}` })
  res.end(req.method === 'HEAD' ? undefined : body.subarray(start, end + 1))
}
