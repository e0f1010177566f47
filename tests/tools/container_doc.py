"""Render the container module's option documentation (a doc fragment) from container_options.OPTIONS.

    python tests/tools/container_doc.py          # rewrite plugins/doc_fragments/container.py in place
    python tests/tools/container_doc.py --check  # exit 1 when the module's documentation is out of date

The options of the table appear in DOCUMENTATION between the BEGIN and END
markers; everything else in the documentation is written by hand.
"""

import os
import sys
import textwrap

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE = os.path.join(ROOT, "plugins", "doc_fragments", "container.py")
BEGIN = "# BEGIN options from container_options.OPTIONS (make container-doc)\n"
END = "# END options from container_options.OPTIONS\n"


def options_module():
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import conftest  # noqa: F401, PLC0415 - makes the collection importable

    from ansible_collections.dockhand.runtime.plugins.module_utils.container import options as container_options  # noqa: PLC0415

    return container_options


def render(options):
    entries = {}
    for option in options:
        entry = {"description": [option.doc], "type": option.type}
        if option.elements:
            entry["elements"] = option.elements
        if option.aliases:
            entry["aliases"] = list(option.aliases)
        if option.choices:
            entry["choices"] = list(option.choices)
        entries[option.name] = entry
    text = yaml.safe_dump(entries, sort_keys=False, width=100, default_flow_style=False)
    return textwrap.indent(text, "  ")


def updated(text, block):
    start = text.index(BEGIN) + len(BEGIN)
    end = text.index(END)
    return text[:start] + block + text[end:]


def main(argv):
    block = render(options_module().OPTIONS)
    with open(MODULE, encoding="utf-8") as handle:
        text = handle.read()
    new = updated(text, block)
    if "--check" in argv:
        if new != text:
            print("plugins/doc_fragments/container.py: the option documentation is out of date; run make container-doc")
            return 1
        return 0
    if new != text:
        with open(MODULE, "w", encoding="utf-8") as handle:
            handle.write(new)
        print("updated plugins/doc_fragments/container.py")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
