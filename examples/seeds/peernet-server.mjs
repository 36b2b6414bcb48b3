// peernet's README, its first program: a peernet instance on a LevelDB database, attached to
// the application's own HTTP server through websocket-stream and `pn.createStream()`. The
// README's lines are kept as they are (the scrape lost some; their obvious intent is
// restored), except:
// - the import lines (`require(…)` → `import`). `level` ≥ 8 exports a class where the
//   README's `level` (≤ 7) was a factory, so the import line defines that factory;
//   `require('peernet/transport')` becomes `transport` from @hearsay/compat/peernet;
// - test glue, marked below: the README's `pn.on('request')` answer, the database in the
//   working directory the test gives, and an end when stdin closes.
import { Level } from 'level'; var level = (location) => new Level(location)
import peernet, { transport as peernetTransport } from '@hearsay/compat/peernet'
import http from 'node:http'
import wsock from 'websocket-stream'
import minimist from 'minimist'

var argv = minimist(process.argv.slice(2))
var db = level('./peer.db');

var pn = peernet(db, {
    transport: peernetTransport,
    debug: true
});

var server = http.createServer(function (req, res) { res.end('...\n') });
server.listen(argv.port, function () {
    console.log('listening on ' + server.address().port);
});

wsock.createServer({ server: server }, function (stream) {
    stream.pipe(pn.createStream()).pipe(stream);
});

// test glue: answer every announcement (README: "Use req.reply(msg) to send a reply")
pn.on('request', function (req) {
    console.log('request ' + req.type + ': ' + req.data.toString() + ' (' + req.hops + ' hops)');
    req.reply('hello from ' + server.address().port);
});
process.stdin.on('end', function () { pn.close(function () { server.close(); console.log('closed'); }); }); // test glue
process.stdin.resume(); // test glue
