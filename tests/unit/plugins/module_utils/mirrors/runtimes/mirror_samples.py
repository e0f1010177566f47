"""Mirrors for the runtime drivers' tests: normalised lists, and a strategy of random mirror lists."""

from hypothesis import strategies as st

from ansible_collections.dockhand.runtime.plugins.module_utils.mirrors.model import normalise_mirrors


def mirrors(*values):
    return normalise_mirrors(list(values))


hosts = st.sampled_from(["a.lan", "b.lan:5000", "10.1.2.3", "mirror.example.com", "[fd00::1]:80"])
mirror_values = st.builds(
    lambda scheme, host, path, insecure, skip: {"url": "%s://%s%s" % (scheme, host, path), "insecure": insecure,
                                                "skip_verify": skip},
    st.sampled_from(["http", "https"]), hosts, st.sampled_from(["", "/", "/v2/proxy"]), st.booleans(), st.booleans())
mirror_lists = st.lists(mirror_values, max_size=4, unique_by=lambda m: m["url"].rstrip("/"))
