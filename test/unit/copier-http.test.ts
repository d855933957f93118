import { expect } from "chai";
import * as http from "node:http";
import * as net from "node:net";
import { AddressInfo } from "node:net";
import { BadAnswer, exchange, HttpLimits, NoAnswer, readBody } from "../../ec2-scripts/copier/http";

/**
 * The copier's HTTP exchange (ec2-scripts/copier/http.ts) against small local servers: the two
 * time limits, redirects and the password, and the cap on a body read whole.
 */
describe("copier HTTP exchange", function () {
  this.timeout(20000);
  const servers: Array<http.Server | net.Server> = [];
  const limits: HttpLimits = { connectTimeoutSeconds: 1, totalTimeoutSeconds: 10 };

  const openSockets = new Set<net.Socket>();
  async function listen<T extends http.Server | net.Server>(server: T): Promise<string> {
    servers.push(server);
    server.on("connection", (socket: net.Socket) => openSockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  after(async () => {
    for (const socket of openSockets) socket.destroy();
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  const failureOf = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error("expected no answer");
      },
      (error: unknown) => error as NoAnswer,
    );

  it("gives up on a connection that does not finish connecting (a TLS handshake never answered) within the connect limit", async () => {
    // A TCP listener that never speaks TLS: the TCP connection opens, the handshake never ends.
    const silent = await listen(net.createServer(() => undefined));
    const started = Date.now();
    const error = await failureOf(
      exchange(
        `https://${silent}/v2/`,
        {},
        { connectTimeoutSeconds: 1, totalTimeoutSeconds: 30 },
        async () => 0,
      ),
    );
    expect(Date.now() - started).to.be.within(900, 5000);
    expect(error).to.be.instanceOf(NoAnswer);
    expect(error.code).to.equal("ConnectTimeoutError");
  });

  it("bounds the whole answer, its body included, by the total limit", async () => {
    // Headers at once, then a body that stops half way.
    const stalls = await listen(
      http.createServer((_request, response) => {
        response.writeHead(200, { "Content-Length": "100" });
        response.write("x".repeat(50));
      }),
    );
    const started = Date.now();
    const error = await failureOf(
      exchange(`http://${stalls}/v2/`, {}, { connectTimeoutSeconds: 1, totalTimeoutSeconds: 1 }, (response) =>
        readBody(response.body),
      ),
    );
    expect(Date.now() - started).to.be.within(900, 5000);
    expect(error.code).to.equal("TimeoutError");
  });

  it("follows a redirect to another origin without the registry's password, and keeps it on the same origin", async () => {
    const seen: Array<{ url: string; authorization?: string }> = [];
    const elsewhere = await listen(
      http.createServer((request, response) => {
        seen.push({ url: `elsewhere ${request.url}`, authorization: request.headers.authorization });
        response.writeHead(200).end("blob bytes");
      }),
    );
    const registry = await listen(
      http.createServer((request, response) => {
        seen.push({ url: `registry ${request.url}`, authorization: request.headers.authorization });
        if (request.url === "/v2/coeus/blobs/a")
          response.writeHead(307, { Location: "/v2/coeus/blobs/b" }).end();
        else response.writeHead(307, { Location: `http://${elsewhere}/s3/b?signed=1` }).end();
      }),
    );
    const body = await exchange(
      `http://${registry}/v2/coeus/blobs/a`,
      { headers: { Authorization: "Basic QVdTOnNlY3JldA==" } },
      limits,
      async (response) => (await readBody(response.body)).toString(),
    );
    expect(body).to.equal("blob bytes");
    expect(seen).to.deep.equal([
      { url: "registry /v2/coeus/blobs/a", authorization: "Basic QVdTOnNlY3JldA==" },
      { url: "registry /v2/coeus/blobs/b", authorization: "Basic QVdTOnNlY3JldA==" },
      { url: "elsewhere /s3/b?signed=1", authorization: undefined },
    ]);
  });

  it("refuses a body read whole that is larger than its cap", async () => {
    const big = await listen(http.createServer((_request, response) => response.end("y".repeat(4096))));
    const error = await failureOf(
      exchange(`http://${big}/`, {}, limits, (response) => readBody(response.body, 1024)),
    );
    expect(error.code).to.equal("BodyTooLarge");
  });

  it("takes a redirect that is not a URL as a bad answer, without ending the process", async () => {
    const host = await listen(
      http.createServer((_request, response) => response.writeHead(302, { Location: "http://[::1" }).end()),
    );
    const error = await failureOf(exchange(`http://${host}/v2/`, {}, limits, async () => 0));
    expect(error).to.be.instanceOf(BadAnswer);
    expect(error.code).to.equal("InvalidRedirect");
  });

  it("hands on an error answer at once, without waiting for a body the registry stalls in", async () => {
    const host = await listen(
      http.createServer((_request, response) => {
        response.writeHead(404, { "Content-Length": "10" });
        response.write("abc"); // and nothing more
      }),
    );
    const started = Date.now();
    const status = await exchange(
      `http://${host}/v2/x/manifests/y`,
      {},
      { connectTimeoutSeconds: 1, totalTimeoutSeconds: 5 },
      async (response) => response.status,
    );
    expect(status).to.equal(404);
    expect(Date.now() - started).to.be.below(2000);
  });

  it("closes a kept-alive connection left idle for 4 s instead of reusing it later", async () => {
    const sockets = new Set<net.Socket>();
    const closed: net.Socket[] = [];
    const server = http.createServer((request, response) => {
      sockets.add(request.socket);
      request.socket.once("close", () => closed.push(request.socket));
      response.writeHead(200, { "Content-Length": "0" }).end();
    });
    // The server keeps connections open for a minute: only the client closes an idle one.
    server.keepAliveTimeout = 60_000;
    const host = await listen(server);
    await exchange(`http://${host}/v2/`, { method: "HEAD" }, limits, async () => 0);
    await new Promise((resolve) => setTimeout(resolve, 4500));
    expect(closed, "the idle connection, closed by the client").to.have.length(1);
    await exchange(`http://${host}/v2/`, { method: "HEAD" }, limits, async () => 0);
    expect(sockets.size).to.equal(2);
  });

  it("reuses its connection for the next request (keep-alive), as fetch did", async () => {
    const sockets = new Set<net.Socket>();
    const server = http.createServer((request, response) => {
      sockets.add(request.socket);
      response.writeHead(200, { "Docker-Content-Digest": "sha256:1", "Content-Length": "0" }).end();
    });
    const host = await listen(server);
    for (let i = 0; i < 3; i++)
      expect(
        await exchange(`http://${host}/v2/`, { method: "HEAD" }, limits, async (r) =>
          r.header("docker-content-digest"),
        ),
      ).to.equal("sha256:1");
    expect(sockets.size).to.equal(1);
  });
});
