#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: fleet_report
short_description: Write a fleet report (HTML, Markdown and JSON) from what each host reported
version_added: 0.1.0
description:
  - Writes three files on the controller from what C(playbooks/report.yml) gathered on each host
    (M(dockhand.runtime.engine_info), M(dockhand.runtime.cgroup_info), M(dockhand.runtime.mirror_probe),
    M(dockhand.runtime.container_info)) - one self-contained HTML page, a Markdown file and a JSON file.
  - The HTML page has its CSS and SVG charts inline and no script; its Content-Security-Policy forbids loading
    anything, so it opens the same offline, from a mail attachment or a CI artifact.
  - At the top, a fleet summary - counts, engine versions and mirror speeds as charts, and drift - hosts whose
    engine version, cgroup driver or registry mirrors differ from O(expected), or where O(expected) does not say,
    from what most hosts have. Then one row per host (engine, cgroup driver, mirrors, the slice's use next to its
    limits, containers, disk use), and per host its containers, mirror probes and disk use. An unreachable or
    failed host shows its error.
  - Secrets are masked before anything is written (URL credentials, values under secret-sounding keys).
  - Runs on the controller only; nothing is sent to a host.
author:
  - dockhand.runtime team (@dockhand-runtime)
attributes:
  check_mode:
    support: full
    description: Reports whether the files would change, and writes nothing.
  diff_mode:
    support: none
    description: The report is the view; no diff is shown.
options:
  hosts:
    description:
      - For each host name, what the play registered there, as a dict with the keys C(engine)
        (M(dockhand.runtime.engine_info) with O(dockhand.runtime.engine_info#module:disk_usage=true)), C(cgroup)
        (M(dockhand.runtime.cgroup_info) with O(dockhand.runtime.cgroup_info#module:slice)), C(mirrors)
        (M(dockhand.runtime.mirror_probe)) and C(containers) (M(dockhand.runtime.container_info) with
        O(dockhand.runtime.container_info#module:every=true) and
        O(dockhand.runtime.container_info#module:details=true)).
      - A result that says C(unreachable) marks the host unreachable, a failed C(engine) marks it failed, a skipped
        or failed other part is left out of that host's view.
    type: dict
    required: true
  dest:
    description: The directory on the controller to write the report in; made when missing.
    type: path
    required: true
  basename:
    description: The files' name without the suffix; the report is written as C(<basename>.html), C(.md) and C(.json).
    type: str
    default: fleet-report
  expected:
    description:
      - What the play asks for, to judge drift by. Any of C(engine_version) (a version string as
        M(dockhand.runtime.engine_info) reports it), C(cgroup_driver) (V(systemd) or V(cgroupfs)) and C(mirrors)
        (the list of registry mirror URLs).
      - Where it says nothing, a host drifts when it differs from what most hosts with a running engine have.
    type: dict
  title:
    description: The report's title.
    type: str
    default: Fleet report
notes:
  - The files are rewritten only when the report says something new; a rerun on an unchanged fleet reports no
    change (the time it was made aside).
seealso:
  - module: dockhand.runtime.engine_info
  - module: dockhand.runtime.container_info
"""

EXAMPLES = r"""
# playbooks/report.yml gathers the facts and calls this module; the call looks like this:
- name: Write the report
  dockhand.runtime.fleet_report:
    hosts: "{{ dict(report_names | zip(report_names | map('extract', hostvars, 'report_gathered'))) }}"
    dest: /srv/ops/fleet-report
    expected:
      cgroup_driver: systemd
  vars:
    report_names: "{{ ansible_play_hosts_all }}"
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
html:
  description: The HTML report's path.
  returned: always
  type: str
  sample: /srv/ops/build/report/fleet-report.html
markdown:
  description: The Markdown report's path.
  returned: always
  type: str
  sample: /srv/ops/build/report/fleet-report.md
json:
  description: The JSON report's path (the whole model, with the summary and every host's view).
  returned: always
  type: str
  sample: /srv/ops/build/report/fleet-report.json
summary:
  description: The fleet summary at the top of the report.
  returned: always
  type: dict
  sample:
    hosts: 30
    ok: 29
    unreachable: 1
    failed: 0
    engines_running: 29
    engines_down: 0
    containers: 58
    containers_running: 58
    containers_unhealthy: 0
    drifting: 2
    engine_versions: [{version: 20.10.24+dfsg1, hosts: 29}]
    mirror_speeds: [{url: "http://registry-cache.lan:5000", hosts: 29, ok_hosts: 29, median_throughput: 48213402,
                     median_latency_ms: 3.1, integrity: [unknown]}]
    majority: {version: 20.10.24+dfsg1, cgroup_driver: systemd, mirrors: ["http://registry-cache.lan:5000"]}
"""
