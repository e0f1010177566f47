"""Where things are, for the tests (importable once tests/conftest.py has run)."""

import os

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)
COLLECTIONS_DIR = os.path.join(REPO_ROOT, "build", "collections")
COLLECTION_LINK = os.path.join(COLLECTIONS_DIR, "ansible_collections", "dockhand", "runtime")
LAB = os.path.join(TESTS_DIR, "lab", "lab")
LAB_INVENTORY = os.path.join(TESTS_DIR, "lab", "state", "inventory.yml")
# The lab hosts the integration tests use: each test file has hosts of its own (tests/integration/conftest.py).
LAB_HOSTS = 27
