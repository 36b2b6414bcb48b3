// @thaunknown/simple-peer ships no types; the transport only uses it through ./peer-types.ts.
declare module '@thaunknown/simple-peer/lite.js' {
  const Peer: unknown
  export default Peer
}
