/**
 * What the copier's tests share: a reconcile's summary line to expect or to feed telemetry, and a
 * scripted HTTP server standing in for a registry, with a RegistryClient of the copier pointed at it.
 */
import * as http from "node:http";
import { AddressInfo } from "node:net";
import type { ReconcileLine } from "../../common/result-lines";
import { RegistryClient, RegistryCredentials } from "../../ec2-scripts/copier/registry";

/** A reconcile's summary line: every count 0 and duration_s 0, but those `given`. */
export function reconcileSummary(given: Partial<ReconcileLine> = {}): ReconcileLine {
  return {
    result: "reconcile",
    copied: 0,
    unchanged: 0,
    superseded: 0,
    failed: 0,
    unsupported: 0,
    planned: 0,
    referrers_copied: 0,
    referrers_unsupported: 0,
    referrers_failed: 0,
    duration_s: 0,
    ...given,
  };
}

/** A password that never changes and is never renewed (Basic AWS:secret). */
export const FIXED_CREDENTIALS: RegistryCredentials = {
  token: async () => "QVdTOnNlY3JldA==",
  renew: async () => false,
};

export interface ScriptedRegistry {
  readonly host: string;
  /** A new source-side client of the copier (plain HTTP, a fixed password, a clock at 1). */
  client(): RegistryClient;
  stop(): Promise<void>;
}

/** A plain-HTTP server on a free loopback port answering every request with `handle`. */
export async function startScriptedRegistry(handle: http.RequestListener): Promise<ScriptedRegistry> {
  const server = http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    client: () => new RegistryClient("source", host, false, FIXED_CREDENTIALS, () => 1),
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
