import { expect } from "chai";
import { Failure } from "../../ec2-scripts/copier/failure";
import { referrersTag } from "../../common/naming";
import { listReferrers, referrerGraph } from "../../ec2-scripts/copier/referrers";
import { ScriptedRegistry, startScriptedRegistry } from "../support/copier";

/**
 * Listing a subject's referrers (ec2-scripts/copier/referrers.ts) against a small HTTP server that
 * answers as told: the API's pages by Link header (absolute, relative, looping), the referrers tag
 * where the API answers 404, and descriptors with an artifact type no result line should carry.
 */
describe("copier referrer listing", function () {
  this.timeout(20000);
  let registry: ScriptedRegistry;
  let pages: Record<string, { status: number; body?: unknown; link?: string }>;
  let requests: string[];
  let host: string;
  const subject = `sha256:${"a".repeat(64)}`;
  const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
  const index = (...manifests: Array<Record<string, unknown>>) => ({ schemaVersion: 2, manifests });
  const api = `/v2/app/referrers/${subject}`;

  before(async () => {
    registry = await startScriptedRegistry((request, response) => {
      requests.push(request.url ?? "");
      const page = pages[request.url ?? ""] ?? { status: 404 };
      response.writeHead(page.status, {
        "content-type": "application/vnd.oci.image.index.v1+json",
        ...(page.link ? { link: page.link } : {}),
      });
      response.end(page.body === undefined ? "" : JSON.stringify(page.body));
    });
    host = registry.host;
  });
  beforeEach(() => {
    requests = [];
  });
  after(() => registry.stop());

  const client = () => registry.client();

  it("follows the API's pages by an absolute or a relative next link", async () => {
    pages = {
      [api]: {
        status: 200,
        body: index({ digest: digest(1), artifactType: "application/spdx+json" }),
        link: `<http://${host}${api}?n=1&last=1>; rel="next"`,
      },
      [`${api}?n=1&last=1`]: {
        status: 200,
        body: index({ digest: digest(2) }),
        link: `<?n=1&last=2>; rel="next"`,
      },
      [`${api}?n=1&last=2`]: { status: 200, body: index() },
    };
    const listed = await listReferrers(client(), "app", subject);
    expect(listed).to.deep.equal([
      { digest: digest(1), mediaType: "", artifactType: "application/spdx+json", subject },
      { digest: digest(2), mediaType: "", artifactType: "", subject },
    ]);
  });

  it("stops, naming it, when the pages come round again", async () => {
    pages = {
      [api]: { status: 200, body: index({ digest: digest(1) }), link: `<?last=1>; rel="next"` },
      [`${api}?last=1`]: { status: 200, body: index({ digest: digest(2) }), link: `<?last=1>; rel="next"` },
    };
    const listed = await listReferrers(client(), "app", subject);
    expect(listed).to.be.instanceOf(Failure);
    expect((listed as Failure).message).to.match(/named a next page .* elsewhere or again/);
    expect(requests.filter((url) => url.startsWith(api))).to.have.length(2);
  });

  it("stops, naming it, when the pages go on and on with nothing on them", async () => {
    pages = Object.fromEntries(
      Array.from({ length: 300 }, (_, n) => [
        n === 0 ? api : `${api}?n=${n}`,
        { status: 200, body: index(), link: `<?n=${n + 1}>; rel="next"` },
      ]),
    );
    const listed = await listReferrers(client(), "app", subject);
    expect((listed as Failure).message).to.include("more than 256 pages");
    expect(requests.filter((url) => url.startsWith(api))).to.have.length(257);
  });

  it("reads the referrers tag where the API answers 404, and [] where there is neither", async () => {
    pages = {
      [`/v2/app/manifests/${referrersTag(subject)}`]: { status: 200, body: index({ digest: digest(3) }) },
    };
    expect(await listReferrers(client(), "app", subject)).to.deep.equal([
      { digest: digest(3), mediaType: "", artifactType: "", subject },
    ]);
    pages = {};
    expect(await listReferrers(client(), "app", subject)).to.deep.equal([]);
  });

  it("takes 400, 405 and 501 from the API as a registry without it (the tag still read), and fails on a 403", async () => {
    for (const status of [400, 405, 501]) {
      pages = {
        [api]: { status },
        [`/v2/app/manifests/${referrersTag(subject)}`]: { status: 200, body: index({ digest: digest(5) }) },
      };
      expect(await listReferrers(client(), "app", subject), String(status)).to.deep.equal([
        { digest: digest(5), mediaType: "", artifactType: "", subject },
      ]);
    }
    pages = { [api]: { status: 403 } };
    expect(await listReferrers(client(), "app", subject)).to.be.instanceOf(Failure);
  });

  it("asks a repository whose registry answered it has no API only once, and reads no referrers tag a listing shows absent", async () => {
    const other = `sha256:${"b".repeat(64)}`;
    pages = {
      [`/v2/app/manifests/${referrersTag(other)}`]: { status: 200, body: index({ digest: digest(4) }) },
    };
    const once = client();
    expect(await listReferrers(once, "app", subject, new Set(["v1"]))).to.deep.equal([]);
    expect(requests, "the API asked; the tag the listing lacks not read").to.deep.equal([api]);
    requests = [];
    expect(await listReferrers(once, "app", other, new Set(["v1", referrersTag(other)]))).to.deep.equal([
      { digest: digest(4), mediaType: "", artifactType: "", subject: other },
    ]);
    expect(requests, "no API asked again; the listed tag read").to.deep.equal([
      `/v2/app/manifests/${referrersTag(other)}`,
    ]);
    // Another repository's API is still asked: a 404 may be that repository's alone (deleted meanwhile).
    requests = [];
    expect(await listReferrers(once, "other", subject, new Set())).to.deep.equal([]);
    expect(requests).to.deep.equal([`/v2/other/referrers/${subject}`]);
  });

  it("reads an image's manifest for its platforms unless its HEAD said it is a single manifest", async () => {
    pages = {
      [`/v2/app/manifests/${subject}`]: {
        status: 200,
        body: { schemaVersion: 2, manifests: [{ digest: digest(6) }] },
      },
    };
    expect(await referrerGraph(client(), "app", subject)).to.deep.equal([]);
    expect(requests).to.include(`/v2/app/manifests/${subject}`);
    expect(requests, "the index's platform asked for its referrers").to.include(
      `/v2/app/referrers/${digest(6)}`,
    );
    requests = [];
    const single = { mediaType: "application/vnd.oci.image.manifest.v1+json", listed: new Set(["v1"]) };
    expect(await referrerGraph(client(), "app", subject, single)).to.deep.equal([]);
    expect(requests).to.deep.equal([api]);
  });

  it("adds what only the referrers tag lists where the API answers (pushed while the registry had no API)", async () => {
    pages = {
      [api]: { status: 200, body: index({ digest: digest(1) }) },
      [`/v2/app/manifests/${referrersTag(subject)}`]: {
        status: 200,
        body: index({ digest: digest(1) }, { digest: digest(2) }),
      },
    };
    expect((await listReferrers(client(), "app", subject)) as Array<{ digest: string }>).to.deep.equal([
      { digest: digest(1), mediaType: "", artifactType: "", subject },
      { digest: digest(2), mediaType: "", artifactType: "", subject },
    ]);
  });

  it("keeps an artifact type only when it is a media type of at most 255 characters", async () => {
    const odd = [`application/${"x".repeat(300)}`, "not a media type", 'a/b"\n{"forged":1}', 42];
    pages = {
      [api]: {
        status: 200,
        body: index(...odd.map((artifactType, i) => ({ digest: digest(i + 4), artifactType }))),
      },
    };
    const listed = (await listReferrers(client(), "app", subject)) as Array<{ artifactType: string }>;
    expect(listed.map((r) => r.artifactType)).to.deep.equal(["", "", "", ""]);
  });
});
