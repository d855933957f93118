import { expect } from "chai";
import { awsEnvironment, reason } from "../../scripts/e2e/aws";

describe("e2e tool runs (scripts/e2e/aws.ts)", () => {
  it("runs aws in the given environment, without a pager", () => {
    const env = awsEnvironment({ PATH: "/given/bin", AWS_ACCESS_KEY_ID: "AKIA", AWS_REGION: "x" }, undefined);
    expect(env).to.deep.equal({
      PATH: "/given/bin",
      AWS_ACCESS_KEY_ID: "AKIA",
      AWS_REGION: "x",
      AWS_PAGER: "",
    });
  });

  it("keeps credential variables from overriding a named profile", () => {
    const env = awsEnvironment(
      {
        PATH: "/bin",
        AWS_ACCESS_KEY_ID: "a",
        AWS_SECRET_ACCESS_KEY: "b",
        AWS_SESSION_TOKEN: "c",
        AWS_PROFILE: "d",
        AWS_DEFAULT_PROFILE: "e",
        AWS_ENDPOINT_URL: "http://127.0.0.1:5000",
      },
      "legacy",
    );
    expect(env).to.deep.equal({ PATH: "/bin", AWS_ENDPOINT_URL: "http://127.0.0.1:5000", AWS_PAGER: "" });
  });

  it("gives the last line of a tool's output as the reason it failed", () => {
    expect(reason({ code: 255, stdout: "", stderr: "\nAn error occurred (AccessDenied)\n  \n" })).to.equal(
      "An error occurred (AccessDenied)",
    );
    expect(reason({ code: "ENOENT", stdout: "", stderr: "spawn aws ENOENT" })).to.equal("not found on PATH");
    expect(reason({ code: 2, stdout: "", stderr: "" })).to.equal("exit code 2");
  });
});
