# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report as one self-contained HTML page (inline CSS and SVG, no script, nothing fetched: its
Content-Security-Policy forbids it) and as Markdown, from model.build_report's dict."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import html

STATUS_WORDS = {"ok": "ok", "unreachable": "unreachable", "failed": "failed"}
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2330;background:#f6f7f9}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}h3{font-size:15px;margin:16px 0 6px}
.muted{color:#5b6475}.cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.card{background:#fff;border:1px solid #d9dde5;border-radius:6px;padding:10px 14px;min-width:110px}
.card b{display:block;font-size:22px}.card.bad b{color:#b42318}.card.warn b{color:#b54708}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{background:#fff;border:1px solid #d9dde5;border-radius:6px;
padding:10px}table{border-collapse:collapse;background:#fff;width:100%;margin:6px 0 12px}
th,td{border:1px solid #d9dde5;padding:4px 7px;text-align:left;vertical-align:top}th{background:#eef0f4}
tr.unreachable td{background:#fdecea}tr.failed td{background:#fff1e0}tr.drift td{background:#fff8db}
.tag{display:inline-block;border-radius:4px;padding:0 6px;font-size:12px;font-weight:600}
.tag.ok{background:#dcfae6;color:#085d3a}.tag.unreachable{background:#fee4e2;color:#912018}
.tag.failed{background:#ffead5;color:#93370d}.tag.drift{background:#fef0c7;color:#93370d}
details{background:#fff;border:1px solid #d9dde5;border-radius:6px;padding:6px 10px;margin:6px 0}
summary{cursor:pointer;font-weight:600}code{font-size:12px}
""".strip()


def esc(value):
    return html.escape("" if value is None else str(value), quote=True)


def size(number):
    """Bytes in the largest binary unit that keeps them >= 1, or an en dash for none."""
    if number is None:
        return "–"
    value = float(number)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024
    return "%d B" % number  # not reached


def duration(seconds):
    if seconds is None:
        return "–"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return "%dd %dh" % (days, hours)
    if hours:
        return "%dh %dm" % (hours, minutes)
    return "%dm %ds" % (minutes, seconds) if minutes else "%ds" % seconds


def speed(bytes_per_second):
    return "–" if not bytes_per_second else size(bytes_per_second) + "/s"


def or_dash(value):
    return "–" if value in (None, "", []) else value


def slice_words(found):
    """The slice's use next to its limits, in words."""
    if not found:
        return "–"
    if not found["exists"]:
        return "%s (not there)" % found["name"]
    memory = "%s of %s" % (size(found["memory_current"]),
                           size(found["memory_max"]) if found["memory_max"] is not None else "no limit")
    cpu = "CPU %s" % ("%g%%" % found["cpu_quota_percent"] if found["cpu_quota_percent"] is not None else "no limit")
    tasks = "%s of %s tasks" % (or_dash(found["tasks_current"]),
                                found["tasks_max"] if found["tasks_max"] is not None else "no limit")
    return "%s: %s, %s, %s" % (found["name"], memory, cpu, tasks)


def containers_words(view):
    containers = view["containers"]
    running = sum(1 for container in containers if container["running"])
    unhealthy = sum(1 for container in containers if container["health"] == "unhealthy")
    words = "%d of %d running" % (running, len(containers))
    return words + (", %d unhealthy" % unhealthy if unhealthy else "")


def disk_words(disk):
    if not disk:
        return "–"
    names = (("images", "images"), ("containers", "containers"), ("volumes", "volumes"), ("build_cache", "cache"))
    return ", ".join("%s %s" % (label, size((disk.get(kind) or {}).get("size"))) for kind, label in names)


def engine_words(engine):
    if not engine["running"]:
        return "not running: %s" % (engine["error"] or "no answer")
    return "%s %s (API %s)" % (engine["kind"] or "engine", engine["version"], engine["api_version"])


def cgroup_words(engine):
    if not engine["running"]:
        return "–"
    return "%s, v%s" % (or_dash(engine["cgroup_driver"]), or_dash(engine["cgroup_version"]))


# --------------------------------------------------------------------------
# SVG charts
# --------------------------------------------------------------------------

def bar_chart(title, rows, width=620):
    """A horizontal bar chart: rows of (label, value, shown text). Pure SVG, sized to its rows."""
    bar_height, gap, label_width, top = 18, 6, 190, 26
    height = top + max(1, len(rows)) * (bar_height + gap) + 4
    largest = max([value for _label, value, _text in rows] or [0]) or 1
    longest_text = max([len(text) for _label, _value, text in rows] or [0])
    room = max(60, width - label_width - 10 - 7 * longest_text)
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" role="img" width="%d" height="%d" aria-label="%s">'
             % (width, height, esc(title)),
             '<text x="0" y="16" font-size="13" font-weight="600" fill="#1d2330">%s</text>' % esc(title)]
    if not rows:
        parts.append('<text x="0" y="%d" font-size="12" fill="#5b6475">nothing measured</text>' % (top + 12))
    for index, (label, value, text) in enumerate(rows):
        y = top + index * (bar_height + gap)
        length = max(2, int(room * (value or 0) / largest)) if value else 0
        shown = label if len(label) <= 30 else label[:29] + "…"
        parts.append('<text x="0" y="%d" font-size="12" fill="#1d2330">%s<title>%s</title></text>'
                     % (y + 13, esc(shown), esc(label)))
        parts.append('<rect x="%d" y="%d" width="%d" height="%d" rx="3" fill="#3e6fd8"/>'
                     % (label_width, y, length, bar_height))
        parts.append('<text x="%d" y="%d" font-size="12" fill="#1d2330">%s</text>'
                     % (label_width + length + 6, y + 13, esc(text)))
    parts.append("</svg>")
    return "".join(parts)


def version_chart(summary):
    rows = [(entry["version"], entry["hosts"], "%d host%s" % (entry["hosts"], "" if entry["hosts"] == 1 else "s"))
            for entry in summary["engine_versions"]]
    return bar_chart("Engine versions", rows)


def mirror_chart(summary):
    rows = []
    for entry in summary["mirror_speeds"]:
        text = speed(entry["median_throughput"])
        if entry["median_latency_ms"] is not None:
            text += ", %g ms" % entry["median_latency_ms"]
        if entry["ok_hosts"] < entry["hosts"]:
            text += ", %d of %d hosts failed" % (entry["hosts"] - entry["ok_hosts"], entry["hosts"])
        rows.append((entry["url"], entry["median_throughput"] or 0, text))
    return bar_chart("Mirror speeds (median over hosts)", rows)


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------

def _card(label, value, kind=""):
    return '<div class="card %s"><b>%s</b>%s</div>' % (kind, esc(value), esc(label))


def _table(headers, rows, row_classes=None):
    out = ["<table><thead><tr>%s</tr></thead><tbody>" % "".join("<th>%s</th>" % esc(h) for h in headers)]
    for index, row in enumerate(rows):
        css = (row_classes or {}).get(index)
        cells = "".join("<td>%s</td>" % cell for cell in row)
        out.append("<tr%s>%s</tr>" % (' class="%s"' % css if css else "", cells))
    out.append("</tbody></table>")
    return "".join(out)


def _status_tag(view):
    tags = ['<span class="tag %s">%s</span>' % (view["status"], STATUS_WORDS[view["status"]])]
    if view["drift"]:
        tags.append('<span class="tag drift">drift</span>')
    return " ".join(tags)


def _host_row(view):
    cells = ['<a href="#host-%s">%s</a>' % (esc(view["host"]), esc(view["host"])), _status_tag(view)]
    if view["status"] != "ok":
        cells.append('<span class="error">%s</span>' % esc(view["error"]))
        cells.extend([""] * 5)
        return cells
    engine = view["engine"]
    cells.append(esc(engine_words(engine)) + (
        "<br><span class=\"muted\">%s</span>" % esc(engine["storage_driver"]) if engine["running"] else ""))
    cells.append(esc(cgroup_words(engine)))
    cells.append(esc(", ".join(engine["mirrors"]) or "none"))
    cells.append(esc(slice_words(view["slice"])))
    cells.append(esc(containers_words(view)))
    cells.append(esc(disk_words(view["disk"])))
    return cells


def _host_details(view):
    out = ['<details id="host-%s"%s><summary>%s %s</summary>'
           % (esc(view["host"]), " open" if view["status"] != "ok" or view["drift"] else "", esc(view["host"]),
              _status_tag(view))]
    if view["status"] != "ok":
        out.append("<p>%s: %s</p></details>" % (esc(STATUS_WORDS[view["status"]]), esc(view["error"])))
        return "".join(out)
    for reason in view["drift"]:
        out.append('<p><span class="tag drift">drift</span> %s</p>' % esc(reason))
    for part, error in sorted(view["errors"].items()):
        out.append("<p>%s: %s</p>" % (esc(part), esc(error)))
    if view["containers"]:
        out.append("<h3>Containers</h3>")
        out.append(_table(("name", "image", "state", "health", "restarts", "up"), [
            (esc(c["name"]), "<code>%s</code>" % esc(c["image"]), esc(c["state"]), esc(or_dash(c["health"])),
             esc(or_dash(c["restart_count"])), esc(duration(c["uptime_seconds"]))) for c in view["containers"]]))
    if view["mirrors"]:
        out.append("<h3>Mirrors</h3>")
        out.append(_table(("mirror", "ok", "latency", "speed", "integrity", "error"), [
            (esc(m["url"]), "yes" if m["ok"] else "no",
             esc("%g ms" % m["latency_ms"] if m["latency_ms"] is not None else "–"), esc(speed(m["throughput"])),
             esc(or_dash(m["integrity"])), esc(or_dash(m["error"]))) for m in view["mirrors"]]))
    if view["disk"]:
        out.append("<h3>Disk</h3>")
        out.append(_table(("kind", "count", "in use", "size", "reclaimable"), [
            (esc(kind.replace("_", " ")), esc(or_dash((view["disk"][kind] or {}).get("count"))),
             esc(or_dash((view["disk"][kind] or {}).get("active"))), esc(size((view["disk"][kind] or {}).get("size"))),
             esc(size((view["disk"][kind] or {}).get("reclaimable")))) for kind in sorted(view["disk"])]))
    out.append("</details>")
    return "".join(out)


def to_html(report):
    """The report as one HTML page that loads nothing (no script, font, image or style from anywhere)."""
    summary = report["summary"]
    views = report["hosts"]
    cards = [
        _card("hosts", summary["hosts"]),
        _card("ok", summary["ok"]),
        _card("unreachable", summary["unreachable"], "bad" if summary["unreachable"] else ""),
        _card("failed", summary["failed"], "bad" if summary["failed"] else ""),
        _card("engines running", summary["engines_running"]),
        _card("engines down", summary["engines_down"], "bad" if summary["engines_down"] else ""),
        _card("containers running", "%d / %d" % (summary["containers_running"], summary["containers"])),
        _card("unhealthy", summary["containers_unhealthy"], "bad" if summary["containers_unhealthy"] else ""),
        _card("drifting hosts", summary["drifting"], "warn" if summary["drifting"] else ""),
    ]
    majority = summary["majority"]
    asked = report["expected"]
    baseline = "; ".join("%s: %s" % (words, esc(_listed(asked.get(key, majority.get(key)))))
                         for key, words in (("version", "engine version"), ("cgroup_driver", "cgroup driver"),
                                            ("mirrors", "mirrors")))
    drifting = [view for view in views if view["drift"]]
    classes = {index: ("drift" if view["status"] == "ok" else view["status"])
               for index, view in enumerate(views) if view["status"] != "ok" or view["drift"]}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>%s</title><style>%s</style></head><body>" % (esc(report["title"]), CSS),
        "<h1>%s</h1>" % esc(report["title"]),
        '<p class="muted">%s · %d hosts · compared with %s</p>' % (
            esc(report["generated_at"] or ""), summary["hosts"],
            "what the play asks" if asked else "the fleet's majority"),
        '<div class="cards">%s</div>' % "".join(cards),
        '<div class="charts"><div class="chart">%s</div><div class="chart">%s</div></div>'
        % (version_chart(summary), mirror_chart(summary)),
        "<h2>Drift</h2>",
        '<p class="muted">Baseline: %s.</p>' % baseline,
    ]
    if drifting:
        parts.append("<ul>%s</ul>" % "".join(
            '<li><a href="#host-%s">%s</a>: %s</li>' % (esc(view["host"]), esc(view["host"]),
                                                        esc("; ".join(view["drift"]))) for view in drifting))
    else:
        parts.append("<p>No host differs.</p>")
    parts.append("<h2>Hosts</h2>")
    parts.append(_table(("host", "status", "engine", "cgroup driver", "registry mirrors", "slice", "containers",
                         "disk"), [_host_row(view) for view in views], classes))
    parts.append("<h2>Each host</h2>")
    parts.extend(_host_details(view) for view in views)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _listed(value):
    if isinstance(value, (list, tuple)):
        return ", ".join(value) if value else "none"
    return "–" if value is None else value


# --------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------

def _md(value):
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(report):
    summary = report["summary"]
    lines = ["# %s" % report["title"], ""]
    if report["generated_at"]:
        lines += ["%s" % report["generated_at"], ""]
    lines += [
        "- hosts: %d (ok %d, unreachable %d, failed %d)" % (
            summary["hosts"], summary["ok"], summary["unreachable"], summary["failed"]),
        "- engines running: %d, down: %d" % (summary["engines_running"], summary["engines_down"]),
        "- containers running: %d of %d, unhealthy: %d" % (
            summary["containers_running"], summary["containers"], summary["containers_unhealthy"]),
        "- drifting hosts: %d" % summary["drifting"],
        "",
        "## Engine versions",
        "",
    ]
    lines += ["- %s: %d" % (entry["version"], entry["hosts"]) for entry in summary["engine_versions"]] or ["- none"]
    lines += ["", "## Mirrors", "", "| mirror | hosts | ok | median speed | median latency |", "|---|---|---|---|---|"]
    for entry in summary["mirror_speeds"]:
        lines.append("| %s | %d | %d | %s | %s |" % (
            _md(entry["url"]), entry["hosts"], entry["ok_hosts"], speed(entry["median_throughput"]),
            "–" if entry["median_latency_ms"] is None else "%g ms" % entry["median_latency_ms"]))
    lines += ["", "## Drift", ""]
    drifting = [view for view in report["hosts"] if view["drift"]]
    lines += ["- %s: %s" % (view["host"], "; ".join(view["drift"])) for view in drifting] or ["No host differs."]
    lines += ["", "## Hosts", "", "| host | status | engine | cgroup driver | mirrors | slice | containers | disk |",
              "|---|---|---|---|---|---|---|---|"]
    for view in report["hosts"]:
        if view["status"] != "ok":
            lines.append("| %s | %s: %s | | | | | | |" % (_md(view["host"]), view["status"], _md(view["error"])))
            continue
        engine = view["engine"]
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            _md(view["host"]), "ok, drift" if view["drift"] else "ok", _md(engine_words(engine)),
            _md(cgroup_words(engine)), _md(", ".join(engine["mirrors"]) or "none"), _md(slice_words(view["slice"])),
            _md(containers_words(view)), _md(disk_words(view["disk"]))))
    return "\n".join(lines) + "\n"
