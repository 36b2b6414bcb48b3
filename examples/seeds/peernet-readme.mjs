// peernet's README as one program: its first program (a peernet instance on a LevelDB database,
// attached to the application's own HTTP server through websocket-stream and
// `pn.createStream()`), then its bootstrap step (`pn.save([...])`, after which "peernet will
// attempt to connect to peers automatically from its database") and `pn.on('request')`. The
// README's lines are kept as they are (the scrape lost some; their obvious intent is restored),
// except:
// - the import lines (`require(…)` → `import`). `level` ≥ 8 exports a class where the
//   README's `level` (≤ 7) was a factory, so the import line defines that factory;
//   `require('peernet/transport')` becomes `transport` from @hearsay/compat/peernet;
// - test glue, marked below: the addresses to save come from the command line (none: the
//   program only serves); with addresses, once connected it announces, prints the reply,
//   `getStats()` and `known()`, and ends; without, it ends when stdin closes. The database is
//   `./peer.db` in the working directory the test gives.
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

// "You'll also need to bootstrap the network the first time you initialize the database"
var nodes = argv._.map(String); // test glue: the README lists ws:// addresses here
pn.save(nodes);

// "Use req.reply(msg) to send a reply"
pn.on('request', function (req) {
    console.log('request ' + req.type + ': ' + req.data.toString() + ' (' + req.hops + ' hops)'); // test glue
    req.reply('hello from ' + server.address().port);
});

// test glue: a node that saved addresses announces once it is connected and prints the replies
function done () { pn.close(function () { server.close(); console.log('closed'); }); }
if (nodes.length === 0) { process.stdin.on('end', done); process.stdin.resume(); }
else var wait = setInterval(function () {
    if (pn.connections().length === 0) return;
    clearInterval(wait);
    console.log('connected to ' + pn.connections().join(', '));
    var r = pn.announce({ type: 'hello', data: 'who is there?', limit: 3 });
    r.on('data', function (row) {
        console.log('reply: ' + row.data.toString() + ' (' + row.hops + ' hops, type ' + row.type + ')');
        r.destroy();
        pn.getStats(nodes[0], function (err, stats) {
            if (err) throw err;
            console.log('stats ' + nodes[0] + ': ' + JSON.stringify(stats));
            var known = [];
            pn.known().on('data', function (row) { known.push(row.address) }).on('end', function () {
                console.log('known: ' + known.join(', '));
                done();
            });
        });
    });
}, 50);
