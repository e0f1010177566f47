"""The collection as users get it: build the tarball, install it in a clean virtualenv, read its docs."""

import glob
import json
import os
import subprocess

import pytest
import yaml
from conftest import tool
from paths import REPO_ROOT

MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(REPO_ROOT, "plugins", "modules"))
                 if name.endswith(".py") and not name.startswith("_"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The built tarball, installed with ansible-galaxy into a directory of its own (nothing else on the path)."""
    work = tmp_path_factory.mktemp("galaxy")
    subprocess.run([tool("ansible-galaxy"), "collection", "build", REPO_ROOT, "--output-path", str(work)],
                   check=True, stdout=subprocess.PIPE)
    tarballs = glob.glob(str(work / "dockhand-runtime-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    target = work / "collections"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(target))
    subprocess.run([tool("ansible-galaxy"), "collection", "install", tarballs[0], "-p", str(target)],
                   check=True, env=env, stdout=subprocess.PIPE)
    return {"tarball": tarballs[0], "bin": os.path.dirname(tool("ansible-doc")), "env": env,
            "root": target / "ansible_collections" / "dockhand" / "runtime"}


def test_tarball_holds_the_collection_and_nothing_of_the_lab(installed):
    """Nor the checkout's navigator settings (ansible-navigator.yml names the lab's EE image and host networking)."""
    listing = subprocess.run(["tar", "tzf", installed["tarball"]], check=True, stdout=subprocess.PIPE,
                             text=True).stdout.split()
    assert "plugins/modules/engine_info.py" in listing
    assert "meta/runtime.yml" in listing
    lab_only = ("tests/lab/state", ".venv", "build/", "ansible-navigator.yml")
    assert not [name for name in listing if name.startswith(lab_only)]
    with open(os.path.join(REPO_ROOT, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    with open(str(installed["root"] / "MANIFEST.json")) as handle:
        info = json.load(handle)["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == (galaxy["namespace"], galaxy["name"],
                                                                  galaxy["version"])


def test_ansible_doc_lists_every_module_with_its_description(installed):
    out = subprocess.run([os.path.join(installed["bin"], "ansible-doc"), "-l", "dockhand.runtime"],
                         env=installed["env"], check=True, stdout=subprocess.PIPE, text=True).stdout
    for module in MODULES:
        line = [entry for entry in out.splitlines() if entry.startswith("dockhand.runtime.%s " % module)]
        assert line, "%s missing from ansible-doc -l:\n%s" % (module, out)
        assert len(line[0].split(None, 1)) == 2  # the short description follows the name


def test_module_doc_renders_with_the_connection_fragment(installed):
    out = subprocess.run([os.path.join(installed["bin"], "ansible-doc"), "dockhand.runtime.engine_info"],
                         env=installed["env"], check=True, stdout=subprocess.PIPE, text=True).stdout
    for option in ("docker_host", "validate_certs", "allow_plain_tcp", "daemon_json_path"):
        assert option in out


def test_action_group_lists_every_engine_module():
    with open(os.path.join(REPO_ROOT, "meta", "runtime.yml")) as handle:
        runtime = yaml.safe_load(handle)
    group = set(runtime["action_groups"]["engine"])
    uses_engine = set()
    for module in MODULES:
        with open(os.path.join(REPO_ROOT, "plugins", "modules", module + ".py")) as handle:
            if "dockhand.runtime.engine\n" in handle.read():  # extends the engine doc fragment
                uses_engine.add(module)
    assert uses_engine and uses_engine == group
