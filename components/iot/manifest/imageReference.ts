// Docker's image reference grammar (github.com/distribution/reference, regexp.go / reference.go), so a typo in
// an image is caught before the deployment rather than as an ImagePullBackOff-style loop on every device.
// edgeAgent's own check (DockerConfig.ImageRegexPattern) is, in its words, "a less strict version".

const alphanumeric = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const host = `(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])`;
const domain = `${host}(?::[0-9]+)?`;
const name = `(?:${domain}/)?${pathComponent}(?:/${pathComponent})*`;
const tag = "[\\w][\\w.-]{0,127}";
const digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";

const REFERENCE = new RegExp(`^(${name})(?::${tag})?(?:@(${digest}))?$`);
// distribution's NameTotalLengthMax.
const NAME_MAX_LENGTH = 255;
const SHA256_DIGEST = /@sha256:[0-9a-f]{64}$/;

/** Why `image` is not a Docker image reference, or undefined when it is one. */
export function imageReferenceProblem(image: string): string | undefined {
    const match = REFERENCE.exec(image);
    if (!match) {
        return "is not a Docker image reference ([registry[:port]/]repository[:tag][@algorithm:hex]; repository in lowercase)";
    }
    if (match[1].length > NAME_MAX_LENGTH) return `has a repository name longer than ${NAME_MAX_LENGTH} characters`;
    const digestPart = match[2];
    if (digestPart?.startsWith("sha256:") && !SHA256_DIGEST.test(image)) return "has a sha256 digest that is not 64 lowercase hex digits";
    return undefined;
}

export function isPinnedByDigest(image: string): boolean {
    return imageReferenceProblem(image) === undefined && SHA256_DIGEST.test(image);
}
