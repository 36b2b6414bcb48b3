#!/usr/bin/env node
// Runs a command inside a fresh network namespace, so that WebRTC tests never touch the
// machine's real interfaces:
//
//   node scripts/netns.mjs <command> [args...]
//
// WebRTC needs a non-loopback interface to gather a host candidate, so the namespace gets `lo`
// up, an interface `hs0` with 10.77.0.1/24 (a dummy device, or a veth pair where the kernel has
// no dummy driver) and a default route through it. Nothing in it reaches the outside.
//
// `unshare -n` needs root (CAP_SYS_ADMIN); otherwise `unshare -rn` maps the user to root in a new
// user namespace. Inside, HEARSAY_NETNS=1 is set: scripts/test.mjs and the WebRTC tests check it.
// Exits with the command's status; if no namespace can be made it says why and exits 2.
import { spawnSync } from 'node:child_process'

export const NETNS_ADDRESS = '10.77.0.1'

const SETUP = [
  'set -e',
  'ip link set lo up',
  // a dummy interface where the kernel has the driver, else a veth pair (both ends stay inside)
  'if ! ip link add hs0 type dummy 2>/dev/null; then ip link add hs0 type veth peer name hs1; ip link set hs1 up; fi',
  `ip addr add ${NETNS_ADDRESS}/24 dev hs0`,
  'ip link set hs0 up',
  'ip route add default dev hs0',
  'export HEARSAY_NETNS=1',
  'exec "$@"'
].join('\n')

/** The argv that runs `argv` inside a new namespace: `unshare -n` as root, `unshare -rn` otherwise. */
export function netnsCommand (argv) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0
  return ['unshare', root ? '-n' : '-rn', '--', 'sh', '-c', SETUP, 'netns', ...argv]
}

/** Whether a namespace can be made here (tried once, with `true`). */
export function netnsAvailable () {
  const [cmd, ...args] = netnsCommand(['true'])
  const r = spawnSync(cmd, args, { stdio: 'ignore' })
  return r.status === 0
}

/** Runs `argv` in a namespace, with inherited stdio; returns the exit status. */
export function runInNetns (argv, options = {}) {
  const [cmd, ...args] = netnsCommand(argv)
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...options })
  if (r.error) { console.error(`netns: could not run unshare: ${r.error.message}`); return 2 }
  return r.status ?? 1
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2)
  if (argv.length === 0) {
    console.error('usage: node scripts/netns.mjs <command> [args...]')
    process.exit(2)
  }
  if (process.env.HEARSAY_NETNS === '1') {
    // already inside: run the command as is
    const r = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit' })
    process.exit(r.status ?? 1)
  }
  if (!netnsAvailable()) {
    console.error('netns: cannot create a network namespace here (unshare -n / -rn failed); WebRTC tests need one')
    process.exit(2)
  }
  process.exit(runInNetns(argv))
}
