/**
 * The account the mocks pretend to be: its id, region, zones and default subnets, and the outputs
 * of the stacks a StackReference may read. Ids are derived from a hash of what names them, so a
 * rendering is the same every time.
 */
import { createHash } from "node:crypto";

/** `length` hex digits derived from `seed`. */
export function hex(seed: string, length: number): string {
  return createHash("sha256").update(seed).digest("hex").slice(0, length);
}

export class MockWorld {
  /** The region's zones, a to f. */
  readonly zones: readonly string[];

  constructor(
    readonly account: string,
    readonly region: string,
    readonly stackReferences: Readonly<Record<string, Record<string, unknown>>>,
  ) {
    this.zones = ["a", "b", "c", "d", "e", "f"].map((z) => `${region}${z}`);
  }

  /** The default VPC's default subnet in `zone`. */
  subnetIdFor(zone: string): string {
    return `subnet-${hex(`${this.account}/${zone}`, 17)}`;
  }

  /** The zone of a default subnet; the first zone for any other subnet. */
  zoneOfSubnet(subnetId: string): string {
    return this.zones.find((z) => this.subnetIdFor(z) === subnetId) ?? this.zones[0];
  }
}
