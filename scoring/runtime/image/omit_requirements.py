"""Joins requirement files into one, leaving out the named packages: `omit_requirements.py "a,b" FILE...`.

Only the offline image test omits anything (packages its local index lacks, which it lists); `pulumi up` builds
pass an empty list, so every requirement is installed. Option lines (--extra-index-url, -f, ...) are kept.
"""

import re
import sys

NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical(name):
    """PEP 503 normalisation: azure_iot_device, Azure.IoT.Device and azure-iot-device are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def joined(omit, paths):
    lines = []
    for path in paths:
        with open(path, encoding="utf-8") as file:
            for raw in file:
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                match = NAME.match(line)
                if match and not line.startswith("-") and canonical(match.group(1)) in omit:
                    continue
                lines.append(line)
    return lines


def main(argv):
    omit = {canonical(name) for name in argv[1].split(",") if name.strip()}
    print("\n".join(joined(omit, argv[2:])))


if __name__ == "__main__":
    main(sys.argv)
