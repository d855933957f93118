/**
 * What AWS returns for each data-source call (invoke) the program makes, in the stack's account
 * and region. An invoke missing here makes the render fail (StackMocks, local/render/mocks.ts):
 * teach this table what AWS returns for it.
 */
import { MockWorld, hex } from "./mock-world";

type InvokeMock = (inputs: Record<string, unknown>, world: MockWorld) => Record<string, unknown>;

/** The values of the `filters` entry called `name`, if there is one. */
function filter(inputs: Record<string, unknown>, name: string): string[] | undefined {
  return (inputs.filters as { name: string; values: string[] }[] | undefined)?.find((f) => f.name === name)
    ?.values;
}

export const INVOKE_MOCKS: Readonly<Record<string, InvokeMock>> = {
  "aws:ssm/getParameter:getParameter": (inputs, { region }) => {
    const name = String(inputs.name);
    if (!name.startsWith("/aws/service/"))
      throw new Error(`synth mocks: only public /aws/service/ parameters exist here, not ${name}`);
    return {
      ...inputs,
      id: name,
      arn: `arn:aws:ssm:${region}::parameter${name}`,
      type: "String",
      value: `ami-${hex(`${region}${name}`, 17)}`,
      insecureValue: `ami-${hex(`${region}${name}`, 17)}`,
      version: 1,
      withDecryption: true,
    };
  },

  "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": (inputs, world) => {
    const types = filter(inputs, "instance-type") ?? [];
    // As in us-east-1, one zone (e) offers no current-generation types.
    const zones = world.zones.filter((z) => !z.endsWith("e"));
    const pairs = types.flatMap((t) => zones.map((z) => [t, z] as const));
    return {
      ...inputs,
      id: world.region,
      instanceTypes: pairs.map(([t]) => t),
      locations: pairs.map(([, z]) => z),
      locationTypes: pairs.map(() => "availability-zone"),
    };
  },

  "aws:ec2/getSubnets:getSubnets": (inputs, world) => {
    const zones = filter(inputs, "availability-zone") ?? world.zones;
    const defaultForAz = filter(inputs, "default-for-az");
    if (defaultForAz !== undefined && !defaultForAz.includes("true"))
      return { ...inputs, id: world.region, ids: [] };
    return {
      ...inputs,
      id: world.region,
      ids: world.zones.filter((z) => zones.includes(z)).map((z) => world.subnetIdFor(z)),
    };
  },

  "aws:ec2/getSubnet:getSubnet": (inputs, world) => {
    const id = String(inputs.id);
    const { account, region } = world;
    return {
      ...inputs,
      id,
      arn: `arn:aws:ec2:${region}:${account}:subnet/${id}`,
      vpcId: `vpc-${hex(`${account}/${region}/default-vpc`, 17)}`,
      availabilityZone: world.zoneOfSubnet(id),
      defaultForAz: world.zones.some((z) => world.subnetIdFor(z) === id),
      mapPublicIpOnLaunch: true,
      ownerId: account,
    };
  },
};
