// coalescent's README: the app as a duplex stream and a middleware transform ("replace beep
// with boop", written with `through`, as the README does). The README's lines are kept as they
// are (the scrape lost some; their obvious intent is restored), except:
// - the import lines (`require('coalescent')`, `require('through')` → `import`);
// - test glue, marked below: seeds and port from the command line (port 0 on 127.0.0.1 instead
//   of a fixed port, the real port printed) and an end when stdin closes.
import coalescent from '@hearsay/compat/coalescent'
import through from 'through'
import minimist from 'minimist' // test glue

var argv = minimist(process.argv.slice(2)) // test glue
var app = coalescent({ seeds: argv._.map(String) }) // test glue: the seeds (README: `coalescent()`)

// replace "beep" with "boop"
app.use(function(socket) {
  return through(function(data) {
    var transformed = data.split('beep').join('boop');
    // pass on to next middleware
    this.queue(transformed);
    // access the connected socket, too!
    console.log('Received message from', socket.address());
  });
});

// print incoming messages to console
app.pipe(process.stdout);

// broadcast message to peers
app.write('beep boop\n');

// test glue: port 0 on 127.0.0.1, and the real port printed
app.listen(argv.port ?? 1337, '127.0.0.1', function() {
  console.log('node accepting connections on port ' + app.address().port);
});
process.stdin.on('end', function() { app.close(function() { console.log('closed'); }); }); // test glue
process.stdin.resume(); // test glue
