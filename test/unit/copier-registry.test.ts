import { expect } from "chai";
import * as http from "node:http";
import { EXIT } from "../../common/result-lines";
import { freePort } from "../../local/ports";
import { Failure } from "../../ec2-scripts/copier/failure";
import { nextLink, RegistryClient } from "../../ec2-scripts/copier/registry";
import { FIXED_CREDENTIALS, ScriptedRegistry, startScriptedRegistry } from "../support/copier";

/**
 * The copier's registry reads (ec2-scripts/copier/registry.ts) against a small HTTP server that
 * answers as told: classification by status or by the absence of one, the time limit, the
 * retries, the digest header, the tag list's Link header.
 */
describe("copier registry reads", function () {
  this.timeout(20000);
  let registry: ScriptedRegistry;
  let handler: (request: http.IncomingMessage, response: http.ServerResponse) => void;
  let requests: string[];
  let host: string;

  before(async () => {
    registry = await startScriptedRegistry((request, response) => {
      requests.push(`${request.method} ${request.url}`);
      handler(request, response);
    });
    host = registry.host;
  });
  beforeEach(() => {
    requests = [];
  });
  after(() => registry.stop());

  const client = () => registry.client();

  it("reads a digest from Docker-Content-Digest, and the media type, accepting every manifest type", async () => {
    const digest = `sha256:${"1".repeat(64)}`;
    let accept = "";
    handler = (request, response) => {
      accept = String(request.headers.accept);
      response
        .writeHead(200, {
          "Docker-Content-Digest": digest,
          "Content-Type": "application/vnd.OCI.image.manifest.v1+json; charset=utf-8",
        })
        .end();
    };
    expect(await client().manifestDigest("coeus", "v1", "reading coeus:v1")).to.deep.equal({
      kind: "found",
      digest,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
    });
    expect(accept).to.include("application/vnd.oci.image.index.v1+json");
    expect(accept).to.include("application/vnd.docker.distribution.manifest.v2+json");
  });

  it("reads a 200 without Docker-Content-Digest as a failure naming the registry, not as a missing tag", async () => {
    handler = (_request, response) => response.writeHead(200).end();
    const read = await client().manifestDigest("coeus", "v1", "reading coeus:v1");
    expect(read.kind).to.equal("failed");
    const failure = (read as { failure: Failure }).failure;
    expect(failure.code).to.equal(EXIT.failed);
    expect(failure.message).to.include(
      `source side: registry ${host} answered HTTP 200 reading coeus:v1 without`,
    );
  });

  const statuses: Array<[number, number, number]> = [
    // [status, exit code, requests made: 1 + the retries of a retryable answer]
    [401, EXIT.auth, 1],
    [403, EXIT.auth, 1],
    [404, -1, 1],
    [400, EXIT.failed, 1],
    [408, EXIT.failed, 4],
    [429, EXIT.unavailable, 4],
    [500, EXIT.unavailable, 4],
    [503, EXIT.unavailable, 4],
  ];
  for (const [status, code, count] of statuses) {
    it(`classifies a bodiless ${status} by its status alone (${code === -1 ? "missing" : `exit ${code}`}), after ${count} request(s)`, async () => {
      handler = (_request, response) => response.writeHead(status).end();
      const read = await client().manifestDigest("coeus", "v1", "reading coeus:v1");
      expect(requests).to.have.length(count);
      if (code === -1) expect(read).to.deep.equal({ kind: "missing" });
      else expect((read as { failure: Failure }).failure.code).to.equal(code);
    });
  }

  it("ends a request that gets no answer within its time limit: unavailable (exit 7)", async () => {
    handler = () => undefined; // never answers
    const started = Date.now();
    const answer = await client().request("/v2/", {}, undefined, { retries: 0, timeoutSeconds: 1 });
    expect(Date.now() - started).to.be.within(900, 3000);
    expect(answer.status).to.equal(0);
    expect(client().failure(answer, "at GET /v2/").code).to.equal(EXIT.unavailable);
  });

  it("does not retry a refused connection, and reads it as unavailable", async () => {
    const port = await freePort();
    const closed = new RegistryClient("target", `127.0.0.1:${port}`, false, FIXED_CREDENTIALS, () => 1);
    const answer = await closed.request("/v2/");
    expect(answer).to.deep.equal({ status: 0, cause: "ECONNREFUSED" });
    expect(closed.failure(answer, "at GET /v2/").message).to.include(
      `target side: registry 127.0.0.1:${port} is unavailable`,
    );
  });

  it("does not retry an answer no registry should give (a redirect loop): exit 1 naming it, not 'unavailable'", async () => {
    handler = (_request, response) => response.writeHead(307, { Location: "/v2/" }).end();
    const answer = await client().request("/v2/");
    expect(requests, "the first request and its 5 redirects, once").to.have.length(6);
    const failure = client().failure(answer, "at GET /v2/");
    expect(failure.code).to.equal(EXIT.failed);
    expect(failure.message).to.include("more than 5 redirects, which a registry should not");
  });

  it("pages a tag list by its Link header and refuses a next page on another host", async () => {
    handler = (request, response) => {
      const url = new URL(request.url ?? "/", "http://x");
      const last = url.searchParams.get("last");
      const body = JSON.stringify({ name: "coeus", tags: last === null ? ["a", "b"] : ["c"] });
      const link = last === null ? { Link: '</v2/coeus/tags/list?last=b&n=2>; rel="next"' } : {};
      response.writeHead(200, { "Content-Type": "application/json", ...link }).end(body);
    };
    expect(await client().listTags("coeus")).to.deep.equal(["a", "b", "c"]);
    handler = (_request, response) =>
      response
        .writeHead(200, { Link: '<http://elsewhere.invalid/v2/coeus/tags/list?last=b>; rel="next"' })
        .end(JSON.stringify({ tags: ["a"] }));
    let failure: unknown;
    await client()
      .listTags("coeus")
      .catch((error: unknown) => (failure = error));
    expect((failure as Failure).code).to.equal(EXIT.failed);
    expect((failure as Failure).message).to.include(
      "elsewhere.invalid/v2/coeus/tags/list?last=b): not followed",
    );
    handler = (_request, response) =>
      response
        .writeHead(200, { Link: '</v2/coeus/tags/list?n=1000>; rel="next"' })
        .end(JSON.stringify({ tags: [] }));
    failure = undefined;
    await client()
      .listTags("coeus")
      .catch((error: unknown) => (failure = error));
    expect((failure as Failure).message).to.include("named the same page");
    // A loop of two pages, each naming the other.
    handler = (request, response) =>
      response
        .writeHead(200, {
          Link: request.url?.includes("last=a") ? '<?last=b>; rel="next"' : '<?last=a>; rel="next"',
        })
        .end(JSON.stringify({ tags: [] }));
    failure = undefined;
    await client()
      .listTags("coeus")
      .catch((error: unknown) => (failure = error));
    expect((failure as Failure).message).to.include("named the same page");
    expect(requests.filter((r) => r.includes("/tags/list")).length).to.be.below(10);
  });

  it("finds rel=next in the Link forms RFC 8288 allows", () => {
    expect(nextLink('</a?n=2>; rel="prev", </a?last=y>; rel=next')).to.equal("/a?last=y");
    expect(nextLink('<http://r/a?last=z>; title="more"; REL="next last"')).to.equal("http://r/a?last=z");
    expect(nextLink('</a?n=2>; rel="prev"')).to.equal(undefined);
    expect(nextLink(null)).to.equal(undefined);
  });
});
