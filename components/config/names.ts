// Azure's naming rules for every name this project produces or accepts. Each check returns the rule that
// failed (to be quoted in a config error) or undefined. Rules are from the Azure resource naming docs
// ("Naming rules and restrictions for Azure resources", "Resolve errors for reserved resource names") and the
// IoT Hub identity registry docs.

import { imageReferenceProblem } from "../iot/manifest/imageReference";
import { AZURE_REGIONS } from "./regions";

export type NameCheck = (value: string) => string | undefined;

function rule(description: string, test: (value: string) => boolean): NameCheck {
    return (value) => (test(value) ? undefined : description);
}

/** Both checks, in order: the first rule broken is the one reported. */
function both(first: NameCheck, second: NameCheck): NameCheck {
    return (value) => first(value) ?? second(value);
}

// ARM refuses these in names of resources with a public endpoint (ReservedResourceName), whether or not the
// endpoint is enabled: the whole name equal to one of RESERVED_WORDS, MICROSOFT or WINDOWS anywhere, LOGIN first.
const RESERVED_WORDS = [
    "ACCESS",
    "APP_CODE",
    "APP_THEMES",
    "APP_DATA",
    "APP_GLOBALRESOURCES",
    "APP_LOCALRESOURCES",
    "APP_WEBREFERENCES",
    "APP_BROWSERS",
    "AZURE",
    "BING",
    "BIZSPARK",
    "BIZTALK",
    "CORTANA",
    "DIRECTX",
    "DOTNET",
    "DYNAMICS",
    "EXCEL",
    "EXCHANGE",
    "FOREFRONT",
    "GROOVE",
    "HOLOLENS",
    "HYPERV",
    "KINECT",
    "LYNC",
    "MSDN",
    "O365",
    "OFFICE",
    "OFFICE365",
    "ONEDRIVE",
    "ONENOTE",
    "OUTLOOK",
    "POWERPOINT",
    "SHAREPOINT",
    "SKYPE",
    "VISIO",
    "VISUALSTUDIO",
    "WEB.CONFIG",
    "XBOX",
];
const RESERVED_ANYWHERE = ["MICROSOFT", "WINDOWS"];
const RESERVED_AT_START = ["LOGIN"];

/** The reserved word a name with a public endpoint uses, as the rule broken; undefined when it uses none. */
export const reservedWord: NameCheck = (value) => {
    const upper = value.toUpperCase();
    if (RESERVED_WORDS.includes(upper)) return `${upper} is a reserved word Azure refuses as a name of a resource with a public endpoint`;
    const anywhere = RESERVED_ANYWHERE.find((word) => upper.includes(word));
    if (anywhere) return `it contains ${anywhere}, a reserved word Azure refuses anywhere in names of resources with a public endpoint`;
    const start = RESERVED_AT_START.find((word) => upper.startsWith(word));
    if (start) return `it starts with ${start}, which Azure refuses at the start of names of resources with a public endpoint`;
    return undefined;
};

export const resourceGroupName = rule(
    "1-90 characters: letters, digits, underscores, hyphens, periods and parentheses, not ending in a period",
    (v) => /^[-\w.()]{1,90}$/.test(v) && !v.endsWith("."),
);

// Registry, storage account, key vault and hub names are DNS names (<name>.azurecr.io, ...): reserved words apply.
export const containerRegistryName = both(
    rule("5-50 alphanumeric characters", (v) => /^[a-zA-Z0-9]{5,50}$/.test(v)),
    reservedWord,
);

export const storageAccountName = both(
    rule("3-24 lowercase letters and digits", (v) => /^[a-z0-9]{3,24}$/.test(v)),
    reservedWord,
);

export const keyVaultName = both(
    rule(
        "3-24 letters, digits and hyphens, starting with a letter, ending with a letter or digit, no consecutive hyphens",
        (v) => /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/.test(v) && !v.includes("--"),
    ),
    reservedWord,
);

export const iotHubName = both(
    rule("3-50 letters, digits and hyphens, not ending in a hyphen", (v) => /^[a-zA-Z0-9-]{3,50}$/.test(v) && !v.endsWith("-")),
    reservedWord,
);

export const mlWorkspaceName = rule("3-33 letters, digits, hyphens and underscores, starting with a letter or digit", (v) =>
    /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$/.test(v),
);

export const logAnalyticsWorkspaceName = rule("4-63 letters, digits and hyphens, starting and ending with a letter or digit", (v) =>
    /^[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]$/.test(v),
);

// Microsoft.Insights/components: 1-260 characters, none of % & \ ? / nor control characters, not ending in a space
// or a period.
export const applicationInsightsName = rule(
    "1-260 characters, none of % & \\ ? / or control characters, not ending in a space or a period",
    // eslint-disable-next-line no-control-regex
    (v) => /^[^%&\\?/\u0000-\u001f\u007f]{1,260}$/.test(v) && !/[ .]$/.test(v),
);

// A registry token's name (Microsoft.ContainerRegistry/registries/tokens); its scope map takes the same name, whose
// rule (letters, digits, hyphens and underscores) is the wider one.
export const registryTokenName = rule("5-50 letters, digits and hyphens", (v) => /^[a-zA-Z0-9-]{5,50}$/.test(v));

