/**
 * Strict Pulumi mocks that return what AWS would, in the stack's account and region: the
 * tables in mock-resources.ts and mock-invokes.ts say what, this class records every resource
 * and invoke. An unknown resource type or invoke throws, naming the table to teach.
 */
import * as pulumi from "@pulumi/pulumi";
import { INVOKE_MOCKS } from "./mock-invokes";
import { RESOURCE_MOCKS } from "./mock-resources";
import { MockWorld, hex } from "./mock-world";

export class StackMocks implements pulumi.runtime.Mocks {
  readonly resources: {
    type: string;
    name: string;
    id: string;
    inputs: Record<string, unknown>;
    state: Record<string, unknown>;
  }[] = [];
  readonly invokes: { token: string; inputs: Record<string, unknown> }[] = [];
  private readonly world: MockWorld;

  constructor(
    readonly accountId: string,
    readonly region: string,
    readonly stackReferences: Record<string, Record<string, unknown>>,
  ) {
    this.world = new MockWorld(accountId, region, stackReferences);
  }

  newResource(args: pulumi.runtime.MockResourceArgs): {
    id: string | undefined;
    state: Record<string, unknown>;
  } {
    const { type, name } = args;
    const inputs = args.inputs as Record<string, unknown>;
    const mock = RESOURCE_MOCKS[type];
    if (mock === undefined) {
      throw new Error(
        `synth mocks: unknown resource type ${type} (resource ${name}); teach local/render/mock-resources.ts what AWS returns for it`,
      );
    }
    const seed = `${this.accountId}/${this.region}/${type}/${name}`;
    const named = typeof inputs.name === "string" ? inputs.name : `${name}-${hex(seed, 7)}`;
    const { id, computed } = mock({ type, name, id: args.id, inputs, seed, named, world: this.world });
    const state = { ...inputs, ...computed };
    this.resources.push({ type, name, id, inputs, state });
    return { id: id === "" ? undefined : id, state };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    const inputs = args.inputs as Record<string, unknown>;
    this.invokes.push({ token: args.token, inputs });
    const mock = INVOKE_MOCKS[args.token];
    if (mock === undefined) {
      throw new Error(
        `synth mocks: unknown invoke ${args.token}; teach local/render/mock-invokes.ts what AWS returns for it`,
      );
    }
    return mock(inputs, this.world);
  }
}
