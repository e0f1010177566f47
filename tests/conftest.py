"""Make the collection importable as ansible_collections.dockhand.runtime for every test."""

import os
import sys

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

from paths import COLLECTION_LINK, COLLECTIONS_DIR, REPO_ROOT  # noqa: E402


def ensure_collection_link():
    """build/collections/ansible_collections/dockhand/runtime -> the repository root."""
    if not os.path.islink(COLLECTION_LINK):
        os.makedirs(os.path.dirname(COLLECTION_LINK), exist_ok=True)
        os.symlink(REPO_ROOT, COLLECTION_LINK)


ensure_collection_link()
if COLLECTIONS_DIR not in sys.path:
    sys.path.insert(0, COLLECTIONS_DIR)
