# -*- coding: utf-8 -*-
# Copyright: dockhand.runtime contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the engine's data uses on disk (``GET /system/df``), summed per kind as ``docker system df`` shows it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def _size(value):
    """A size the engine reports; -1 (not computed) and missing count as 0."""
    return value if isinstance(value, int) and value > 0 else 0


def summarize_disk_usage(df):
    """``/system/df`` -> per kind: count, active (in use), size and reclaimable bytes."""
    df = df or {}
    images = df.get("Images") or []
    containers = df.get("Containers") or []
    volumes = df.get("Volumes") or []
    cache = df.get("BuildCache") or []

    image_size = _size(df.get("LayersSize")) or sum(_size(image.get("Size")) for image in images)
    active_images = [image for image in images if (image.get("Containers") or 0) > 0]
    # shared layers stay while an image in use holds them, as the docker CLI counts it
    used_bytes = sum(_size(image.get("Size")) - _size(image.get("SharedSize")) for image in active_images)
    running = [entry for entry in containers if (entry.get("State") or "") == "running"]

    def volume_size(volume):
        return _size((volume.get("UsageData") or {}).get("Size"))

    def volume_refs(volume):
        return (volume.get("UsageData") or {}).get("RefCount") or 0

    return {
        "images": {"count": len(images), "active": len(active_images), "size": image_size,
                   "reclaimable": max(image_size - used_bytes, 0) if images else 0},
        "containers": {"count": len(containers), "active": len(running),
                       "size": sum(_size(entry.get("SizeRw")) for entry in containers),
                       "reclaimable": sum(_size(entry.get("SizeRw")) for entry in containers
                                          if entry not in running)},
        "volumes": {"count": len(volumes), "active": len([v for v in volumes if volume_refs(v) > 0]),
                    "size": sum(volume_size(v) for v in volumes),
                    "reclaimable": sum(volume_size(v) for v in volumes if volume_refs(v) == 0)},
        "build_cache": {"count": len(cache), "active": len([r for r in cache if r.get("InUse")]),
                        "size": sum(_size(r.get("Size")) for r in cache),
                        "reclaimable": sum(_size(r.get("Size")) for r in cache
                                           if not r.get("InUse") and not r.get("Shared"))},
    }
