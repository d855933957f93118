/**
 * The AWS APIs the twin and the tests call themselves (deploying, setting accounts up, reading
 * commands, draining queues), straight to moto over HTTP: a CLI start costs most of a second of CPU,
 * and they make hundreds of these calls.
 * moto does not check signatures; it tells the caller's account from the access key, so every
 * call carries the credentials of the account (or session) it acts as. The worker's own calls
 * go through the real `aws` CLI, as on the instance.
 */

import type { Credentials } from "./moto";

/** The JSON-protocol services called: X-Amz-Target prefix, content type, signing name. */
const JSON_SERVICES = {
  ecr: { prefix: "AmazonEC2ContainerRegistry_V20150921", type: "application/x-amz-json-1.1" },
  events: { prefix: "AWSEvents", type: "application/x-amz-json-1.1" },
  sqs: { prefix: "AmazonSQS", type: "application/x-amz-json-1.0" },
  ssm: { prefix: "AmazonSSM", type: "application/x-amz-json-1.1" },
  logs: { prefix: "Logs_20140328", type: "application/x-amz-json-1.1" },
} as const;

/** The query-protocol services (IAM, STS, EC2): API version. */
const QUERY_SERVICES = { ec2: "2016-11-15", iam: "2010-05-08", sts: "2011-06-15" } as const;

export class MotoApi {
  constructor(
    readonly endpoint: string,
    readonly credentials: Credentials,
    private readonly region = "us-east-1",
  ) {}

  private headers(service: string): Record<string, string> {
    const headers: Record<string, string> = {
      Authorization: `AWS4-HMAC-SHA256 Credential=${this.credentials.accessKeyId}/20250101/${this.region}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    };
    if (this.credentials.sessionToken) headers["X-Amz-Security-Token"] = this.credentials.sessionToken;
    return headers;
  }

  /** A JSON-protocol call, e.g. json("ecr", "CreateRepository", {...}); throws with moto's answer on an error. */
  async json(service: keyof typeof JSON_SERVICES, action: string, body: unknown): Promise<any> {
    const { prefix, type } = JSON_SERVICES[service];
    const response = await fetch(this.endpoint, {
      method: "POST",
      headers: { ...this.headers(service), "Content-Type": type, "X-Amz-Target": `${prefix}.${action}` },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${service} ${action} failed: HTTP ${response.status} ${text}`);
    return text.trim() === "" ? {} : JSON.parse(text);
  }

  /** A query-protocol call (IAM, STS); returns the XML answer. */
  async query(
    service: keyof typeof QUERY_SERVICES,
    action: string,
    params: Record<string, string>,
  ): Promise<string> {
    const response = await fetch(this.endpoint, {
      method: "POST",
      headers: { ...this.headers(service), "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ Action: action, Version: QUERY_SERVICES[service], ...params }).toString(),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${service} ${action} failed: HTTP ${response.status} ${text}`);
    return text;
  }

  /** STS AssumeRole: the session's credentials. moto checks no trust policy; the twin's IAM check does. */
  async assumeRole(roleArn: string, sessionName: string): Promise<Credentials> {
    const xml = await this.query("sts", "AssumeRole", { RoleArn: roleArn, RoleSessionName: sessionName });
    const field = (name: string) => {
      const value = new RegExp(`<${name}>([^<]+)</${name}>`).exec(xml)?.[1];
      if (value === undefined) throw new Error(`AssumeRole ${roleArn}: no ${name} in moto's answer`);
      return value;
    };
    return {
      accessKeyId: field("AccessKeyId"),
      secretAccessKey: field("SecretAccessKey"),
      sessionToken: field("SessionToken"),
    };
  }

  /** The same API acting as `credentials`. */
  as(credentials: Credentials): MotoApi {
    return new MotoApi(this.endpoint, credentials, this.region);
  }
}
