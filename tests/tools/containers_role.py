"""Write the containers role's pass-through of module options from the modules' documentation.

    python tests/tools/containers_role.py          # rewrite the role's generated blocks in place
    python tests/tools/containers_role.py --check  # exit 1 when a block is out of date

The role hands each entry of containers_list (containers_networks, containers_volumes) to
dockhand.runtime.container (network, volume), one task argument per module option:
``opt: "{{ entry['opt'] | default(omit) }}"``, where ``entry`` is the loop item (networks) or,
for the lists whose entries can hold secrets (env, driver options), the entry the loop's name picks:
those tasks loop over names only, so no output at any verbosity shows an entry (the loop item is in
every result). ansible-core can also take a whole dict of
arguments (``args: "{{ item }}"``), but warns on every run that this is unsafe while facts
are injected as variables (the default), so the role spells the options out instead.

Two blocks per module are generated, between BEGIN and END markers:
- the task's arguments in roles/containers/tasks/<file>.yml;
- the list entries' options in roles/containers/meta/argument_specs.yml, so that a
  misspelt or mistyped option fails before anything runs.

Both come from the module's documentation, its own options and those of the collection's
doc fragments it extends (ansible-test's validate-modules keeps them equal to its
argument_spec; for the container module that is container_options.OPTIONS and CONTROL_SPEC,
rendered by tests/tools/container_doc.py), minus the shared connection options, which a
play sets once with module_defaults for group/dockhand.runtime.engine.
"""

import importlib
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, "roles", "containers")
ARGUMENT_SPECS = os.path.join(ROLE, "meta", "argument_specs.yml")

# module -> (role variable, task file)
PASS_THROUGH = {
    "network": ("containers_networks", "networks.yml"),
    "volume": ("containers_volumes", "volumes.yml"),
    "container": ("containers_list", "containers.yml"),
}

# module -> the variable that holds the entry in its task (see the module docstring)
ENTRY = {"network": "item", "volume": "containers_volume", "container": "containers_entry"}

# Arguments the role sets itself instead of passing the entry's value through.
SPECIAL = {
    ("container", "labels"): "\"{{ containers_entry['labels'] | default({}) | combine(containers_labels) }}\"",
    ("container", "comparisons"): "\"{{ containers_entry['comparisons'] | default(containers_comparisons) }}\"",
}

# The shared connection options: a play sets them once, with module_defaults for group/dockhand.runtime.engine.
CONNECTION_FRAGMENT = "dockhand.runtime.engine"

TASK_INDENT = "    "
SPEC_INDENT = "          "


def begin(module):
    return "# BEGIN %s options (tests/tools/containers_role.py)\n" % module


def end(module):
    return "# END %s options\n" % module


def fragment_options(name):
    """The options of this collection's doc fragment ``name`` (dockhand.runtime.<file>[.<variable>])."""
    file, _dot, variable = name.partition(".")
    fragment = importlib.import_module("ansible_collections.dockhand.runtime.plugins.doc_fragments." + file)
    text = getattr(fragment.ModuleDocFragment, (variable or "documentation").upper())
    return yaml.safe_load(text).get("options") or {}


def module_options(module):
    """The documented options of a module (its own and its fragments'), without the connection options."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import conftest  # noqa: F401, PLC0415 - makes the collection importable

    path = os.path.join(ROOT, "plugins", "modules", module + ".py")
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    doc = yaml.safe_load(re.search(r'^DOCUMENTATION = r"""\n(.*?)^"""', source, re.S | re.M).group(1))
    options = dict(doc.get("options") or {})
    for fragment in doc.get("extends_documentation_fragment") or []:
        if fragment.startswith("dockhand.runtime.") and fragment != CONNECTION_FRAGMENT:
            options.update(fragment_options(fragment.split(".", 2)[2]))
    connection = fragment_options(CONNECTION_FRAGMENT.split(".", 2)[2])
    return {name: spec for name, spec in options.items() if name not in connection}


def task_lines(module, options):
    lines = []
    for name, spec in options.items():
        special = SPECIAL.get((module, name))
        if special:
            value = special
        elif spec.get("required"):
            value = "\"{{ %s['%s'] }}\"" % (ENTRY[module], name)
        else:
            value = "\"{{ %s['%s'] | default(omit) }}\"" % (ENTRY[module], name)
        lines.append("%s%s: %s\n" % (TASK_INDENT, name, value))
    return "".join(lines)


def role_markup(text, variable):
    """O(opt...) of the module is O(<variable>[].opt...) in the role's documentation."""
    return re.sub(r"O\(([a-z_]+)", lambda m: "O(%s[].%s" % (variable, m.group(1)), text)


def spec_entry(spec, variable):
    entry = {}
    description = spec.get("description")
    if isinstance(description, str):
        description = [description]
    entry["description"] = [role_markup(line, variable) for line in description]
    # no aliases: role argument specs do not take them (ansible-lint's schema), so the role
    # takes each option by its one name, and an alias such as ports fails validation, named
    for key in ("type", "elements", "required", "choices", "default"):
        if key in spec:
            entry[key] = spec[key]
    if "suboptions" in spec:
        entry["options"] = {name: spec_entry(sub, variable) for name, sub in spec["suboptions"].items()}
    return entry


class IndentedDumper(yaml.SafeDumper):
    """Indents list items under their key, as yamllint (ansible-lint) wants."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def spec_lines(options, variable):
    entries = {name: spec_entry(spec, variable) for name, spec in options.items()}
    text = yaml.dump(entries, Dumper=IndentedDumper, sort_keys=False, width=100, default_flow_style=False)
    return "".join(SPEC_INDENT + line if line.strip() else line for line in text.splitlines(True))


def replaced(text, module, block, where):
    start_marker, end_marker = begin(module), end(module)
    start = text.find(start_marker)
    stop = text.find(end_marker)
    if start < 0 or stop < start:
        raise SystemExit("%s: the markers %r and %r are missing" % (where, start_marker.strip(), end_marker.strip()))
    # the END marker line keeps its own indentation
    line_start = text.rfind("\n", 0, stop) + 1
    return text[:start + len(start_marker)] + block + text[line_start:]


def rendered():
    """{path: (current text, generated text)} for the files with generated blocks."""
    files = {}

    def text_of(path):
        if path not in files:
            with open(path, encoding="utf-8") as handle:
                files[path] = [handle.read(), None]
            files[path][1] = files[path][0]
        return files[path]

    for module, (variable, task_file) in PASS_THROUGH.items():
        options = module_options(module)
        task_path = os.path.join(ROLE, "tasks", task_file)
        entry = text_of(task_path)
        entry[1] = replaced(entry[1], module, task_lines(module, options), task_path)
        entry = text_of(ARGUMENT_SPECS)
        entry[1] = replaced(entry[1], module, spec_lines(options, variable), ARGUMENT_SPECS)
    return files


def main(argv):
    stale = []
    for path, (current, new) in rendered().items():
        if new == current:
            continue
        stale.append(os.path.relpath(path, ROOT))
        if "--check" not in argv:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(new)
            print("updated %s" % os.path.relpath(path, ROOT))
    if stale and "--check" in argv:
        print("out of date: %s; run python tests/tools/containers_role.py" % ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
