// A network namespace joined to the host by a veth pair, for backends whose addresses must be
// real (the API server refuses loopback addresses in EndpointSlices). Needs root and
// iproute2's `ip`.
//
// Addresses come only from the test range 10.213.0.0/24, cut into 8 slots of /27 so that
// concurrent runs on one machine never share a subnet: slot k is 10.213.0.(32k)/27 with the
// host end at .32k+1, the namespace end at .32k+2 and 28 replica addresses .32k+3 … .32k+30
// on the namespace end. A slot is claimed with a lock file (O_EXCL) naming its owner's pid,
// namespace and interface; a slot whose owner died is cleaned (its namespace and veth only)
// and reused. Names are unique per run: netns `ebb-<hex>`, interfaces `ebb<hex>h`/`ebb<hex>n`.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { log, run, since } from './proc.ts';

const SCRIPT = fileURLToPath(new URL('./netns.sh', import.meta.url));
const LOCK_DIR = join(tmpdir(), 'ebb-netns');

/** The only addresses a test ever creates or targets. */
export const TEST_RANGE = '10.213.0.0/24';
const RANGE_PREFIX = '10.213.0.';
const SLOT_SIZE = 32;
const SLOT_PREFIX_LENGTH = 27;
const SLOTS = 256 / SLOT_SIZE;
/** .32k+3 … .32k+30: the slot minus network, host end, namespace end and broadcast. */
export const MAX_REPLICA_ADDRESSES = SLOT_SIZE - 4;

/** Is `address` an IPv4 address inside 10.213.0.0/24? */
export const inTestRange = (address: string): boolean => {
  if (!address.startsWith(RANGE_PREFIX)) return false;
  const last = address.slice(RANGE_PREFIX.length);
  return /^\d{1,3}$/.test(last) && Number(last) <= 255;
};

export interface Netns {
  /** `ip netns` name. */
  readonly name: string;
  readonly hostInterface: string;
  readonly namespaceInterface: string;
  /** The host end's address (what backends see as the client). */
  readonly hostAddress: string;
  /** The namespace end's first address. */
  readonly namespaceAddress: string;
  /** `10.213.0.32/27` */
  readonly subnet: string;
  /** Addresses on the namespace end for replicas, one each, in order. */
  readonly replicaAddresses: readonly string[];
  /**
   * Takes the lowest replica address nobody holds (several test kubelets may share one
   * namespace); undefined when all are taken.
   */
  claimAddress(): string | undefined;
  /** Gives an address back once nothing listens on it any more. */
  releaseAddress(address: string): void;
  /** A spawnable command line that runs `command args…` inside the namespace. */
  exec(command: string, args: readonly string[]): { command: string; args: string[] };
  /** Deletes the veth pair and the namespace and releases the slot. Idempotent. */
  delete(): Promise<void>;
}

interface SlotLock {
  readonly pid: number;
  readonly netns: string;
  readonly hostInterface: string;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const lockPath = (slot: number): string => join(LOCK_DIR, `slot-${slot}.json`);
const isOurName = (name: string): boolean => /^ebb-?[0-9a-f]{6}[hn]?$/.test(name);

/** Removes a dead owner's namespace and veth (only names of the form this file makes). */
async function reclaim(slot: number, lock: SlotLock): Promise<void> {
  if (isOurName(lock.netns) && isOurName(lock.hostInterface)) {
    log(
      `netns: slot ${slot} owner ${lock.pid} is gone; deleting its ${lock.netns} and ${lock.hostInterface}`,
    );
    await run('bash', [SCRIPT, 'delete', lock.netns, lock.hostInterface]).catch(() => {});
  }
  await rm(lockPath(slot), { force: true });
}

/** Claims a free slot (reclaiming those of dead owners); undefined when all 8 are in use. */
async function claimSlot(lock: SlotLock): Promise<number | undefined> {
  await mkdir(LOCK_DIR, { recursive: true });
  for (let slot = 0; slot < SLOTS; slot++) {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await writeFile(lockPath(slot), JSON.stringify(lock), { flag: 'wx' });
        return slot;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const text = await readFile(lockPath(slot), 'utf8').catch(() => '');
      let owner: SlotLock | undefined;
      try {
        owner = JSON.parse(text) as SlotLock;
      } catch {
        owner = undefined; // being written right now, or garbage: leave it
      }
      if (owner === undefined || pidAlive(owner.pid)) break;
      await reclaim(slot, owner);
    }
  }
  return undefined;
}

