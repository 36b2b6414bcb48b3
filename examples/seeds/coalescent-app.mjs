// coalescent's README, "Getting Started" with its Router snippet, as one program. The README's
// lines are kept as they are (the scrape lost some; their obvious intent is restored), except:
// - the import line (`require('coalescent')` → `import`);
// - test glue, marked below: seeds and port from the command line (the test listens on port 0
//   on 127.0.0.1 instead of 1337, and prints the real port), a greeting to every peer that
//   connects, and an end when stdin closes (the test's way to stop it).
import coalescent from '@hearsay/compat/coalescent'
import minimist from 'minimist' // test glue

var argv = minimist(process.argv.slice(2)) // test glue
var app = coalescent({ seeds: argv._.map(String) }) // test glue: the seeds (README: `coalescent()`)

// transform streams as middleware
app.use(coalescent.tattletale()); // relay received messages to other peers
app.use(coalescent.courier()); // parse incoming messages
app.use(coalescent.router()); // route parsed messages to handlers

// handle errors
app.on('error', function(err, socket) {
  console.log(err);
});

// test glue: port 0 on 127.0.0.1 (README: 1337), and the real port printed
app.listen(argv.port ?? 1337, '127.0.0.1', function() {
  console.log('node accepting connections on port ' + app.address().port);
});

// when we get a `ping` message, send 'pong'
app.route('ping', function(socket, message) {
  // you can write() to the socket or use the send()
  // method provided by the courier middleware
  socket.send('pong', { time: Date.now() });
});

// test glue: events the README documents, and the courier's broadcast to greet each new peer
app.on('peerConnected', function(socket) {
  console.log('peerConnected', socket.address().address);
  // using the courier middleware, we can use broadcast()
  app.broadcast('beep', { sound: 'boop' });
});
app.on('peerDisconnected', function(socket) {
  console.log('peerDisconnected', socket.address().address);
});
process.stdin.on('end', function() { app.close(function() { console.log('closed'); }); }); // test glue
process.stdin.resume(); // test glue
