/**
 * `smoke.localIp(subnet)`: this machine's IPv4 address inside `subnet`, as smokesignal found it
 * (it used the `netmask` package; this is the same test without a dependency).
 */
import os from 'node:os'

function ipv4ToInt (ip: string): number | undefined {
  const parts = ip.split('.')
  if (parts.length !== 4) return undefined
  let n = 0
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined
    n = n * 256 + Number(p)
  }
  return n
}

/** `a.b.c.d/255.255.255.0`, `a.b.c.d/24` or `a.b.c.d` (one address) → base and mask. */
function parseSubnet (subnet: string): { base: number, mask: number } | undefined {
  const [ip = '', maskText] = subnet.split('/')
  const base = ipv4ToInt(ip)
  if (base === undefined) return undefined
  let mask: number | undefined
  if (maskText === undefined) mask = 0xffffffff
  else if (/^\d{1,2}$/.test(maskText) && Number(maskText) <= 32) mask = Number(maskText) === 0 ? 0 : (0xffffffff << (32 - Number(maskText))) >>> 0
  else mask = ipv4ToInt(maskText)
  if (mask === undefined) return undefined
  return { base: (base & mask) >>> 0, mask }
}

/**
 * Returns the first IPv4 address of a local interface inside `subnet`. An empty subnet (the
 * scraped README's `localIp('')`) matches any address, non-internal ones first, so a machine
 * with only a loopback interface gets 127.0.0.1. Throws like smokesignal when nothing matches;
 * `TypeError` for a subnet that is not a string or not an IPv4 subnet.
 */
export function localIp (subnet: string): string {
  if (typeof subnet !== 'string') throw new TypeError('smoke.localIp(subnet): subnet must be a string such as "192.168.2.1/255.255.255.0"')
  const addresses = Object.values(os.networkInterfaces()).flatMap(list => list ?? []).filter(a => a.family === 'IPv4')
  if (subnet === '') {
    const found = addresses.find(a => !a.internal) ?? addresses[0]
    if (found !== undefined) return found.address
    throw new Error('Couldn\'t determine IP address')
  }
  const block = parseSubnet(subnet)
  if (block === undefined) throw new TypeError(`smoke.localIp: "${subnet}" is not an IPv4 subnet (a.b.c.d/mask or a.b.c.d/bits)`)
  for (const a of addresses) {
    const n = ipv4ToInt(a.address)
    if (n !== undefined && ((n & block.mask) >>> 0) === block.base) return a.address
  }
  throw new Error('Couldn\'t determine IP address')
}
