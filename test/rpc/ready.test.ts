import t from 'tap'
import { createFakeBackend } from './helpers/fake-backend.ts'
import { startHarness } from './helpers/setup.ts'
import type { Readiness } from '../../src/node-api.ts'

t.test('GET /ready answers 200 when the backend is ready and 503 with reasons when not', async (t) => {
  const backend = createFakeBackend()
  let verdict: Readiness = { ready: true, reasons: [], details: { peers: 3, min_peers: 2 } }
  backend.readiness = () => verdict
  const h = await startHarness({ backend })
  t.teardown(h.close)

  const ok = await h.server.handle({ method: 'GET', url: '/ready' })
  t.equal(ok.status, 200)
  t.same(JSON.parse(String(ok.body)), { ready: true, reasons: [], peers: 3, min_peers: 2 })

  verdict = { ready: false, reasons: ['catching up (block sync)', '1 peers, need 2'], details: { peers: 1, min_peers: 2 } }
  const notReady = await h.server.handle({ method: 'GET', url: '/ready' })
  t.equal(notReady.status, 503)
  t.same(JSON.parse(String(notReady.body)).reasons, ['catching up (block sync)', '1 peers, need 2'])
})

t.test('GET /ready without a readiness source is 200 (the node has no opinion)', async (t) => {
  const h = await startHarness({ backend: createFakeBackend() })
  t.teardown(h.close)
  const res = await h.server.handle({ method: 'GET', url: '/ready' })
  t.equal(res.status, 200)
})