/** Host addresses already inside [first, last] of the range (someone else's): the slot is unusable. */
async function foreignAddresses(first: number, last: number): Promise<string[]> {
  const out = await run('ip', ['-4', '-o', 'addr', 'show']);
  return [...out.matchAll(/inet (10\.213\.0\.(\d+))\//g)]
    .filter((m) => Number(m[2]) >= first && Number(m[2]) <= last)
    .map((m) => m[1] ?? '');
}

const live = new Set<Netns>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A worker that exits without teardown still removes what it made (SIGKILL: the next run does).
  process.on('exit', () => {
    for (const ns of live) {
      spawnSync('bash', [SCRIPT, 'delete', ns.name, ns.hostInterface], { stdio: 'ignore' });
    }
  });
}

/** Creates a namespace with a veth pair in a free /27 of 10.213.0.0/24. */
export async function createNetns(): Promise<Netns> {
  const start = performance.now();
  const id = randomBytes(3).toString('hex');
  const name = `ebb-${id}`;
  const hostInterface = `ebb${id}h`;
  const namespaceInterface = `ebb${id}n`;
  const slot = await claimSlot({ pid: process.pid, netns: name, hostInterface });
  if (slot === undefined) {
    throw new Error(`netns: all ${SLOTS} slots of ${TEST_RANGE} are in use by live test runs (${LOCK_DIR})`);
  }
  const base = slot * SLOT_SIZE;
  const at = (offset: number): string => `${RANGE_PREFIX}${base + offset}`;
  try {
    const foreign = await foreignAddresses(base, base + SLOT_SIZE - 1);
    if (foreign.length > 0) {
      throw new Error(
        `netns: ${foreign.join(', ')} already exist on this host inside slot ${slot}; not touching it`,
      );
    }
    const replicaAddresses = Array.from({ length: MAX_REPLICA_ADDRESSES }, (_, i) => at(3 + i));
    const cidr = (address: string) => `${address}/${SLOT_PREFIX_LENGTH}`;
    await run('bash', [
      SCRIPT,
      'create',
      name,
      hostInterface,
      namespaceInterface,
      cidr(at(1)),
      cidr(at(2)),
      ...replicaAddresses.map(cidr),
    ]);
    let deleted = false;
    const claimed = new Set<string>();
    const netns: Netns = {
      name,
      hostInterface,
      namespaceInterface,
      hostAddress: at(1),
      namespaceAddress: at(2),
      subnet: `${at(0)}/${SLOT_PREFIX_LENGTH}`,
      replicaAddresses,
      claimAddress() {
        const free = replicaAddresses.find((a) => !claimed.has(a));
        if (free !== undefined) claimed.add(free);
        return free;
      },
      releaseAddress(address) {
        claimed.delete(address);
      },
      exec: (command, args) => ({ command: 'ip', args: ['netns', 'exec', name, command, ...args] }),
      async delete() {
        if (deleted) return;
        deleted = true;
        live.delete(netns);
        await run('bash', [SCRIPT, 'delete', name, hostInterface]);
        await rm(lockPath(slot), { force: true });
      },
    };
    live.add(netns);
    installExitHook();
    log(`netns ${name} (${netns.subnet}, host ${netns.hostAddress}) ready in ${since(start)}`);
    return netns;
  } catch (error) {
    await rm(lockPath(slot), { force: true });
    throw error;
  }
}

/** beforeAll: creates a namespace for this file; afterAll: deletes it. Read `.current` in tests. */
export function useNetns(): { readonly current: Netns } {
  let netns: Netns | undefined;
  beforeAll(async () => {
    netns = await createNetns();
  });
  afterAll(async () => {
    await netns?.delete();
  });
  return {
    get current(): Netns {
      if (netns === undefined)
        throw new Error('useNetns(): the namespace exists only inside tests and hooks');
      return netns;
    },
  };
}

/** The namespaces and links `ip` knows now (for teardown assertions). */
export async function netnsExists(name: string): Promise<boolean> {
  const out = await run('ip', ['netns', 'list']);
  return out.split('\n').some((line) => line.split(' ')[0] === name);
}

export async function linkExists(name: string): Promise<boolean> {
  return run('ip', ['link', 'show', 'dev', name]).then(
    () => true,
    () => false,
  );
}
