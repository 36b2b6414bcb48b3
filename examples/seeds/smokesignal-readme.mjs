// smokesignal's README program ("npm install smokesignal" … "mah, i'd rather stop it"), changed
// only in the import line. Lines the scraped README lost are reconstructed and marked.
import smoke from '@hearsay/compat/smokesignal'

var node = smoke.createNode({
  port: +process.env.PORT || 8495 // the test picks free ports (PORT, SEED_PORT); the README's were 8495 and 13
, address: smoke.localIp('') // Tell it your subnet and it'll figure out the right IP for you
, seeds: [{port: +process.env.SEED_PORT || 13, address:''}] // the address of a seed (a known node)
}) // (reconstructed)

// listen on network events...

node.on('connect', function() {
  // Hey, now we have at least one peer!

  // ...and broadcast stuff -- this is an ordinary duplex stream!
  node.broadcast.write('HEYO! I\'m here')
}) // (reconstructed)

node.on('disconnect', function() {
  // Bah, all peers gone.
}) // (reconstructed)

// Broadcast is a stream
process.stdin.pipe(node.broadcast).pipe(process.stdout) // (reconstructed)

// Start the darn thing
node.start() // (reconstructed)

// mah, i'd rather stop it
process.once('SIGINT', function () { node.stop() }) // (reconstructed: the README stopped at once; here on SIGINT, so the test sees a bounded run end by itself)
