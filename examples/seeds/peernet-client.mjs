// peernet's README: bootstrap a fresh database with `pn.save([...])`, after which "peernet
// will attempt to connect to peers automatically from its database"; then `pn.announce(msg)`
// with replies streaming back, `pn.getStats(addr, cb)` and `pn.known()`. The node is set up as
// in the README's first program. Changed from the README: the import lines (see
// peernet-server.mjs), and test glue, marked below: the addresses to save come from the
// command line, and the program announces once it is connected, prints what it got and ends.
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

// test glue: once connected (automatically, from the database), announce and print the replies
var wait = setInterval(function () {
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
                pn.close(function () { server.close(); console.log('closed'); });
            });
        });
    });
}, 50);
