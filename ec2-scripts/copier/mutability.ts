/**
 * Whether a target tag may be moved. ECR's tag mutability (DescribeRepositories'
 * imageTagMutability) is MUTABLE, IMMUTABLE, or one of them "_WITH_EXCLUSION": then the
 * repository's imageTagMutabilityExclusionFilters name the tags that take the other setting.
 * Each filter is a WILDCARD pattern matched against the whole tag, where `*` matches any run of
 * characters (none included) and every other character only itself ("Image tag mutability" in
 * the Amazon ECR User Guide,
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html, and
 * ImageTagMutabilityExclusionFilter in the ECR API Reference).
 */
export interface TagPolicy {
  readonly mutability: string;
  readonly exclusionFilters: readonly string[];
}

export const MUTABLE_POLICY: TagPolicy = { mutability: "MUTABLE", exclusionFilters: [] };

/** A WILDCARD filter as an anchored regular expression, every character but `*` literal. */
export function wildcardPattern(filter: string): RegExp {
  const literal = (text: string) => text.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
  return new RegExp(`^${filter.split("*").map(literal).join(".*")}$`, "s");
}

export function matchesWildcard(filter: string, tag: string): boolean {
  return wildcardPattern(filter).test(tag);
}

export function isTagImmutable(policy: TagPolicy, tag: string): boolean {
  const excluded = policy.exclusionFilters.some((filter) => matchesWildcard(filter, tag));
  switch (policy.mutability) {
    case "IMMUTABLE":
      return true;
    case "IMMUTABLE_WITH_EXCLUSION":
      return !excluded;
    case "MUTABLE_WITH_EXCLUSION":
      return excluded;
    default:
      return false;
  }
}
