/**
 * Child process for the "stop() leaves no handles" test: three transports connect, exchange
 * a message on every channel, stop, and then this script just ends. If anything (a timer, a
 * socket, a listener) were left behind, the process would not exit and the parent test
 * would time out. Prints one JSON line with what it saw.
 */
import { CHANNELS } from '../../src/transport.ts'
import { idOf, payload, startNode, waitFor } from './helpers.ts'

const b = await startNode('exit-b', { allowedPeers: [idOf('exit-a'), idOf('exit-c')] })
const a = await startNode('exit-a', { persistentPeers: [b.addr], allowedPeers: [idOf('exit-c')] })
const c = await startNode('exit-c', { persistentPeers: [a.addr, b.addr] })
const all = [a, b, c]
await waitFor(() => all.every((n) => n.t.peers().length === 2), 'mesh')
for (const n of all) for (const ch of CHANNELS) n.t.broadcast(ch, payload(ch, 0))
await waitFor(() => all.every((n) => n.rec.messages.length === 2 * CHANNELS.length), 'delivered')
// Leave some queued and some in flight at stop time.
for (let i = 0; i < 1000; i++) a.t.broadcast('mempool', payload('late', i, 1000))
for (const n of all) await n.t.stop()
process.stdout.write(JSON.stringify({ received: all.map((n) => n.rec.messages.length), peers: all.map((n) => n.t.peers().length) }) + '\n')
