"""Import this checkout's plugins the way Ansible imports an installed collection's.

The plugins import the collection's module_utils by their full name
(``ansible_collections.pyweb.stack.plugins.module_utils...``). Ansible resolves that name from its
collections path; a script or a test that loads a plugin by its file path installs Ansible's
collection finder on a folder in which ``pyweb.stack`` is this checkout.
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_installed = False


def install_collection_finder() -> None:
    """Make ``ansible_collections.pyweb.stack`` importable as this checkout (once per process)."""
    global _installed
    if _installed:
        return
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    top = Path(tempfile.mkdtemp(prefix="pyweb-collections-"))
    (top / "ansible_collections" / "pyweb").mkdir(parents=True)
    (top / "ansible_collections" / "pyweb" / "stack").symlink_to(ROOT)
    _AnsibleCollectionFinder(paths=[str(top)])._install()
    _installed = True


def load_plugin(path: Path):
    """A plugin file of this checkout, imported as a module by its path."""
    install_collection_finder()
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
