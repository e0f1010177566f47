# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The container module's options.

    The options between the BEGIN and END markers are generated from
    plugins/module_utils/container/options.py (make container-doc); a unit test
    fails when they are out of date. Kept out of the module file, the option
    documentation does not travel to the managed hosts with every task.
    """

    DOCUMENTATION = r"""
options:
  name:
    description:
      - The container's name.
    type: str
    required: true
  image:
    description:
      - The image, as C(docker pull) takes it, such as V(busybox:1.36) or
        V(registry.example.com/team/app@sha256:<digest>), or the ID (V(sha256:<hex>)) of an image the host
        holds; an ID is never pulled.
      - Required to create a container. For an existing container without O(image), the image is
        not compared.
    type: str
  state:
    description:
      - V(started) creates the container if needed and makes sure it runs.
      - V(present) creates it if needed and leaves its running state alone; a container that must be
        recreated is left created, not started, as community.docker does (use V(started) to keep it running).
      - V(stopped) creates it if needed and makes sure it is stopped.
      - V(absent) stops and removes it.
      - V(healthy) is V(started), and then waits up to O(healthy_wait_timeout) until a container with a
        healthcheck reports V(healthy) (one without a healthcheck only has to run).
    type: str
    choices: [present, started, stopped, absent, healthy]
    default: started
  pull:
    description:
      - V(missing) pulls the image only when it is not on the host; V(always) pulls on every run (the
        container is recreated when the image changed); V(never) fails when the image is not on the host.
      - Pulls go through the engine, so its registry mirrors apply, with the credentials that
        M(dockhand.runtime.registry_login) stored.
      - An image of a registry other than Docker Hub goes through the mirrors of Docker's rewrite table
        (O(mirrors_table)) as M(dockhand.runtime.image) describes. It is pulled by digest, checked, and tagged
        back to its canonical name, so a rerun finds it under the name the task gives.
      - V(true) is V(always) and V(false) is V(missing), as in community.docker.
    type: raw
    choices: [missing, always, never, true, false]
    default: missing
  recreate:
    description:
      - Recreate the container even when nothing differs (safely, as described above).
    type: bool
    default: false
  restart:
    description:
      - Restart a running container that needed no recreate (with O(state=started)).
    type: bool
    default: false
  detach:
    description:
      - With V(false), wait for the container to exit after starting it, return its output, and fail
        when its exit code is not 0.
    type: bool
    default: true
  health_timeout:
    description:
      - Seconds to wait, after this task started the container, for a container with a healthcheck
        to become healthy, but at least until its first health check has run (its start period, interval
        and timeout, the engine's 30 s where the healthcheck gives none). V(0) does not wait.
      - A recreated container that is not healthy in time is rolled back.
    type: int
    default: 60
  keep_volumes:
    description:
      - With O(state=absent), keep the container's anonymous volumes (named volumes are never removed).
    type: bool
    default: true
  cleanup:
    description:
      - With O(detach=false), remove the container after it ran and exited with code 0 (its output and
        exit code are still returned). A container that failed is kept, for its logs.
    type: bool
    default: false
  force_kill:
    description:
      - Wherever the container is to be stopped (O(state=stopped), O(state=absent), or the old container of
        a recreate), send it O(kill_signal) instead of stopping it, and wait until it no longer runs.
    type: bool
    default: false
    aliases: [forcekill]
  kill_signal:
    description:
      - The signal O(force_kill) sends, such as V(SIGKILL) (the default) or V(SIGTERM).
    type: str
  paused:
    description:
      - With O(state=started) or O(state=healthy), V(true) pauses the container's processes (the engine's
        freezer) and V(false) resumes them. Unset leaves a running container as it is.
    type: bool
  removal_wait_timeout:
    description:
      - Seconds to wait at most for the engine to finish removing a container whose removal is in progress
        (under heavy I/O load it can take a while); by default 30.
    type: float
  healthy_wait_timeout:
    description:
      - With O(state=healthy), seconds to wait at most for the container to become healthy after it was
        started; a recreate waits the longer of this and O(health_timeout), since it rolls back a new container
        that is not healthy. V(0) or less waits without a bound, as in community.docker. A container that
        reports V(unhealthy) is waited for until the time is up (it may recover), and is left running when the
        task fails with community.docker's C(Timeout of ... seconds exceeded) message; one that exits fails at
        once.
    type: float
    default: 300
  comparisons:
    description:
      - How an option the task sets is compared with the container, per option, as community.docker
        compares them. V(strict) - the container's value must be the task's. V(ignore) - the option never
        causes a change. V(allow_more_present) (lists and dicts) - the container may hold more items or
        keys than the task asks, but everything the task asks must be there with its value (in an ordered list,
        in its order). Aliases such as V(ports) name their option.
      - The defaults are community.docker's - V(strict) for single values and the ordered lists O(command),
        O(entrypoint), O(dns_servers) and O(dns_search_domains); V(allow_more_present) for the other lists
        and for dicts (O(env), O(labels), O(published_ports), O(volumes), O(networks), ...); V(ignore) for
        O(stop_timeout).
      - The key V(*) sets every option the dict does not name to V(strict) or V(ignore). The key V(image)
        (V(strict) or V(ignore)) says whether a new image recreates the container.
      - An option the task does not set is never compared, whatever this says.
    type: dict
  image_comparison:
    description:
      - Which image's own settings (C(Env), C(Labels), C(ExposedPorts), C(Volumes), C(Cmd), C(Entrypoint))
        the container's values are compared against. V(desired-image) - the image the task names.
        V(current-image) - the image the container runs now (the task's for a new container).
      - With V(desired-image) and C(image) set to V(ignore) in O(comparisons), a container made from another image is
        compared with the environment of the task's image also when the task sets none, as
        community.docker compares it (so it is recreated when they differ).
    type: str
    choices: [desired-image, current-image]
    default: desired-image
  image_label_mismatch:
    description:
      - With C(labels) compared V(strict) (see O(comparisons)), V(fail) fails the task when the image sets
        labels that O(labels) does not name; V(ignore) takes them as they are.
    type: str
    choices: [ignore, fail]
    default: ignore
  image_name_mismatch:
    description:
      - V(recreate) recreates a container that runs the task's image (the same ID) under another name,
        such as V(registry.example.com/app:1) against V(app:1); V(ignore) keeps it. Names are compared
        normalised (V(busybox), V(busybox:latest) and V(docker.io/library/busybox:latest) are one name).
        The default is community.docker's since 4.0.0.
    type: str
    choices: [ignore, recreate]
    default: recreate
  command_handling:
    description:
      - V(correct) keeps O(command) and O(entrypoint) as the lists they are (a string is split like a shell
        would). V(compatibility) reads them as community.docker did before 3.0.0 - a list is joined with
        spaces and split again, and an empty one counts as not given.
    type: str
    choices: [correct, compatibility]
    default: correct
  container_default_behavior:
    description:
      - V(no_defaults) compares only the options a task sets. V(compatibility) gives O(auto_remove),
        O(init), O(interactive), O(paused), O(privileged), O(read_only) and O(tty) the default V(false) and
        O(memory) V(0) when the task leaves them out, as community.docker did before 1.0.0.
    type: str
    choices: [no_defaults, compatibility]
    default: no_defaults
  networks_cli_compatible:
    description:
      - V(true) (as C(docker run --network)) makes the first of O(networks) the container's network
        mode when O(network_mode) is not given, so a new container is on the listed networks only (an
        existing one keeps other networks unless O(comparisons) compares C(networks) strictly).
      - V(false) (community.docker's old behaviour) creates the container on the engine's default network
        and connects it to O(networks) as well.
    type: bool
    default: true
  output_logs:
    description:
      - Accepted for community.docker's tasks. With O(detach=false) the container's output is always
        returned (RV(output), and C(Output) in RV(container)).
    type: bool
    default: false
  pull_check_mode_behavior:
    description:
      - V(image_not_present) (the default) reports a pull in check mode when the image is not on the host, or
        (with O(pull=always)) when the registry, asked through the engine, has a newer one.
      - V(always) reports a pull in check mode whenever O(pull=always) would pull, without asking the registry,
        as community.docker does.
    type: str
    choices: [image_not_present, always]
    default: image_not_present
# BEGIN options from container_options.OPTIONS (make container-doc)
  command:
    description:
    - The command to run, as a list or a string split like a shell would; an empty list means the image's
      own C(CMD).
    type: raw
  entrypoint:
    description:
    - The entrypoint, as a list or a string; an empty list means the image's own.
    type: raw
  env:
    description:
    - 'Environment variables (a dict; values are strings, quote C(true) and numbers you mean as text). Compared
      with the image''s own environment overlaid with these: by default the container may have more variables
      (community.docker''s V(allow_more_present)); with C(env: strict) in O(comparisons) a variable the
      container has that is in neither is drift. Values of keys whose names contain PASS, TOKEN, SECRET,
      KEY, CREDENTIAL, AUTH or PRIVATE (any case) never show: masked in results, diffs (a changed one reads
      V(******** (changed))), errors and the -vvv output.'
    type: dict
  labels:
    description:
    - 'Labels (a dict of strings). Compared with the image''s labels overlaid with these; by default the
      container may have more labels, with C(labels: strict) in O(comparisons) it may not.'
    type: dict
  published_ports:
    description:
    - 'Ports to publish, in the C(docker run -p) format: V(8080:80), V(127.0.0.1:8080:80/udp), V(80) (a
      random host port), V(8000-8001:80-81), V([::1]:8080:80). Without an IP a port is bound on every address,
      IPv6 too; V(0.0.0.0:8080:80) binds IPv4 only.'
    type: list
    elements: str
    aliases:
    - ports
  exposed_ports:
    description:
    - Ports to expose without publishing them, such as V(80) or V(53/udp). Compared with the image's exposed
      ports plus these and the published ones.
    type: list
    elements: str
    aliases:
    - exposed
    - expose
  volumes:
    description:
    - 'Volumes in the C(docker run -v) format: V(/srv/data:/data:ro) (a host path), V(appdata:/data) (a
      named volume) or V(/data) (an anonymous volume, carried over on recreate).'
    type: list
    elements: str
  mounts:
    description:
    - 'Mounts as dicts: C(target) (required), C(source), C(type) (V(volume), V(bind), V(tmpfs); default
      V(volume)), C(read_only), C(propagation), C(no_copy), C(tmpfs_size), C(tmpfs_mode).'
    type: list
    elements: dict
  networks:
    description:
    - 'Networks to connect the container to, as dicts with C(name) and optionally C(aliases), C(ipv4_address),
      C(ipv6_address), C(links). With O(networks_cli_compatible) (the default) and no O(network_mode), the
      first one is the container''s network mode, as C(docker run --network) makes it. A change connects
      and disconnects the running container in place, as community.docker does: a network the container
      is on but the task does not list stays, unless O(comparisons) compares C(networks) strictly (then
      V([]) leaves it on no network).'
    type: list
    elements: raw
  network_mode:
    description:
    - V(bridge), V(host), V(none), V(container:<name>) or a network's name. Cannot be V(host), V(none) or
      V(container:...) together with O(networks).
    type: str
  restart_policy:
    description:
    - What the engine does when the container exits. Changed in place (a container with O(auto_remove) takes
      none, so giving it one recreates it without auto_remove).
    type: str
    choices:
    - 'no'
    - always
    - on-failure
    - unless-stopped
  restart_retries:
    description:
    - With O(restart_policy=on-failure), how many restarts at most. Changed in place.
    type: int
  memory:
    description:
    - Memory limit, such as V(512m) or V(1g) (binary units); V(0) for no limit. Set or changed in place
      (with the swap limit kept at the engine's default of twice the memory, or at what it was); removing
      a limit (V(0)) recreates the container, since the engine cannot do that in place.
    type: str
  memory_reservation:
    description:
    - Soft memory limit, such as V(256m); V(0) for none. Set or changed in place; removing it recreates
      the container.
    type: str
  memory_swap:
    description:
    - Memory plus swap limit, such as V(1g); V(-1) for unlimited swap; V(0) for the engine's default, twice
      O(memory). Needs O(memory) (except V(-1) and V(0)). Changed in place.
    type: str
  cpus:
    description:
    - CPUs the container may use, such as V(0.5) or V(2); V(0) for no limit. Set or changed in place; removing
      the limit recreates the container. Not together with O(cpu_period) or O(cpu_quota) (the engine refuses
      the pair).
    type: float
  cpu_shares:
    description:
    - Relative CPU weight (the engine's default is 1024); V(0) for the default. Set or changed in place;
      going back to V(0) recreates the container.
    type: int
  cpuset_cpus:
    description:
    - CPUs the container may run on, such as V(0-1) or V(0,2); an empty string for all. Set or changed in
      place; going back to all CPUs recreates the container.
    type: str
  pids_limit:
    description:
    - Most processes in the container; V(-1) or V(0) for unlimited. Changed in place.
    type: int
  ulimits:
    description:
    - Resource limits as V(name:soft[:hard]), such as V(nofile:1024:2048).
    type: list
    elements: str
  healthcheck:
    description:
    - A dict with C(test) (a list such as V([CMD, curl, -f, http://localhost/]), or a string run by the
      shell, or V(NONE) to turn the image's check off), C(interval), C(timeout), C(start_period) (durations
      such as V(30s) or V(1m30s)) and C(retries). After a start or recreate the module waits up to O(health_timeout)
      for V(healthy).
    type: dict
  user:
    description:
    - User (and group) to run as, V(name), V(uid) or V(uid:gid).
    type: str
  working_dir:
    description:
    - Working directory, an absolute path.
    type: str
  hostname:
    description:
    - Host name inside the container.
    type: str
  capabilities:
    description:
    - Capabilities to add, such as V(NET_ADMIN).
    type: list
    elements: str
  cap_drop:
    description:
    - Capabilities to drop, such as V(ALL) or V(MKNOD).
    type: list
    elements: str
  read_only:
    description:
    - Mount the root file system read-only.
    type: bool
  tmpfs:
    description:
    - tmpfs mounts as V(/path[:options]), such as V(/run:size=64m).
    type: list
    elements: str
  log_driver:
    description:
    - Logging driver, such as V(json-file), V(local) or V(journald).
    type: str
  log_options:
    description:
    - 'Options of the logging driver (a dict of strings), such as C(max-size: 10m). An option the driver
      does not know fails before anything running is touched.'
    type: dict
    aliases:
    - log_opt
  privileged:
    description:
    - Give the container all capabilities and devices.
    type: bool
  init:
    description:
    - Run an init process as PID 1 that reaps zombies and forwards signals.
    type: bool
  devices:
    description:
    - Host devices as V(/dev/host[:/dev/container[:permissions]]).
    type: list
    elements: str
  sysctls:
    description:
    - 'Namespaced kernel parameters (a dict of strings), such as C(net.core.somaxconn: 1024).'
    type: dict
  dns_servers:
    description:
    - DNS servers, in order.
    type: list
    elements: str
  etc_hosts:
    description:
    - Extra /etc/hosts entries, a dict of host names to addresses.
    type: dict
  stop_signal:
    description:
    - Signal that stops the container, such as V(SIGTERM) or V(SIGQUIT).
    type: str
  stop_timeout:
    description:
    - Seconds to wait after the stop signal before the engine kills the container; also the wait this module
      allows when it stops the container.
    type: int
  cgroup_parent:
    description:
    - The cgroup the container's cgroup is created under (a slice such as V(containers.slice) with the systemd
      cgroup driver, a path with cgroupfs).
    type: str
  cgroupns_mode:
    description:
    - 'Cgroup namespace: V(private) or V(host). Needs API 1.41.'
    type: str
    choices:
    - private
    - host
  shm_size:
    description:
    - Size of /dev/shm, such as V(64m).
    type: str
  security_opts:
    description:
    - Security options, such as V(no-new-privileges) or V(seccomp=unconfined).
    type: list
    elements: str
  auto_remove:
    description:
    - Remove the container when it exits.
    type: bool
  pid_mode:
    description:
    - 'PID namespace: V(host), V(container:<name or ID>), or an empty string for the container''s own. A
      container named here is looked up and recorded by ID, as the engine does.'
    type: str
  ipc_mode:
    description:
    - 'IPC namespace: V(none), V(private), V(shareable), V(host), V(container:<name or ID>) (the other container
      needs V(shareable)), or an empty string for the engine''s default (V(private)).'
    type: str
  uts:
    description:
    - 'UTS namespace (host and domain name): V(host), or an empty string for the container''s own.'
    type: str
  userns_mode:
    description:
    - 'User namespace: V(host) turns the engine''s user namespace remapping off for this container (with
      C(userns-remap) in daemon.json); V(private) or an empty string keep it.'
    type: str
  cpu_period:
    description:
    - CPU CFS period in microseconds (1000 to 1000000; V(0) for the default, 100000); see O(cpus) for an
      easier form. Set or changed in place; V(0) recreates the container.
    type: int
  cpu_quota:
    description:
    - CPU CFS quota in microseconds per O(cpu_period) (at least 1000; V(-1) or V(0) for none). Set or changed
      in place; removing it recreates the container.
    type: int
  cpuset_mems:
    description:
    - Memory nodes (NUMA) the container may use, such as V(0) or V(0-1); an empty string for all. Set or
      changed in place; going back to all recreates the container.
    type: str
  blkio_weight:
    description:
    - Block IO weight, V(10) to V(1000) (V(0) for the default). Set or changed in place. The engine needs
      the cgroup v1 C(blkio.weight) file (CFQ) or cgroup v2's C(io.weight); on kernels that offer only BFQ's
      C(blkio.bfq.weight) it discards the weight, says so, and the module passes that warning on.
    type: int
  device_read_bps:
    description:
    - 'Read rate limits per device: a list of dicts with C(path) (the host''s block device, such as V(/dev/sda))
      and C(rate) (bytes per second with an optional unit, such as V(20m)).'
    type: list
    elements: dict
  device_write_bps:
    description:
    - Write rate limits per device, as O(device_read_bps).
    type: list
    elements: dict
  device_read_iops:
    description:
    - 'Read operation limits per device: a list of dicts with C(path) and C(rate) (operations per second,
      a whole number).'
    type: list
    elements: dict
  device_write_iops:
    description:
    - Write operation limits per device, as O(device_read_iops).
    type: list
    elements: dict
  memory_swappiness:
    description:
    - 'How readily the kernel swaps the container''s memory, V(0) to V(100); V(-1) for the host''s. cgroup
      v2 has no per-container swappiness: there the engine ignores it and says so, and the module passes
      that warning on.'
    type: int
  oom_killer:
    description:
    - V(true) B(disables) the kernel's OOM killer for the container (the engine's C(OomKillDisable)), as
      in community.docker despite the name; set O(memory) with it, or a container that runs out of memory
      hangs instead of being killed.
    type: bool
  oom_score_adj:
    description:
    - OOM score adjustment of the container's processes, V(-1000) to V(1000).
    type: int
  kernel_memory:
    description:
    - 'Kernel memory limit, such as V(64m) (at least V(4m); V(0) for none). Accepted for compatibility only:
      the engine records it, but runc 1.0 and later ignore it, cgroup v2 has no such limit and Docker deprecated
      it in 20.10; the module warns whenever it is set. Changed in place.'
    type: str
  storage_opts:
    description:
    - 'Storage driver options per container (a dict of strings), such as C(size: 10G). The engine supports
      C(size) only with overlay2 on xfs mounted with C(pquota) (or devicemapper, btrfs, zfs); elsewhere
      it refuses to create the container and the task fails naming this option, with the old container untouched.'
    type: dict
  device_requests:
    description:
    - 'Device requests, for GPUs: a list of dicts with C(driver) (such as V(nvidia)), C(count) (V(-1) for
      all), C(device_ids), C(capabilities) (a list of lists, such as V([[gpu]])) and C(options). The engine
      needs the device driver registered (for NVIDIA GPUs the NVIDIA Container Toolkit on the host); without
      it the start fails naming this option and a recreate rolls back to the old container. The module warns
      when a request is set. Needs API 1.40.'
    type: list
    elements: dict
  device_cgroup_rules:
    description:
    - Device cgroup rules, such as V(c 42:* rmw) (type, major:minor, access).
    type: list
    elements: str
  runtime:
    description:
    - The OCI runtime, such as V(runc) or V(nvidia); it must be configured in the engine. Unset, the engine's
      default runtime is used (and reported).
    type: str
  platform:
    description:
    - Platform of the container, V(os[/arch[/variant]]) such as V(linux/arm64). The image is pulled for
      it (also with O(pull=missing) when the local image of the name is of another platform), and the container
      is compared with its OS and its image's architecture and variant. Running another architecture than
      the engine's needs binfmt emulation on the host; the module warns then. Needs API 1.41.
    type: str
  env_file:
    description:
    - A file on the target with C(KEY=value) lines (blank lines and C(#) comments are skipped), read by
      the module; its variables are merged under O(env), which wins for a name in both. A bad line fails
      the task, named by its number only.
    type: path
  groups:
    description:
    - Additional groups (names or IDs) the container's process runs with.
    type: list
    elements: str
  domainname:
    description:
    - The container's domain name.
    type: str
  mac_address:
    description:
    - The container's MAC address on its first network, such as V(92:d0:c6:0a:29:33).
    type: str
  dns_opts:
    description:
    - Resolver options for /etc/resolv.conf, such as V(rotate) or V(ndots:2).
    type: list
    elements: str
  dns_search_domains:
    description:
    - DNS search domains, in order.
    type: list
    elements: str
  links:
    description:
    - Legacy links to other containers on the default bridge network, as V(name) or V(name:alias).
    type: list
    elements: str
  volumes_from:
    description:
    - Containers whose volumes to mount, as V(name) or V(name:ro).
    type: list
    elements: str
  volume_driver:
    description:
    - Volume driver for the container's anonymous and named volumes that do not exist yet, such as V(local).
    type: str
  publish_all_ports:
    description:
    - Publish every exposed port to a random host port; O(published_ports) keep theirs.
    type: bool
  default_host_ip:
    description:
    - 'The host IP of O(published_ports) that give none: an IPv4 or IPv6 address, or an empty string for
      the engine''s default (all addresses, IPv4 and IPv6). Without this option, the address of the first
      of O(networks) that is a bridge network with the option C(com.docker.network.bridge.host_binding_ipv4),
      or else V(0.0.0.0), as community.docker fills it in. Ports are compared with it filled in.'
    type: str
  tty:
    description:
    - Allocate a pseudo-TTY.
    type: bool
  interactive:
    description:
    - Keep the container's stdin open.
    type: bool
# END options from container_options.OPTIONS
"""
