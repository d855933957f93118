/**
 * The pure builders of local/oci.ts that the OCI layout, the bench's HTTP seeding and the e2e
 * push share: content digests, image config and manifest bytes, skopeo auth files.
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  descriptorOf,
  imageConfig,
  imageManifest,
  MEDIA_TYPES,
  OciLayout,
  sha256Digest,
  writeAuthFile,
} from "../../local/oci";

describe("OCI builders (local/oci.ts)", () => {
  it("names content by the SHA-256 of its bytes", () => {
    expect(sha256Digest("")).to.equal(
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    expect(descriptorOf(MEDIA_TYPES.layer, Buffer.from("abc"))).to.deep.equal({
      mediaType: MEDIA_TYPES.layer,
      digest: `sha256:${createHash("sha256").update("abc").digest("hex")}`,
      size: 3,
    });
  });

  it("writes an image config with the platform, one label and the diff ids, a variant only when there is one", () => {
    const arm = JSON.parse(
      imageConfig({ os: "linux", architecture: "arm", variant: "v7" }, "x", ["sha256:1"]).toString(),
    );
    expect(arm).to.deep.equal({
      architecture: "arm",
      os: "linux",
      variant: "v7",
      config: { Labels: { "ecr-sync.test/label": "x" } },
      rootfs: { type: "layers", diff_ids: ["sha256:1"] },
    });
    const amd = JSON.parse(imageConfig({ os: "linux", architecture: "amd64" }, "y", []).toString());
    expect(amd).not.to.have.property("variant");
  });

  it("builds the same image bytes as the layout stores, so a pushed manifest and a seeded one agree", async () => {
    const layout = await OciLayout.create();
    try {
      const image = await layout.addImage({ layers: [{ size: 100, seed: "s" }], label: "same" });
      const manifestFile = join(layout.dir, "blobs", "sha256", image.digest.slice("sha256:".length));
      const stored = await readFile(manifestFile);
      expect(imageManifest(image.config, image.layers).equals(stored)).to.equal(true);
      expect(JSON.parse(stored.toString())).to.include({ schemaVersion: 2, mediaType: MEDIA_TYPES.manifest });
    } finally {
      await layout.remove();
    }
  });

  it("names artifacts while skopeo reads: index.json is never seen partial, and ends with every name", async () => {
    // Concurrent pushes each name their artifact while another push's skopeo reads index.json.
    // A reader polls the file throughout; a write that truncates in place shows it an empty or
    // cut file, and an earlier snapshot landing last drops names.
    const layout = await OciLayout.create();
    try {
      const image = await layout.addImage({ layers: [{ size: 10, seed: "n" }], label: "names" });
      const index = join(layout.dir, "index.json");
      let writing = true;
      const torn: string[] = [];
      const reader = (async () => {
        while (writing) {
          const text = await readFile(index, "utf8");
          try {
            JSON.parse(text);
          } catch {
            torn.push(text);
          }
        }
      })();
      const names = Array.from({ length: 400 }, (_, i) => `push-${i}`);
      await Promise.all(names.map((name) => layout.name(image, name)));
      writing = false;
      await reader;
      expect(torn, "index.json read partial").to.deep.equal([]);
      const refs = JSON.parse(await readFile(index, "utf8")).manifests.map(
        (m: { annotations: Record<string, string> }) => m.annotations["org.opencontainers.image.ref.name"],
      );
      expect(refs).to.have.members(names);
    } finally {
      await layout.remove();
    }
  });

  it("writes an auth file of basic logins per registry, readable by its owner only", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ecr-sync-oci-test-"));
    try {
      const file = join(dir, "auth.json");
      await writeAuthFile(file, {
        "127.0.0.1:5000": { username: "AWS", password: "p1" },
        "example.com": { username: "u", password: "p:2" },
      });
      expect(JSON.parse(await readFile(file, "utf8"))).to.deep.equal({
        auths: {
          "127.0.0.1:5000": { auth: Buffer.from("AWS:p1").toString("base64") },
          "example.com": { auth: Buffer.from("u:p:2").toString("base64") },
        },
      });
      expect((await stat(file)).mode & 0o777).to.equal(0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
