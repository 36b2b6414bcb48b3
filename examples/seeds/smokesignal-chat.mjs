// smokesignal's chat app ("Check out the complete chat app example!", example/ChatApp), rebuilt
// small in its style: everything typed goes to everyone, everything anyone types shows here.
// Changed only in the import line; the test passes free ports (PORT, SEED_PORT) instead of argv.
import smoke from '@hearsay/compat/smokesignal'

var node = smoke.createNode({
  port: +process.env.PORT || parseInt(process.argv[2]) || 14
, address: smoke.localIp('')
, seeds: [{port: +process.env.SEED_PORT || 14, address: ''}]
})

console.log('Port', node.options.port)
console.log('IP', node.options.address)
console.log('ID', node.id)

console.log('Connecting...');

node.on('connect', function() {
  console.log('Connected. Happy chatting!\n');
})

node.on('disconnect', function() {
  console.log('Disconnected. Sorry.');
})

// Send message, receive messages
process.stdin.pipe(node.broadcast).pipe(process.stdout)

node.on('error', function(e) {throw e})
node.start()

// quit with ^C
process.once('SIGINT', function () { node.stop() })
