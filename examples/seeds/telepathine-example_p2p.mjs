// telepathine's simulation/example_p2p.js ("Distributed Shared Memory"), changed only in the
// import line. Lines the scraped README lost are reconstructed and marked.

//For debug log, run: DEBUG=* node examples/p2p.js

import { Telepathine as T } from '@hearsay/compat/telepathine';

var startPort = +process.env.START_PORT || 9000; // the test picks free ports; the README's were 9000..9005
var numSeeds = 4;

var seed = new T( startPort++,
                  [ /* no seeds */ ], 
                  { /* default configuration */ } 
                ).start(); // (reconstructed)

// Create peers and point them at the seed 
// Usually this would happen in separate processes.
// To prevent a network's single point of failure, design with multiple seeds.
var peers = [seed]; // (added: the bounded run below stops them)
for (var i = 0; i < numSeeds; i++) {

    var g = new T(i + startPort + 1, 
                  ['' + (startPort + i + 2)]).start();
    peers.push(g); // (added)

    //event emitted when a remote peer sets a key to a value
    g.on('set', function (peer, k, v) {
        console.log(this.peer_name + " knows via on('set'.. that peer " + peer + " set " + k + "=" + v);
    }); // (reconstructed)

    //convenience method for key/value change events
    g.know('somekey', function (peer, k, v) {
        console.log(this.peer_name + " knows via know('somekey'.. that peer " + peer + " set somekey=" + v);
    }); // (reconstructed)

    //convenience method for key change events, using wildcard
    g.know('*', function (peer,k, v) {
        console.log(this.peer_name + " knows via know('*'.. that peer " + peer + " set " + this.event + "," + k + "=" + v);
    }); // (reconstructed)

    // (added: the README's promise that the temporary key expires in the gossip net)
    g.on('key:expired', function (peer, k, v) {
        console.log(this.peer_name + " knows via on('key:expired'.. that peer " + peer + "'s " + k + "=" + v + " expired");
    });
}

// Another peer which updates state after a delay
var writer = new T(startPort, 
      ['' + (startPort + 1)] )
        .after(1000, function () {

            // indefinite memory
            this.set('somekey', 'somevalue');

            // temporary memory: 10 seconds from now this key will start to expire in the gossip net
            this.set('somekey2', 'somevalue', Date.now() + 10000);

        }).start(); // (reconstructed)
peers.push(writer); // (added)

// (added) bounded run for the test: on SIGINT every peer stops and the process ends by itself
process.once('SIGINT', function () { peers.forEach(function (p) { p.stop(); }); });
