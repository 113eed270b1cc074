#!/usr/bin/python3
"""Prints the parameter table of README.md from ra-metadata/VirtualDomain.xml,
so the README cannot drift from the metadata (tests/metadata-check.sh
compares the two)."""
import sys
import xml.etree.ElementTree as ET

# Parameters that are new in vmhandoff (not in ocf:heartbeat:VirtualDomain).
NEW = {"migration_network", "migration_parallel", "migration_auto_converge",
       "migration_compression", "migration_postcopy", "migration_tls",
       "migration_abort_after", "registry", "registry_socket", "require_fencing"}

def main(path):
    root = ET.parse(path).getroot()
    print("| parameter | default | meaning |")
    print("|---|---|---|")
    for p in root.find("parameters"):
        name = p.get("name")
        content = p.find("content")
        default = content.get("default", "")
        text = " ".join(p.find("longdesc").text.split())
        mark = " (new)" if name in NEW else ""
        req = " (required)" if p.get("required") == "1" else ""
        print(f"| `{name}`{mark}{req} | {default or '—'} | {text.replace('|', '/')} |")

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "ra-metadata/VirtualDomain.xml")
