// smokesignal's peer list and self-healing, as its README describes them: "listen on peer list
// events to get notified when your node added or removed a peer … a connect event when the node
// adds the first peer, and a disconnect event when the last peer disconnects. If you have
// specified some seeds, your node will automatically rejoin the network in this case."
// Also each peer's own duplex stream (`peer.socket`). The test passes free ports.
import smoke from '@hearsay/compat/smokesignal'

var node = smoke.createNode({
  port: +process.env.PORT || 8495
, address: smoke.localIp('')
, seeds: process.env.SEED_PORT ? [{port: +process.env.SEED_PORT, address: ''}] : []
})
var name = process.env.NAME || 'node'

node.peers.on('add', function(peer) {
  console.log(name + ' added a peer (' + node.peers.list.length + ' in the list, inList ' + node.peers.inList(peer) + ')')
  peer.socket.write('hello from ' + name + '\n')
  peer.socket.on('data', function(d) { console.log(name + ' read from its peer: ' + String(d).trim()) })
  peer.on('close', function() { console.log(name + ': all ties to a peer cut') })
})
node.peers.on('remove', function(peer) {
  console.log(name + ' removed a peer (inList ' + node.peers.inList(peer) + ')')
})
node.on('connect', function() { console.log(name + ': connect') })
node.on('disconnect', function() { console.log(name + ': disconnect') })

node.start()

process.once('SIGINT', function () { node.stop() })
