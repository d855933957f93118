import { expect } from "chai";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { FaultProxy, startFaultProxy } from "../support/fault-proxy";

/**
 * test/support/fault-proxy.ts, the test tool the copier's fault tests put in front of a real registry.
 * Behind it here: a small echo server written for this test (it answers with what it received,
 * so the test can see that the proxy forwards requests unchanged).
 */
describe("fault proxy (test tool in front of a real server)", () => {
  let upstream: http.Server;
  let upstreamHost: string;
  let proxy: FaultProxy;

  before(async () => {
    upstream = http.createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => {
        response.writeHead(201, { "Content-Type": "application/json", "X-Upstream": "yes" });
        response.end(
          JSON.stringify({ method: request.method, url: request.url, host: request.headers.host, body }),
        );
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", () => resolve()));
    upstreamHost = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });

  beforeEach(async () => {
    proxy = await startFaultProxy(upstreamHost);
  });

  afterEach(async () => {
    await proxy.stop();
  });

  after(async () => {
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });

  const send = (path: string, method = "GET", body?: string) =>
    fetch(`http://${proxy.host}${path}`, { method, body, headers: { "X-Amz-Target": "Svc.Op" } });

  it("forwards method, path, query, body and the client's Host header, and returns the server's answer", async () => {
    const response = await send("/v2/repo/blobs/uploads/x?digest=sha256:1", "PUT", "layer");
    expect(response.status).to.equal(201);
    expect(response.headers.get("x-upstream")).to.equal("yes");
    expect(await response.json()).to.deep.equal({
      method: "PUT",
      url: "/v2/repo/blobs/uploads/x?digest=sha256:1",
      host: proxy.host,
      body: "layer",
    });
    expect(proxy.requests()).to.deep.equal([
      { method: "PUT", path: "/v2/repo/blobs/uploads/x?digest=sha256:1", status: 201, injected: false },
    ]);
  });

  it("answers the next N matching requests with the injected status, then forwards again", async () => {
    proxy.inject({ path: /\/manifests\//, method: "HEAD", times: 2, fault: { status: 429 } });
    const statuses = [];
    statuses.push((await send("/v2/repo/manifests/v1", "GET")).status); // another method: forwarded
    statuses.push((await send("/v2/repo/tags/list", "HEAD")).status); // another path: forwarded
    for (let i = 0; i < 3; i++) statuses.push((await send("/v2/repo/manifests/v1", "HEAD")).status);
    expect(statuses).to.deep.equal([201, 201, 429, 429, 201]);
    expect(proxy.pendingFaults()).to.equal(0);
    expect(proxy.requests().map((request) => request.injected)).to.deep.equal([
      false,
      false,
      true,
      true,
      false,
    ]);
  });

  it("sends the registry API's error body for a status, or the body it was given", async () => {
    proxy.inject({ path: /^\/v2\/$/, times: 1, fault: { status: 503 } });
    proxy.inject({
      path: /^\/$/,
      header: ["x-amz-target", /Svc\.Op/],
      times: 1,
      fault: { status: 400, body: '{"__type":"ThrottlingException"}' },
    });
    const registry = await send("/v2/");
    expect([registry.status, await registry.json()]).to.deep.equal([
      503,
      { errors: [{ code: "UNAVAILABLE", message: "injected by the fault proxy" }] },
    ]);
    const aws = await send("/", "POST", "{}");
    expect([aws.status, await aws.text()]).to.deep.equal([400, '{"__type":"ThrottlingException"}']);
  });

  it("drops the connection when told to, without an answer", async () => {
    proxy.inject({ path: /./, times: 1, fault: "drop" });
    let failure: unknown;
    await send("/v2/").catch((error: unknown) => (failure = error));
    expect(String(failure)).to.include("fetch failed");
    expect((await send("/v2/")).status).to.equal(201);
  });

  it("refuses a rule that would never fire", () => {
    expect(() => proxy.inject({ path: /./, times: 0, fault: "drop" })).to.throw(
      "times must be a positive integer",
    );
  });
});
