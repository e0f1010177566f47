"""Render the README's table of registry mirror presets from presets.PRESETS.

    python tests/tools/presets_doc.py          # rewrite the table in README.md in place
    python tests/tools/presets_doc.py --check  # exit 1 when the README's table is out of date

The table sits in README.md between the BEGIN and END markers; everything else
in the README is written by hand.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(ROOT, "README.md")
BEGIN = "<!-- BEGIN mirror presets from mirrors/presets.py (make presets-doc) -->\n"
END = "<!-- END mirror presets -->\n"


def presets_module():
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import conftest  # noqa: F401, PLC0415 - makes the collection importable

    from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors import presets  # noqa: PLC0415

    return presets


def cell(text):
    return text.replace("|", "\\|").replace("\n", " ") or "-"


def render(presets):
    rows = ["| name | registries and URLs | tier | status | as of | allow-list, notes | source |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for p in presets.PRESETS:
        serves = "; ".join("`%s` %s" % (registry, ("`%s`" % url) if presets.is_template(url) else url)
                           for registry, url in p["serves"].items())
        rows.append("| `%s` | %s | %s | %s | %s | %s | %s |" % (
            p["name"], serves, p["tier"], p["status"], p["as_of"], cell(p["allow_list"]),
            cell("%s. %s" % (p["title"], p["source"]))))
    tiers = ["", "Tiers: " + "; ".join("**%s**: %s" % (name, words) for name, words in presets.TIERS.items()) + "."]
    return "\n".join(rows + tiers) + "\n"


def updated(text, block):
    start = text.index(BEGIN) + len(BEGIN)
    end = text.index(END)
    return text[:start] + block + text[end:]


def main(argv):
    block = render(presets_module())
    with open(README, encoding="utf-8") as handle:
        text = handle.read()
    new = updated(text, block)
    if "--check" in argv:
        if new != text:
            print("README.md: the table of mirror presets is out of date; run make presets-doc")
            return 1
        return 0
    if new != text:
        with open(README, "w", encoding="utf-8") as handle:
            handle.write(new)
        print("updated README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
