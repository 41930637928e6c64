// Azure's naming rules for every name this project produces or accepts. Each check returns the rule that
// failed (to be quoted in a config error) or undefined. Rules are from the Azure resource naming docs
// ("Naming rules and restrictions for Azure resources") and the IoT Hub identity registry docs.

import { imageReferenceProblem } from "../iot/manifest/imageReference";

export type NameCheck = (value: string) => string | undefined;

function rule(description: string, test: (value: string) => boolean): NameCheck {
    return (value) => (test(value) ? undefined : description);
}

export const resourceGroupName = rule(
    "1-90 characters: letters, digits, underscores, hyphens, periods and parentheses, not ending in a period",
    (v) => /^[-\w.()]{1,90}$/.test(v) && !v.endsWith("."),
);

export const containerRegistryName = rule("5-50 alphanumeric characters", (v) => /^[a-zA-Z0-9]{5,50}$/.test(v));

export const storageAccountName = rule(
    "3-24 lowercase letters and digits",
    (v) => /^[a-z0-9]{3,24}$/.test(v),
);

export const keyVaultName = rule(
    "3-24 letters, digits and hyphens, starting with a letter, ending with a letter or digit, no consecutive hyphens",
    (v) => /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/.test(v) && !v.includes("--"),
);

export const iotHubName = rule(
    "3-50 letters, digits and hyphens, not ending in a hyphen",
    (v) => /^[a-zA-Z0-9-]{3,50}$/.test(v) && !v.endsWith("-"),
);

export const mlWorkspaceName = rule(
    "3-33 letters, digits, hyphens and underscores, starting with a letter or digit",
    (v) => /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$/.test(v),
);

export const logAnalyticsWorkspaceName = rule(
    "4-63 letters, digits and hyphens, starting and ending with a letter or digit",
    (v) => /^[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]$/.test(v),
);

export const applicationInsightsName = rule(
    "1-255 characters, none of % & \\ ? /",
    (v) => /^[^%&\\?/]{1,255}$/.test(v),
);

// IoT Hub device ids: case-sensitive, up to 128 ASCII 7-bit alphanumerics plus - . + % _ # * ? ! ( ) , : = @ $ '
export const deviceId = rule(
    "1-128 ASCII letters, digits and - . + % _ # * ? ! ( ) , : = @ $ '",
    (v) => /^[a-zA-Z0-9\-.+%_#*?!(),:=@$']{1,128}$/.test(v),
);

// The prefix feeds every derived name, including the alphanumeric-only ones, so it is the strictest subset.
export const namePrefix = rule(
    "2-12 lowercase letters and digits, starting with a letter",
    (v) => /^[a-z][a-z0-9]{1,11}$/.test(v),
);

// Azure's programmatic region names (westeurope, eastus2, ...); display names with spaces are not accepted here
// so the same value works in every API and CLI call.
export const location = rule(
    "a programmatic Azure region name such as westeurope (lowercase letters and digits; see az account list-locations -o table)",
    (v) => /^[a-z][a-z0-9]{2,40}$/.test(v),
);

// Azure ML asset names: letters, digits, hyphens and underscores, starting with a letter or digit.
export const modelName = rule(
    "1-255 letters, digits, hyphens and underscores, starting with a letter or digit",
    (v) => /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}$/.test(v),
);

export const modelVersion = rule(
    "1-30 letters, digits, periods, hyphens and underscores, starting with a letter or digit",
    (v) => /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,29}$/.test(v),
);

// Docker repository paths: lowercase components separated by slashes (the registry host is added for you).
export const imageRepository = rule(
    "lowercase letters, digits and single separators (. _ -) in slash-separated parts, without the registry host",
    (v) => /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(v) && v.length <= 256,
);

// A full image reference as Docker accepts it; the manifest module owns Docker's reference grammar.
export const imageReference: NameCheck = (v) => imageReferenceProblem(v);
