import { expect } from "chai";
import { withoutQueries } from "../../ec2-scripts/copier/skopeo";

/**
 * What the copier keeps of skopeo's last line (ec2-scripts/copier/skopeo.ts), which goes into a
 * failed result line, the results log group and `npm run status`: no presigned URL's credentials,
 * no control characters.
 */
describe("skopeo's last line, as the copier keeps it", () => {
  it("cuts every URL's query (a presigned S3 URL's token and signature) and keeps the rest", () => {
    const line =
      'reading blob sha256:ab: Get "https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/ab/cd?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE&X-Amz-Signature=deadbeef": read: connection reset by peer';
    const kept = withoutQueries(line);
    expect(kept).to.equal(
      'reading blob sha256:ab: Get "https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/ab/cd?…": read: connection reset by peer',
    );
    expect(kept).not.to.match(/X-Amz-(Security-Token|Signature)/);
  });

  it("replaces control characters, so a line cannot break into two or drive a terminal", () => {
    expect(withoutQueries("copy failed\nin sync: coeus:v1\u001b[2K")).to.equal(
      "copy failed?in sync: coeus:v1?[2K",
    );
  });
});
