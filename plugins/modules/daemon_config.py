#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: daemon_config
short_description: Merge settings into dockerd's daemon.json and apply them with a reload where possible
version_added: 0.1.0
description:
  - Owns C(/etc/docker/daemon.json) by merging, never by overwriting. O(settings) are merged
    deeply into what the file holds; O(remove) takes keys out. Keys the task does not name keep
    their values.
  - Checks the keys it knows before writing (mirror URLs, insecure registries, the cgroup driver
    in C(exec-opts), absolute paths, string values of C(log-opts), and more) and, where the
    installed dockerd has it (Docker 23 and newer), runs C(dockerd --validate) on the new file.
  - Writes atomically (temporary file in the same directory, fsync, rename) and keeps the file's
    mode and owner. A new file is created with mode C(0644), or C(0600) when it holds a secret.
    With O(backup=true) a timestamped copy of the previous file is kept (the newest O(backup_keep)).
  - Keeps the file's formatting where the change does not reach. The value of every top-level key the
    task leaves alone is copied as it was written (a one-line C(log-opts) stays one line); keys the task
    changes or adds are written indented. The top level is written one key per line, with the file's own
    indentation. A file that is not one plain JSON object (or not valid) is written in the canonical
    form, two-space indented.
  - A run that was stopped (killed, its connection lost) after writing the file but before dockerd took
    the change leaves a record in C(/run/lock); the next run finishes that change first (reload or
    restart, or rollback if dockerd does not take it) and reports it in RV(resumed). Temporary files a
    stopped run left next to the file are removed (RV(removed_leftovers)).
  - Secrets never show in results, diffs, messages or C(-vvv) output. A value is a secret when its key's
    name says so (C(password), C(token), C(secret), C(key), C(credential), C(auth), C(private) anywhere in
    the name, such as C(splunk-token)) or when it is the credentials of a URL (C(http://user:password@proxy),
    whatever characters the password holds). A changed secret shows as C(******** (changed)) in a diff.
  - Reads the dockerd command line from its systemd unit and refuses keys that a flag there also
    sets (dockerd would not start); O(fix_unit_conflicts=true) writes a drop-in without those flags.
  - Applies the change the gentlest way that works. With O(apply=auto), a change of keys dockerd
    re-reads on C(SIGHUP) (C(registry-mirrors), C(insecure-registries), C(debug), C(labels),
    C(live-restore), C(max-concurrent-downloads), C(max-concurrent-uploads),
    C(max-download-attempts), C(shutdown-timeout), C(default-runtime), C(runtimes), C(features),
    C(authorization-plugins)) is applied with a reload, so no container stops; anything else
    restarts dockerd.
  - After a reload it checks that dockerd shows the new values; after a restart it waits up to
    O(restart_timeout) seconds for the engine to answer. If either fails, it puts the previous
    file back, brings dockerd back, and fails with dockerd's own words first (the line that says why,
    for an unknown storage driver C(failed to start daemon) and the reason, also in RV(dockerd_error)),
    then the tail of its journal without grpc's chatter. RV(settings) then shows the configuration as it
    is after the rollback.
  - A restart stops the running containers when C(live-restore) is off, so the module warns before it
    restarts, lists in RV(stopped_containers) those that were running before and are not after the
    restart (or rollback), and starts again those O(restart_stopped_containers) names.
  - Refuses C(hosts) that serve the API over TCP on a non-loopback address without C(tlsverify) set to V(true),
    unless O(allow_plain_tcp_hosts=true).
author:
  - dockhand.runtime team (@dockhand-runtime)
extends_documentation_fragment:
  - dockhand.runtime.engine
attributes:
  check_mode:
    support: full
    description: Reports the keys that would change and how they would be applied; touches nothing.
  diff_mode:
    support: full
    description: Shows the file before and after, with secrets masked.