// IoT Hub device ids: case-sensitive, up to 128 ASCII 7-bit alphanumerics plus - . % _ * ? ! ( ) , : = @ $ '. The
// registry also accepts + and #, but the identity registry docs warn that devices with them cannot connect (MQTT
// topic wildcards), so they are refused here.
export const deviceId = rule(
    "1-128 ASCII letters, digits and - . % _ * ? ! ( ) , : = @ $ ' (+ and # are accepted by IoT Hub, but such devices cannot connect)",
    (v) => /^[a-zA-Z0-9\-.%_*?!(),:=@$']{1,128}$/.test(v),
);

// Device Provisioning Service (Microsoft.Devices/provisioningServices): 3-64 alphanumerics and hyphens, ending with an
// alphanumeric (Azure's "Naming rules and restrictions for Azure resources", Microsoft.Devices). Its service endpoint
// is <name>.azure-devices-provisioning.net, so the reserved words apply as to a hub.
export const dpsName = both(
    rule("3-64 letters, digits and hyphens, ending with a letter or digit", (v) => /^[a-zA-Z0-9-]{2,63}[a-zA-Z0-9]$/.test(v)),
    reservedWord,
);

// DPS enrollment group names and registration ids, from Microsoft's DPS terminology page
// (https://learn.microsoft.com/azure/iot-dps/concepts-service, "Enrollment group" and "Registration ID"): case-insensitive
// strings of up to 128 alphanumerics plus - . _ : whose last character is an alphanumeric or a hyphen. For
// registration ids the DPS REST API (registrationId in the 2021-10-01 service swagger, and the Register Device page)
// says more: "No special characters allowed at start or end"; both rules hold below.
export const enrollmentGroupId = rule(
    "1-128 letters, digits and - . _ :, ending with a letter, a digit or a hyphen (DPS's enrollment group name rule)",
    (v) => /^[a-zA-Z0-9\-._:]{0,127}[a-zA-Z0-9-]$/.test(v),
);

export const dpsRegistrationId = rule(
    "1-128 letters, digits and - . _ :, starting and ending with a letter or digit (DPS's registration id rule)",
    (v) => /^[a-zA-Z0-9](?:[a-zA-Z0-9\-._:]{0,126}[a-zA-Z0-9])?$/.test(v),
);

// The prefix feeds every derived name, including the alphanumeric-only ones, so it is the strictest subset; a
// reserved word in it would be in every public endpoint's name.
export const namePrefix = both(
    rule("2-12 lowercase letters and digits, starting with a letter", (v) => /^[a-z][a-z0-9]{1,11}$/.test(v)),
    (v) => {
        const upper = v.toUpperCase();
        const anywhere = RESERVED_ANYWHERE.find((word) => upper.includes(word));
        if (anywhere)
            return `it contains ${anywhere}, which Azure refuses anywhere in the registry, storage, key vault and hub names derived from it`;
        const start = RESERVED_AT_START.find((word) => upper.startsWith(word));
        if (start)
            return `it starts with ${start}, which Azure refuses at the start of the registry, storage, key vault and hub names derived from it`;
        return undefined;
    },
);

// Azure's programmatic region names (westeurope, eastus2, ...), from the region list kept in regions.ts; display
// names with spaces are not accepted here so the same value works in every API and CLI call.
export const location: NameCheck = (v) => {
    if (Object.hasOwn(AZURE_REGIONS, v)) return undefined;
    const byDisplayName = Object.entries(AZURE_REGIONS).find(([, display]) => display.toLowerCase() === v.toLowerCase())?.[0];
    const hint = byDisplayName ?? closest(v.toLowerCase().replace(/\s+/g, ""), Object.keys(AZURE_REGIONS));
    return `not an Azure region${hint ? ` (did you mean ${hint}?)` : ""}; use a region name as \`az account list-locations -o table\` shows it, such as westeurope`;
};

// Azure ML asset names: letters, digits, hyphens and underscores, starting with a letter or digit.
export const modelName = rule("1-255 letters, digits, hyphens and underscores, starting with a letter or digit", (v) =>
    /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}$/.test(v),
);

/** A version of a model registered elsewhere, as its registration names it. */
export const registeredModelVersion = rule("1-30 letters, digits, periods, hyphens and underscores, starting with a letter or digit", (v) =>
    /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,29}$/.test(v),
);

// Azure ML takes only positive whole numbers as versions of the models it registers (the CLI v2 model schema types
// `version` as an integer; other values fail at `pulumi up`).
export const modelVersion = rule("a positive whole number such as 3, without leading zeros", (v) => /^[1-9][0-9]{0,8}$/.test(v));

// Docker repository paths: lowercase components separated by slashes (the registry host is added for you).
export const imageRepository = rule(
    "lowercase letters, digits and single separators (. _ -) in slash-separated parts, without the registry host",
    (v) => /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(v) && v.length <= 256,
);

// A full image reference as Docker accepts it; the manifest module owns Docker's reference grammar.
export const imageReference: NameCheck = (v) => imageReferenceProblem(v);

/** The known name within edit distance 3 of a misspelt one (case-insensitive), for a "did you mean" hint. */
export function closest(name: string, known: string[]): string | undefined {
    const distance = (a: string, b: string): number => {
        const row = Array.from({ length: b.length + 1 }, (_, i) => i);
        for (let i = 1; i <= a.length; i++) {
            let diagonal = row[0];
            row[0] = i;
            for (let j = 1; j <= b.length; j++) {
                const above = row[j];
                row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.length];
    };
    const ranked = known.map((k) => ({ k, d: distance(name, k) })).sort((x, y) => x.d - y.d);
    return ranked.length > 0 && ranked[0].d <= 3 ? ranked[0].k : undefined;
}
