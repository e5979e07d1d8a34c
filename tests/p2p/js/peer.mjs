// A js-libp2p peer for the interop test. Prints JSON lines on stdout:
//   {"ready": {"peerId", "addrs"}}, {"message": {"from", "data"}} (data hex), {"published": n}
// and reads JSON lines on stdin: {"dial": multiaddr} or {"publish": hex}.
if (typeof Promise.withResolvers !== 'function') {
  // Node 20 lacks it; libp2p 3 uses it
  Promise.withResolvers = function () {
    let resolve, reject
    const promise = new Promise((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

const { createLibp2p } = await import('libp2p')
const { tcp } = await import('@libp2p/tcp')
const { noise } = await import('@chainsafe/libp2p-noise')
const { yamux } = await import('@chainsafe/libp2p-yamux')
const { identify } = await import('@libp2p/identify')
const { gossipsub } = await import('@libp2p/gossipsub')
const { multiaddr } = await import('@multiformats/multiaddr')
const readline = await import('node:readline')

const TOPIC = 'shardy/verified/2'  // orchestrator-signed records (shardy/p2p/signed.py)
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: {
    identify: identify(),
    pubsub: gossipsub({ globalSignaturePolicy: 'StrictSign', emitSelf: false, heartbeatInterval: 1000 })
  }
})
node.services.pubsub.subscribe(TOPIC)
node.services.pubsub.addEventListener('message', (evt) => {
  const msg = evt.detail
  if (msg.topic !== TOPIC) return
  out({ message: { from: msg.from?.toString(), data: Buffer.from(msg.data).toString('hex') } })
})
out({ ready: { peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) } })

let published = 0
const rl = readline.createInterface({ input: process.stdin })
for await (const line of rl) {
  if (!line.trim()) continue
  const cmd = JSON.parse(line)
  try {
    if (cmd.dial) {
      await node.dial(multiaddr(cmd.dial))
      out({ dialed: cmd.dial })
    } else if (cmd.publish) {
      // wait (bounded) for a topic peer so the message is not published to nobody
      for (let i = 0; i < 200 && node.services.pubsub.getSubscribers(TOPIC).length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      await node.services.pubsub.publish(TOPIC, Buffer.from(cmd.publish, 'hex'))
      out({ published: ++published })
    }
  } catch (err) {
    out({ error: String(err) })
  }
}
await node.stop()
