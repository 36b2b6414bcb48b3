// telepathine's simulation/example_events.js ("Distributed Event Bus"), changed only in the
// import line. Lines the scraped README lost are reconstructed and marked.
import { Telepathine as T } from '@hearsay/compat/telepathine';

var port = +process.env.START_PORT || 9000; // (the test picks free ports; the README's were 9000 and 9001)
var a = new T(port, []).start();
var b = new T(port + 1, [":" + port]).start();

a.on('start', function () {

    a.hearOnce('eventname', function (data, fromPeer) {
        console.log('a received eventname=', data, 'from', fromPeer);
    }); // (reconstructed)

    a.hear('*', function (data, fromPeer) {
        console.log('a received ', this.event, '=', data, 'from', fromPeer);
    }); // (reconstructed)

}); // (reconstructed)

b.on('start', function () {

    b.hearOnce('reply', function (data, fromPeer) {
        console.log('b received reply=', data, ' from ', fromPeer);
    }); // (reconstructed)

    b.say('eventname', 'eventdata');

}); // (reconstructed)

// (added) bounded run for the test: on SIGINT both peers stop and the process ends by itself
process.once('SIGINT', function () { a.stop(); b.stop(); });