options:
  path:
    description: The daemon's configuration file.
    type: path
    default: /etc/docker/daemon.json
  settings:
    description:
      - Keys and values to merge into the file. Objects merge key by key, at any depth.
      - Lists are replaced, unless O(list_merge=append_unique).
    type: dict
    default: {}
  remove:
    description:
      - Keys to take out. A dotted path such as V(log-opts.max-size) removes a nested key.
      - dockerd applies C(registry-mirrors), C(insecure-registries), C(allow-nondistributable-artifacts),
        C(labels), C(debug) and C(live-restore) on reload only when the file names them, so removing one
        of these writes its neutral value (V([]) or V(false)) instead, which a reload does apply.
    type: list
    elements: str
    default: []
  list_merge:
    description:
      - V(replace) sets a list to the given value; V(append_unique) adds the items not yet present,
        keeping the order of both.
    type: str
    choices: [replace, append_unique]
    default: replace
  on_invalid:
    description:
      - What to do when the existing file is not a JSON object.
      - V(fail) leaves it untouched and fails, naming line and column.
      - V(backup_and_replace) keeps a timestamped copy and starts from an empty configuration.
    type: str
    choices: [fail, backup_and_replace]
    default: fail
  backup:
    description: Keep a timestamped copy of the previous file next to it (C(daemon.json.<time>~)).
    type: bool
    default: false
  backup_keep:
    description:
      - How many backups of the file to keep when O(backup=true) (or O(on_invalid=backup_and_replace)) makes
        one; older ones are removed. V(0) keeps them all.
    type: int
    default: 3
  apply:
    description:
      - V(auto) reloads when every changed key is reloadable, restarts otherwise.
      - V(reload) sends C(SIGHUP) only (keys that need a restart are listed in RV(restart_needed_for)).
      - V(restart) restarts dockerd. V(none) only writes the file.
      - Nothing is applied when dockerd is not running; the file takes effect when it starts.
    type: str
    choices: [auto, reload, restart, none]
    default: auto
  restart_timeout:
    description: Seconds to wait for the engine to answer after a restart before rolling back.
    type: int
    default: 60
  validate_with_dockerd:
    description: Run C(dockerd --validate) on the new file first, where the installed dockerd supports it.
    type: bool
    default: true
  fix_unit_conflicts:
    description:
      - When a flag on the dockerd command line sets a key the file sets too (for example C(-H fd://)
        against C(hosts)), write a systemd drop-in C(10-dockhand-flags.conf) that starts dockerd
        without those flags, and restart dockerd.
    type: bool
    default: false
  unit:
    description: The systemd unit that runs dockerd.
    type: str
    default: docker.service
  lock_timeout:
    description:
      - Seconds to wait for another run that is changing the same file (another play, a fork on the same host,
        M(dockhand.runtime.registry_mirrors)) before failing.
      - Each change holds an exclusive lock on the file (in C(/run/lock)) from the read through the write, the
        reload or restart and any rollback, so concurrent runs take turns and none loses another's change.
      - V(0) fails at once when the file is being changed. The lock is not taken in check mode.
    type: int
    default: 60
  allow_plain_tcp_hosts:
    description:
      - Allow C(hosts) to hold a C(tcp://) address that is not loopback (such as C(tcp://0.0.0.0:2375))
        while C(tlsverify) is not V(true).
      - Anyone who reaches such a port controls dockerd, and so the host as root. Without this option the
        change is refused, and nothing is written.
    type: bool
    default: false
  restart_stopped_containers:
    description:
      - Containers to start again when a restart of dockerd (or the rollback of one) stopped them, by name or
        ID (at least 12 characters); V('*') starts every container that was running before and is not after.
      - Only containers that were running when the module restarted dockerd are started. Without
        C(live-restore), dockerd stops every container when it stops, and starts again only those with a
        restart policy.
    type: list
    elements: str
    default: []
notes:
  - A registry mirror only serves Docker Hub pulls; see M(dockhand.runtime.registry_mirrors) for
    one interface over Docker, containerd and Podman.
seealso:
  - module: dockhand.runtime.registry_mirrors
  - module: dockhand.runtime.engine_info
"""

EXAMPLES = r"""
- name: Add a registry mirror without restarting anything
  dockhand.runtime.daemon_config:
    settings:
      registry-mirrors:
        - https://mirror.example.com
  # registry-mirrors is reloadable: dockerd gets SIGHUP, containers keep running

- name: Use the systemd cgroup driver (needs a restart, rolled back if dockerd does not come up)
  dockhand.runtime.daemon_config:
    settings:
      exec-opts: ["native.cgroupdriver=systemd"]
    backup: true
    backup_keep: 5
    restart_timeout: 90
    # without live-restore the restart stops every container; start these two again
    restart_stopped_containers: [web, worker]

- name: Listen on TCP with TLS, fixing the -H fd:// conflict of the packaged unit
  dockhand.runtime.daemon_config:
    settings:
      hosts: ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2376"]
      tls: true
      tlsverify: true
      tlscacert: /etc/docker/ca.pem
      tlscert: /etc/docker/server.pem
      tlskey: /etc/docker/server-key.pem
    fix_unit_conflicts: true

- name: Drop a nested key
  dockhand.runtime.daemon_config:
    remove:
      - log-opts.max-file
"""

RETURN = r"""
path:
  description: The file.
  returned: always
  type: str
  sample: /etc/docker/daemon.json
changed_keys:
  description: Top-level keys whose value changed.
  returned: always
  type: list
  elements: str
  sample: ["registry-mirrors"]
applied:
  description: How the change was applied, V(reload), V(restart) or V(none).
  returned: always
  type: str
  sample: reload
restart_needed_for:
  description: Changed keys that take effect only after a restart that did not happen.
  returned: always
  type: list
  elements: str
  sample: []
backup_file:
  description: The copy of the previous file, when O(backup=true) and there was a file.
  returned: always
  type: str
  sample: /etc/docker/daemon.json.2026-11-27@10:31:02~
rolled_back:
  description: Whether the change was undone because dockerd did not take it.
  returned: always
  type: bool
  sample: false
validated_with_dockerd:
  description: Whether C(dockerd --validate) checked the new file.
  returned: always
  type: bool
  sample: true
settings:
  description: The whole configuration after the change (secrets masked).
  returned: always
  type: dict
  sample: {"registry-mirrors": ["https://mirror.example.com"], "log-driver": "json-file"}
unit_conflicts:
  description: Flags on the dockerd command line that set keys the file also sets.
  returned: always
  type: list
  elements: dict
  sample: [{"flag": "-H", "value": "fd://", "key": "hosts"}]
drop_in:
  description: The systemd drop-in written to remove conflicting flags.
  returned: when O(fix_unit_conflicts=true) wrote one
  type: str
  sample: /etc/systemd/system/docker.service.d/10-dockhand-flags.conf
stopped_containers:
  description:
    - Containers (names) that were running before a restart of dockerd (or its rollback) and are not running
      after it, and were not started again.
  returned: always
  type: list
  elements: str
  sample: ["web"]
started_containers:
  description: Containers (names) that O(restart_stopped_containers) had started again after the restart.
  returned: always
  type: list
  elements: str
  sample: ["web"]
dockerd_error:
  description: dockerd's own line saying why it refused the change, when the change was rolled back.
  returned: always
  type: str
  sample: "failed to start daemon: error initializing graphdriver: driver not supported"
resumed:
  description:
    - A change an earlier, stopped run had written but not seen applied, which this run applied first; null when
      there was none.
  returned: always
  type: dict
  sample: {"changed_keys": ["debug"], "applied": "reload",
           "note": "an earlier run wrote /etc/docker/daemon.json but was stopped before dockerd took the change"}
removed_leftovers:
  description: Temporary files a stopped run had left next to the file, which this run removed.
  returned: always
  type: list
  elements: str
  sample: ["/etc/docker/.daemon.json.k2j4_x9q"]
"""

from ansible_collections.dockhand.runtime.plugins.module_utils.host.bytecode import cache_compiled_imports

cache_compiled_imports()  # before the collection's other imports: see host/bytecode.py

from ansible_collections.dockhand.runtime.plugins.module_utils.engine.args import (
    engine_module,
    make_client,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_config import (
    DAEMON_CHANGE_OPTIONS,
    DAEMON_CONFIG_OPTIONS,
    ChangeFailed,
    change_daemon_json,
)
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.daemon_json import schemeless_passwords
from ansible_collections.dockhand.runtime.plugins.module_utils.engine.module import run_module
from ansible_collections.dockhand.runtime.plugins.module_utils.host.redact import protect


def configure(module):
    protect(module, skip_keys=("client_key",))  # secrets in settings never show, not even at -vvv
    module.no_log_values.update(schemeless_passwords(module.params["settings"]))
    client = make_client(module.params)
    try:
        return change_daemon_json(
            module, client,
            settings=module.params["settings"],
            remove=module.params["remove"],
            list_merge=module.params["list_merge"],
            on_invalid=module.params["on_invalid"],
        )
    except ChangeFailed as exc:
        module.fail_json(msg=str(exc), **exc.result)
    finally:
        client.close()


def main():
    options = dict(DAEMON_CHANGE_OPTIONS)
    options.update(DAEMON_CONFIG_OPTIONS)
    options.update(
        settings={"type": "dict", "default": {}},
        remove={"type": "list", "elements": "str", "default": []},
        list_merge={"type": "str", "default": "replace", "choices": ["replace", "append_unique"]},
        on_invalid={"type": "str", "default": "fail", "choices": ["fail", "backup_and_replace"]},
    )
    module = engine_module(options)
    run_module(module, configure)


if __name__ == "__main__":
    main()
